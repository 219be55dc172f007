"""Errors of the SSH communicator beyond the core's (no paramiko here)."""
from __future__ import annotations

from hatchway import CommunicatorError, RetryableConnectError

__all__ = ["AuthenticationFailed", "ChannelOpenFailed", "SessionRefused", "reason"]


def reason(exc: BaseException) -> str:
    """An exception as message text: its own words, or its type when it has none (an empty EOFError)."""
    return str(exc) or type(exc).__name__


class AuthenticationFailed(RetryableConnectError):
    """The server refused every credential offered.

    Counted against ``ssh_handshake_attempts`` by its type (never by its
    message): cloud-init may not have installed the key yet, so a few
    attempts are allowed before it becomes fatal.
    """


class ChannelOpenFailed(CommunicatorError):
    """No new channel could be opened: nothing ran, so after a reconnect it is safe to try again."""


class SessionRefused(ChannelOpenFailed):
    """The server is up but refused one more session channel: its limit per connection (sshd's
    ``MaxSessions``) is reached while others are open. Use fewer at once."""
