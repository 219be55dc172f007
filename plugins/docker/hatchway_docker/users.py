"""Who uploaded files belong to: ``exec_user`` resolved against the container's own user database.

Docker's ``user`` is ``name``, ``uid``, ``name:group`` or ``uid:gid``. Names
are looked up in the container's ``/etc/passwd`` and ``/etc/group`` (read
through the archive API, so images without a shell work too).
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

from hatchway import ConnectError

__all__ = ["resolve_owner", "parse_database"]

Reader = Callable[[str], Optional[bytes]]


def parse_database(data: Optional[bytes]) -> Dict[str, Tuple[int, int]]:
    """``name -> (id, primary gid)`` from passwd (``name:x:uid:gid:...``) or group (``name:x:gid:...``) text."""
    entries: Dict[str, Tuple[int, int]] = {}
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            gid = int(fields[3]) if len(fields) > 3 and fields[3].isdigit() else int(fields[2])
            entries.setdefault(fields[0], (int(fields[2]), gid))
    return entries


def resolve_owner(user: str, read: Reader, where: str) -> Tuple[int, int]:
    """(uid, gid) for docker's ``user`` syntax; an empty user is root."""
    if not user:
        return 0, 0
    name, _, group = user.partition(":")
    passwd: Optional[Dict[str, Tuple[int, int]]] = None
    if name.isdigit():
        uid, gid = int(name), None
        if not group:
            passwd = parse_database(read("/etc/passwd"))
            gid = next((g for u, g in passwd.values() if u == uid), uid)
    else:
        passwd = parse_database(read("/etc/passwd"))
        if name not in passwd:
            raise ConnectError(f"exec_user {user!r}: no user {name!r} in /etc/passwd of {where}; "
                               "use a user the image has, or a numeric uid[:gid]")
        uid, gid = passwd[name]
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            groups = parse_database(read("/etc/group"))
            if group not in groups:
                raise ConnectError(f"exec_user {user!r}: no group {group!r} in /etc/group of {where}; "
                                   "use a group the image has, or a numeric gid")
            gid = groups[group][0]
    return uid, int(gid if gid is not None else uid)
