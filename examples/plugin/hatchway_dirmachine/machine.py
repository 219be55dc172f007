"""The machine itself: a directory tree with a static busybox in it, entered with chroot(2).

Nothing here knows about templates or hooks; the builder and the
communicator both use it, and so do the tests.

- :func:`make_machine` fills a directory with a tiny root file system.
- :func:`resolve` turns a path *on the machine* (``/etc/motd``) into the
  path of the same file *here* (``<root>/etc/motd``), reading links the
  way the kernel reads them inside the chroot, and refusing anything that
  would lead outside ``root``.
- :func:`walk` lists a directory of the machine the same way.
- :func:`remove_machine` deletes it again. The machine has no mounts (the
  device nodes are made with mknod, not bind-mounted), so deleting it is a
  plain ``rmtree`` that can never reach a file outside it.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Iterator, List, Sequence, Tuple

from hatchway import HatchwayError, RemotePathError
from hatchway.toolkit import Entry, is_excluded

__all__ = ["make_machine", "remove_machine", "remove_device_nodes", "is_machine", "resolve", "walk", "find_busybox",
           "check_privileges", "DEVICES", "ENTER"]

#: The directories of the root file system, with their modes.
DIRECTORIES = {
    "bin": 0o755, "sbin": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755, "etc": 0o755, "dev": 0o755,
    "root": 0o700, "home": 0o755, "tmp": 0o1777, "var/tmp": 0o1777, "srv": 0o755,
}

#: /dev entries the machine's commands expect: name -> (major, minor).
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9)}

#: How a command enters the machine: ``chroot ROOT SHELL -c ENTER SHELL COMMAND``.
#: It changes to $HOME first (as a login does), then runs the command with a fresh shell.
ENTER = 'cd "$HOME" || exit 126; exec "$SHELL" -c "$1"'

#: Written into every machine, so that -force replaces a machine and never anything else.
MARKER = "etc/hatchway-dirmachine"

_MAX_LINKS = 40  # as the kernel's ELOOP limit


def check_privileges(what: str) -> None:
    """Fail unless we may chroot and mknod (that is: we are root)."""
    if os.geteuid() != 0:
        raise HatchwayError(f"{what} needs root (it uses chroot(2) and mknod(2), as Packer's chroot "
                            "builders do): run hatchway as root, e.g. with sudo")


def find_busybox(configured: str = "") -> str:
    """The busybox binary to install: ``configured`` or the one on PATH."""
    found = configured or shutil.which("busybox") or ""
    if not found or not os.path.isfile(found):
        raise HatchwayError(f"busybox {found or '(not on PATH)'} not found: apt-get install busybox-static, "
                            "or set \"busybox\" to a statically linked busybox")
    return found


def make_machine(root: Path, busybox: str, hostname: str = "dirmachine") -> Path:
    """Turn the (empty) directory ``root`` into a machine; return it.

    busybox is copied to ``/bin/busybox`` with one relative link per applet
    (``/bin/sh -> busybox``...). It must be statically linked: the machine
    has no shared libraries. Raises :class:`HatchwayError` if the finished
    machine's shell does not start.
    """
    check_privileges("the dirmachine builder")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    for name, mode in DIRECTORIES.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        os.chmod(root / name, mode)
    shutil.copy2(busybox, root / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, timeout=30, check=True)
    for applet in applets.stdout.split():
        if applet != "busybox" and not (root / "bin" / applet).exists():
            os.symlink("busybox", root / "bin" / applet)
    (root / MARKER).write_text("made by the hatchway dirmachine builder\n")
    (root / "etc" / "hostname").write_text(hostname + "\n")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    for name, (major, minor) in DEVICES.items():
        os.mknod(root / "dev" / name, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(root / "dev" / name, 0o666)
    probe = subprocess.run(["chroot", str(root), "/bin/sh", "-c", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        raise HatchwayError(f"the new machine's /bin/sh does not start ({probe.stderr.decode().strip()}): "
                            f"is {busybox} statically linked? apt-get install busybox-static")
    return root


def remove_device_nodes(root: Path) -> None:
    """Remove the device nodes: they belong to the running machine, not to what is kept of it."""
    for name in DEVICES:
        try:
            os.unlink(root / "dev" / name)
        except FileNotFoundError:
            pass


def is_machine(root: Path) -> bool:
    """Was ``root`` made by :func:`make_machine`?"""
    return os.path.isfile(root / MARKER) and not os.path.islink(root)


def remove_machine(root: Path) -> None:
    """Delete the machine; what is already gone is fine. Links are removed, never followed."""
    if os.path.islink(root):
        os.unlink(root)
    elif os.path.lexists(root):
        shutil.rmtree(root)


def _parts(path: str) -> List[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def resolve(root: Path, path: str, cwd: str = "/") -> Path:
    """The local path of the machine path ``path`` (relative ones start at ``cwd``).

    Each existing component that is a symbolic link is replaced by its
    target, read *inside* the machine: an absolute target starts again at
    the machine's ``/``. Components that do not exist yet are kept as
    spelled (an upload creates them). A ``..`` that would climb above the
    machine's ``/`` is refused with :class:`RemotePathError`, so the
    result is always inside ``root``.
    """
    spelled = path if path.startswith("/") else f"{cwd.rstrip('/')}/{path}"
    pending = list(reversed(_parts(spelled)))  # a stack: next component last
    done: List[str] = []
    links = 0
    while pending:
        name = pending.pop()
        if name == "..":
            if not done:
                raise RemotePathError(f"{path!r} leads outside the machine (above its root /); "
                                      "use a path inside the machine")
            done.pop()
            continue
        here = root.joinpath(*done, name)
        if here.is_symlink():
            links += 1
            if links > _MAX_LINKS:
                raise RemotePathError(f"{path!r} on the machine: too many levels of symbolic links")
            target = os.readlink(here)
            if target.startswith("/"):
                done = []
            pending.extend(reversed(_parts(target)))
            continue
        done.append(name)
    return root.joinpath(*done)


def walk(root: Path, remote: str, exclude: Sequence[str] = (), cwd: str = "/") -> Iterator[Entry]:
    """Like :func:`hatchway.files.walk` over the machine directory ``remote``, links read as the machine reads them.

    Every entry is resolved with :func:`resolve`, so a link to ``/etc`` is
    the machine's ``/etc``, and nothing outside ``root`` is ever listed or
    read. A directory that links back to one of its parents is entered once.
    """
    def visit(directory: Path, prefix: str, seen: Tuple[Tuple[int, int], ...]) -> Iterator[Entry]:
        for name in sorted(os.listdir(directory)):
            rel = f"{prefix}{name}"
            path = resolve(root, f"{remote.rstrip('/')}/{rel}", cwd)
            try:
                st = path.stat()
            except FileNotFoundError:  # a dangling link
                continue
            if is_excluded(rel, exclude, stat.S_ISDIR(st.st_mode)):
                continue
            if stat.S_ISDIR(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
                yield Entry(rel, path, True, stat.S_IMODE(st.st_mode), 0)
                yield from visit(path, rel + "/", seen + ((st.st_dev, st.st_ino),))
            elif stat.S_ISREG(st.st_mode):
                yield Entry(rel, path, False, stat.S_IMODE(st.st_mode), st.st_size)

    top = resolve(root, remote, cwd)
    yield from visit(top, "", ((top.stat().st_dev, top.stat().st_ino),))
