"""Every use of paramiko's private or undocumented internals, in this one module.

hatchway-ssh needs a few things paramiko has no public API for:

* sending a message without waiting for its reply: the keepalive global
  request (OpenSSH's ``ServerAliveInterval``) and RFC 4254's ``signal``
  channel request;
* waiting for a command's exit status with a timeout (``Channel.status_event``);
* raw SFTP requests, so that a transfer keeps its own bounded pipeline:
  reads with a fixed number in flight (paramiko's prefetch is quadratic)
  and writes whose every status reply is checked before the file is
  renamed into place (paramiko's pipelined writes drop error replies),
  plus OpenSSH's ``statvfs@openssh.com`` extension to explain a failure.

paramiko is pinned to the range these were checked against (``TESTED``,
also in setup.cfg); :func:`problems` (run by tests/ssh/test_paramiko_compat.py)
names whatever a new release moved, so an upgrade fails loudly in the tests
and never quietly in a build.
"""
from __future__ import annotations

import inspect
import threading
from typing import Any, Dict, List, Optional, Tuple

import paramiko
from paramiko import common as _common
from paramiko import sftp as _sftp

__all__ = ["TESTED", "problems", "send_keepalive", "send_signal", "wait_exit", "SFTPRequests", "StatVFS",
           "CMD_STATUS", "CMD_DATA", "CMD_HANDLE", "CMD_EXTENDED_REPLY"]

#: The paramiko releases these internals were checked against (keep in step with setup.cfg).
TESTED = ">=5.1,<5.2"

CMD_STATUS = _sftp.CMD_STATUS
CMD_DATA = _sftp.CMD_DATA
CMD_HANDLE = _sftp.CMD_HANDLE
CMD_EXTENDED_REPLY = _sftp.CMD_EXTENDED_REPLY


# -- transport and channel messages ------------------------------------------------------------

def send_keepalive(transport: paramiko.Transport) -> None:
    """A ``keepalive@openssh.com`` global request that wants a reply, sent without waiting for it."""
    message = paramiko.Message()
    message.add_byte(_common.cMSG_GLOBAL_REQUEST)
    message.add_string("keepalive@openssh.com")
    message.add_boolean(True)
    transport._send_user_message(message)


def send_signal(chan: paramiko.Channel, name: str) -> None:
    """RFC 4254 ``signal`` request (``TERM``, ``KILL``...); sshd delivers it to the session's process group
    (and refuses it for root sessions: "session signalling requires privilege separation")."""
    message = paramiko.Message()
    message.add_byte(_common.cMSG_CHANNEL_REQUEST)
    message.add_int(chan.remote_chanid)
    message.add_string("signal")
    message.add_boolean(False)
    message.add_string(name)
    chan.transport._send_user_message(message)


def wait_exit(chan: paramiko.Channel, timeout: Optional[float] = None) -> bool:
    """Wait until the command on ``chan`` reported its exit status (or the channel closed); False on timeout."""
    return chan.status_event.wait(timeout)


# -- raw sftp requests -------------------------------------------------------------------------

class SFTPRequests:
    """Raw requests on one :class:`paramiko.SFTPClient`, their replies collected by request number.

    Not thread-safe: one thread uses a client's requests (as hatchway-ssh
    gives each thread its own sftp channel).
    """

    def __init__(self, client: paramiko.SFTPClient) -> None:
        self.client = client
        self._got: Dict[int, Tuple[int, paramiko.Message]] = {}

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:  # called by paramiko
        self._got[num] = (t, msg)

    def send(self, command: str, *args: Any) -> int:
        """Send one request (``"open"``, ``"write"``, ``"read"``, ``"close"``, ``"extended"``); its number."""
        return self.client._async_request(self, _COMMANDS[command], *args)

    def reply(self, num: int) -> Tuple[int, paramiko.Message]:
        """The reply to request ``num`` (its type and the message after the request number); the replies
        that arrive first are kept for their own turn."""
        while num not in self._got:
            self.client._read_response()
        return self._got.pop(num)

    def forget(self, nums: List[int]) -> None:
        """Read and drop the replies to ``nums`` (requests that no longer matter), keeping the channel in step."""
        for num in nums:
            self.reply(num)

    # request arguments
    @staticmethod
    def offset(value: int) -> Any:
        """A 64-bit integer argument (a file offset)."""
        return _sftp.int64(value)

    @staticmethod
    def open_flags(write: bool) -> int:
        if write:
            return _sftp.SFTP_FLAG_WRITE | _sftp.SFTP_FLAG_CREATE | _sftp.SFTP_FLAG_TRUNC
        return _sftp.SFTP_FLAG_READ


_COMMANDS = {"open": _sftp.CMD_OPEN, "close": _sftp.CMD_CLOSE, "read": _sftp.CMD_READ, "write": _sftp.CMD_WRITE,
             "extended": _sftp.CMD_EXTENDED}


class StatVFS:
    """The reply to ``statvfs@openssh.com``: what ``statvfs(3)`` says of the file system holding a path."""

    FIELDS = ("bsize", "frsize", "blocks", "bfree", "bavail", "files", "ffree", "favail", "fsid", "flag", "namemax")
    READ_ONLY = 0x1  # SSH_FXE_STATVFS_ST_RDONLY

    def __init__(self, msg: paramiko.Message) -> None:
        values = [msg.get_int64() for _ in self.FIELDS]
        for name, value in zip(self.FIELDS, values):
            setattr(self, name, value)

    @property
    def free_bytes(self) -> int:
        return self.bavail * self.frsize  # type: ignore[attr-defined]


# -- the canary --------------------------------------------------------------------------------

def problems() -> List[str]:
    """What this paramiko no longer offers of the internals above, one sentence each (empty: all there)."""
    found: List[str] = []

    def need(owner: Any, name: str, what: str, params: Tuple[str, ...] = ()) -> None:
        thing = getattr(owner, name, None)
        if thing is None:
            found.append(f"{getattr(owner, '__name__', owner)}.{name} is gone ({what})")
            return
        if params:
            try:
                have = list(inspect.signature(thing).parameters)
            except (TypeError, ValueError):
                return
            if have[:len(params)] != list(params):
                found.append(f"{owner.__name__}.{name} now takes ({', '.join(have)}), expected "
                             f"({', '.join(params)}) ({what})")

    need(paramiko.Transport, "_send_user_message", "keepalive and signal requests", ("self", "data"))
    need(paramiko.SFTPClient, "_async_request", "raw sftp requests", ("self", "fileobj", "t"))
    need(paramiko.SFTPClient, "_read_response", "raw sftp replies", ("self", "waitfor"))
    for module, names in ((_common, ("cMSG_GLOBAL_REQUEST", "cMSG_CHANNEL_REQUEST")),
                          (_sftp, ("CMD_OPEN", "CMD_CLOSE", "CMD_READ", "CMD_WRITE", "CMD_EXTENDED", "CMD_STATUS",
                                   "CMD_DATA", "CMD_HANDLE", "CMD_EXTENDED_REPLY", "SFTP_FLAG_READ",
                                   "SFTP_FLAG_WRITE", "SFTP_FLAG_CREATE", "SFTP_FLAG_TRUNC", "int64"))):
        for name in names:
            need(module, name, "message and request codes")
    if (_sftp.CMD_STATUS, _sftp.CMD_HANDLE, _sftp.CMD_DATA, _sftp.CMD_EXTENDED_REPLY) != (101, 102, 103, 201):
        found.append("paramiko.sftp's reply codes changed")
    chan = paramiko.Channel(0)
    for name, kind in (("status_event", threading.Event), ("remote_chanid", int)):
        if not isinstance(getattr(chan, name, None), kind):
            found.append(f"paramiko.Channel().{name} is no longer a {kind.__name__} (command exit and signals)")
    # SFTPClient hands a reply to the object a request was made for, through its _async_response
    try:
        source = inspect.getsource(paramiko.SFTPClient._read_response)
    except (OSError, TypeError):  # pragma: no cover - no source shipped
        source = "_async_response"
    if "_async_response" not in source:
        found.append("paramiko.SFTPClient._read_response no longer hands replies to fileobj._async_response")
    return found
