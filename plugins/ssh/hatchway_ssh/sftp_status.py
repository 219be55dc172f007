"""SFTP status replies as errors that say why, in the words ``strerror`` uses.

SFTP version 3 (what OpenSSH speaks) has one code for most failures,
``SSH_FX_FAILURE``, with the text "Failure": a full disk, a quota or a
read-only file system all look alike. When a server says no more than
that, :func:`explain` asks the file system (OpenSSH's
``statvfs@openssh.com``) and names the reason it finds.
"""
from __future__ import annotations

import errno
import posixpath
from typing import Dict, Optional, Tuple

import paramiko

from ._paramiko_compat import CMD_EXTENDED_REPLY, CMD_STATUS, SFTPRequests, StatVFS

__all__ = ["SFTPStatusError", "status_of", "explain", "FAILURE"]

OK, EOF, FAILURE = 0, 1, 4

#: Status code -> (errno, reason). Versions 4-6 codes too: some servers send them whatever the version.
CODES: Dict[int, Tuple[int, str]] = {
    1: (errno.ENODATA, "End of file"),
    2: (errno.ENOENT, "No such file or directory"),
    3: (errno.EACCES, "Permission denied"),
    4: (errno.EIO, "Failure"),
    5: (errno.EBADMSG, "Bad message"),
    6: (errno.ENOTCONN, "No connection"),
    7: (errno.ECONNRESET, "Connection lost"),
    8: (errno.EOPNOTSUPP, "Operation not supported"),
    9: (errno.EBADF, "Invalid handle"),
    10: (errno.ENOENT, "No such file or directory"),
    11: (errno.EEXIST, "File exists"),
    12: (errno.EROFS, "Read-only file system"),
    13: (errno.ENXIO, "No media"),
    14: (errno.ENOSPC, "No space left on device"),
    15: (errno.EDQUOT, "Disk quota exceeded"),
    17: (errno.ELOOP, "Too many levels of symbolic links"),
    19: (errno.EISDIR, "Is a directory"),
    21: (errno.ENOSPC, "No space left on device"),
}


class SFTPStatusError(OSError):
    """A request on ``remote_path`` failed; ``strerror`` says why. An OSError so callers treat it as
    the server's answer (not a lost connection)."""

    def __init__(self, err: int, reason: str, remote_path: str) -> None:
        super().__init__(err, reason)
        self.remote_path = remote_path


def status_of(msg: paramiko.Message) -> Tuple[int, str]:
    """A status reply's code and text."""
    code = msg.get_int()
    try:
        text = msg.get_text()
    except Exception:  # a reply without text (malformed): the code is what matters
        text = ""
    return code, text


def explain(requests: SFTPRequests, code: int, text: str, path: str, wanted: int = 0) -> SFTPStatusError:
    """The error for a failed request on ``path`` (which the user named); ``wanted``: the bytes the failed
    write needed. A bare "Failure" is explained by the file system's state when it can be."""
    err, reason = CODES.get(code, (errno.EIO, f"status {code}"))
    generic = not text or text.strip().lower() in ("failure", reason.lower())
    if code == FAILURE and generic:
        found = _from_file_system(requests, posixpath.dirname(path) or ".", wanted)
        if found is not None:
            return SFTPStatusError(found[0], found[1], path)
        return SFTPStatusError(err, "Failure (the sftp server gave no reason)", path)
    if generic or text.strip().lower() == reason.lower():
        return SFTPStatusError(err, reason, path)
    return SFTPStatusError(err, text.strip(), path)


def _from_file_system(requests: SFTPRequests, directory: str, wanted: int) -> Optional[Tuple[int, str]]:
    try:
        t, msg = requests.reply(requests.send("extended", "statvfs@openssh.com", directory))
    except (OSError, EOFError, paramiko.SSHException):
        return None
    if t != CMD_EXTENDED_REPLY:  # the server does not have the extension
        if t == CMD_STATUS:
            status_of(msg)
        return None
    try:
        fs = StatVFS(msg)
    except Exception:
        return None
    if fs.flag & StatVFS.READ_ONLY:  # type: ignore[attr-defined]
        return errno.EROFS, "Read-only file system"
    if fs.free_bytes < max(wanted, 1):
        return errno.ENOSPC, "No space left on device"
    if fs.files and not fs.favail:  # type: ignore[attr-defined]
        return errno.ENOSPC, "No space left on device (no free inodes)"
    return None
