"""The docker communicator passes the communicator contract, as root and as a non-root exec_user."""
import pytest

from hatchway.testing import CommunicatorContract


class TestDockerContract(CommunicatorContract):
    @pytest.fixture
    def relay(self, make_container, make_relay):
        return make_relay(make_container())


class TestDockerContractAsUser(CommunicatorContract):
    @pytest.fixture
    def relay(self, make_container, make_relay):
        return make_relay(make_container(), exec_user="builder")
