"""The winrm communicator passes the communicator contract against the WS-Management test server."""
import pytest

from hatchway.testing import CommunicatorContract


class TestWinRMContract(CommunicatorContract):
    @pytest.fixture
    def relay(self, connect):
        return connect()
