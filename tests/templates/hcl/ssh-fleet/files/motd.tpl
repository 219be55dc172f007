Welcome. This fleet has:
%{ for r in roles ~}
  - a ${r} server
%{ endfor ~}
