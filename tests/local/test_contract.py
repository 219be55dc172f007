"""The local communicator passes the communicator contract."""
import pytest

from hatchway.communicator import Target
from hatchway.relay import Relay
from hatchway.testing import CommunicatorContract
from hatchway_local import LocalCommunicator, LocalConfig


class TestLocalContract(CommunicatorContract):
    @pytest.fixture
    def relay(self):
        relay = Relay(LocalCommunicator(LocalConfig(), Target()))
        relay.connect()
        yield relay
        relay.cleanup()
