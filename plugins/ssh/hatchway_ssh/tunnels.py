"""``ssh_local_tunnels`` (``ssh -L``) and ``ssh_remote_tunnels`` (``ssh -R``), bound to localhost like Packer."""
from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
from typing import Any, Sequence

import paramiko

from hatchway import ConnectError

from .config import Tunnel
from .connection import Connection
from .errors import reason

__all__ = ["open_all"]

log = logging.getLogger("hatchway.ssh")


def _pipe(a: Any, b: Any) -> None:
    """Copy bytes both ways between a socket and a channel until either side closes."""
    try:
        while True:
            ready, _, _ = select.select([a, b], [], [], 1.0)
            for src in ready:
                dst = b if src is a else a
                data = src.recv(65536)
                if not data:
                    return
                dst.sendall(data)
    except (OSError, EOFError, paramiko.SSHException):
        return
    finally:
        for end in (a, b):
            with contextlib.suppress(Exception):
                end.close()


def _local(conn: Connection, tunnel: Tunnel) -> None:
    try:
        server = socket.create_server(("127.0.0.1", tunnel.port))
    except OSError as exc:
        raise ConnectError(f"ssh_local_tunnels {tunnel.port}:{tunnel.host}:{tunnel.host_port}: cannot listen on "
                           f"localhost:{tunnel.port}: {exc.strerror or reason(exc)}") from None
    server.settimeout(0.5)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                client, peer = server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                chan = conn.transport.open_channel("direct-tcpip", (tunnel.host, tunnel.host_port), peer,
                                                   timeout=30)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                log.warning("%s: tunnel to %s:%s refused: %s", conn.hop, tunnel.host, tunnel.host_port, exc)
                client.close()
                continue
            threading.Thread(target=_pipe, args=(client, chan), daemon=True).start()

    threading.Thread(target=accept, name=f"ssh -L {tunnel.port}", daemon=True).start()

    def close() -> None:
        stop.set()
        server.close()

    conn.on_close(close)


def _remote(conn: Connection, tunnel: Tunnel) -> None:
    def handler(chan: paramiko.Channel, origin: Any, server: Any) -> None:
        def connect() -> None:
            try:
                sock = socket.create_connection((tunnel.host, tunnel.host_port), timeout=30)
            except OSError as exc:
                log.warning("%s: remote tunnel could not reach %s:%s: %s", conn.hop, tunnel.host,
                            tunnel.host_port, exc)
                chan.close()
                return
            _pipe(sock, chan)

        threading.Thread(target=connect, daemon=True).start()

    try:
        conn.transport.request_port_forward("localhost", tunnel.port, handler)
    except paramiko.SSHException as exc:
        raise ConnectError(f"{conn.hop}: ssh_remote_tunnels {tunnel.port}:{tunnel.host}:{tunnel.host_port}: "
                           f"the server refused to listen on localhost:{tunnel.port} ({reason(exc)}); is "
                           f"AllowTcpForwarding on and the port free?") from None

    def close() -> None:
        with contextlib.suppress(Exception):
            conn.transport.cancel_port_forward("localhost", tunnel.port)

    conn.on_close(close)


def open_all(conn: Connection, local: Sequence[Tunnel], remote: Sequence[Tunnel]) -> None:
    for tunnel in local:
        _local(conn, tunnel)
    for tunnel in remote:
        _remote(conn, tunnel)
