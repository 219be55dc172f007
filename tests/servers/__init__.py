"""Real servers the tests run on loopback (sshd, dockerd, the WS-Management server).

Plain Python (no pytest) so benchmarks can use them too; the fixtures in each
test folder's conftest.py start and stop them.
"""
