"""The SSH communicator passes the communicator contract with both transfer methods,
with the tar fast path and without tar on the remote (file-by-file fallback)."""
from __future__ import annotations

import pytest

from hatchway.testing import CommunicatorContract


@pytest.fixture(params=["scp", "sftp"])
def method(request: pytest.FixtureRequest) -> str:
    return request.param


class TestSSHContract(CommunicatorContract):
    @pytest.fixture
    def relay(self, relays, sshd, client_key, method):
        return relays(sshd, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method)


class TestSSHContractWithoutTar(CommunicatorContract):
    """The remote has no tar: directories go file by file with scp -r / sftp."""

    @pytest.fixture
    def relay(self, relays, no_tar_sshd, client_key, method):
        relay = relays(no_tar_sshd, ssh_private_key_file=str(client_key), ssh_file_transfer_method=method)
        assert relay.run("command -v tar || echo none").text.strip() == "none"
        return relay
