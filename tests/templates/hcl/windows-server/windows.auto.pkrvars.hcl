winrm_password = "vagrant-not-secret"
