"""One SSH connection: dial (direct, SOCKS5 or through a bastion), handshake, host key, login.

Every failure names the hop that failed (``SOCKS5 proxy``, ``bastion``,
``target``) and is either retryable (not up yet) or fatal (wrong
credentials after the allowed attempts, host key mismatch, no common
algorithm). :class:`Connection` also runs the keepalive / read-write
timeout watchdog and owns the tunnels.
"""
from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import paramiko

from hatchway import BuildCancelled, CommunicatorError, ConnectError, RetryableConnectError
from hatchway.toolkit import Backoff, retry

from . import _paramiko_compat as compat
from .auth import AuthMethod, authenticate
from .errors import ChannelOpenFailed, SessionRefused, reason
from .hostkeys import HostKeyPolicy

__all__ = ["Connection", "Hop", "Dialing", "dial", "open_transport", "WINDOW_SIZE", "MAX_PACKET_SIZE",
           "PREFERRED_CIPHERS"]

log = logging.getLogger("hatchway.ssh")
# paramiko logs a reset connection itself; with no handler set up that reaches stderr through
# logging.lastResort as a stray line. Our errors say what happened; a configured log still gets it.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

#: Channel window: large enough for full speed on loopback and LANs, small enough to bound memory (measured).
WINDOW_SIZE = 8 * 1024 * 1024
#: Largest packet we accept: OpenSSH sends up to 32 KiB of channel data per packet.
MAX_PACKET_SIZE = 32 * 1024
#: Seconds a refused session channel is asked for again (sessions just closed may not be freed yet).
SESSION_PATIENCE = 3.0
#: Waits between asking a server at its session limit again: 20 ms doubling to 250 ms.
SESSION_BACKOFF = Backoff(0.02, 2.0, 0.25)
#: Fastest first: AES-GCM has one pass for cipher and MAC.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr")


class Hop:
    """One leg of the way: what it is called in messages and how to log in."""

    def __init__(self, role: str, host: str, port: int, username: str, methods: Sequence[AuthMethod],
                 host_keys: HostKeyPolicy) -> None:
        self.role = role  # "target" | "bastion"
        self.host = host
        self.port = port
        self.username = username
        self.methods = list(methods)
        self.host_keys = host_keys

    def __str__(self) -> str:
        return f"{self.role} {self.username}@{self.host}:{self.port}"


class _WatchedSocket:
    """A socket (or channel) that remembers when it last received bytes, for the read/write timeout."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.last_recv = time.monotonic()

    def recv(self, n: int) -> bytes:
        data = self._sock.recv(n)
        self.last_recv = time.monotonic()
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _tune(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 5), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
    for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, option, 4 * 1024 * 1024)


def dial(host: str, port: int, timeout: float, what: str) -> socket.socket:
    """A TCP connection to ``host:port``; failures are retryable and name ``what`` was dialled."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror as exc:
        raise RetryableConnectError(f"cannot resolve the {what} host {host!r}: {exc.strerror or reason(exc)}") from None
    except UnicodeError:
        raise RetryableConnectError(f"cannot resolve the {what} host {host!r}: not a valid host name") from None
    except ConnectionRefusedError:
        raise RetryableConnectError(f"the {what} {host}:{port} refused the connection "
                                    f"(is sshd running and listening on port {port}?)") from None
    except socket.timeout:
        raise RetryableConnectError(f"the {what} {host}:{port} did not answer within {timeout:g}s") from None
    except OSError as exc:
        raise RetryableConnectError(f"cannot reach the {what} {host}:{port}: {exc.strerror or exc}") from None
    sock.settimeout(None)
    _tune(sock)
    return sock


def dial_socks5(proxy_host: str, proxy_port: int, username: Optional[str], password: Optional[str],
                host: str, port: int, timeout: float) -> socket.socket:
    """A connection to ``host:port`` through a SOCKS5 proxy (PySocks)."""
    import socks

    what = f"SOCKS5 proxy {proxy_host}:{proxy_port}"
    try:
        sock = socks.create_connection((host, port), timeout=timeout, proxy_type=socks.SOCKS5,
                                       proxy_addr=proxy_host, proxy_port=proxy_port, proxy_rdns=True,
                                       proxy_username=username, proxy_password=password)
    except (socks.ProxyError, OSError) as exc:
        # PySocks wraps the negotiation's own errors in GeneralProxyError("Socket error", inner)
        inner = getattr(exc, "socket_err", None)
        cause = inner if isinstance(exc, socks.GeneralProxyError) and isinstance(inner, socks.ProxyError) else exc
        if isinstance(cause, socks.SOCKS5AuthError):
            raise ConnectError(f"the {what} refused our credentials ({cause.msg}): check ssh_proxy_username "
                               f"and ssh_proxy_password") from None
        if isinstance(cause, socks.ProxyConnectionError):
            raise RetryableConnectError(f"cannot reach the {what}: {cause.socket_err or cause.msg}") from None
        raise RetryableConnectError(f"the {what} could not connect to the target {host}:{port}: "
                                    f"{getattr(cause, 'msg', None) or cause}") from None
    sock.settimeout(None)
    with contextlib.suppress(OSError):
        _tune(sock)
    return sock


def open_transport(sock: Any, hop: Hop, ciphers: Sequence[str], kex: Sequence[str],
                   handshake_timeout: float, dialing: Optional[Dialing] = None) -> paramiko.Transport:
    """Handshake over ``sock``, check the host key, log in; return the ready transport."""
    transport = paramiko.Transport(sock, default_window_size=WINDOW_SIZE, default_max_packet_size=MAX_PACKET_SIZE)
    if dialing is not None:
        dialing.watch(transport)
    try:
        options = transport.get_security_options()
        options.ciphers = _algorithms(ciphers, options.ciphers, PREFERRED_CIPHERS, "ssh_ciphers")
        options.key_types = hop.host_keys.preferred_key_types(hop.host, hop.port, options.key_types)
        if kex:
            options.kex = _algorithms(kex, options.kex, (), "ssh_key_exchange_algorithms")
        try:
            transport.start_client(timeout=handshake_timeout)
        except paramiko.IncompatiblePeer as exc:
            raise ConnectError(f"{hop}: no algorithm in common with the server ({reason(exc)}); "
                               f"check ssh_ciphers and ssh_key_exchange_algorithms") from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise RetryableConnectError(f"{hop}: SSH handshake failed: {reason(exc)}") from None
        if not (transport.is_active() and transport.initial_kex_done):  # start_client returns on timeout
            raise RetryableConnectError(f"{hop}: the SSH handshake did not finish within {handshake_timeout:g}s "
                                        f"(the port answers but no SSH server speaks: still booting?)")
        hop.host_keys.check(transport.get_remote_server_key(), str(hop), hop.host, hop.port)
        try:
            authenticate(transport, hop.username, hop.methods, str(hop))
        except (EOFError, OSError) as exc:
            raise RetryableConnectError(f"{hop}: connection lost while logging in: {reason(exc)}") from None
        except paramiko.SSHException as exc:
            if isinstance(exc, paramiko.AuthenticationException):
                raise
            raise RetryableConnectError(f"{hop}: connection lost while logging in: {reason(exc)}") from None
        return transport
    except BaseException:
        transport.close()
        raise


def _algorithms(wanted: Sequence[str], supported: Sequence[str], preferred: Sequence[str], key: str) -> tuple:
    if not wanted:
        ordered = [a for a in preferred if a in supported]
        return tuple(ordered + [a for a in supported if a not in ordered])
    unknown = [a for a in wanted if a not in supported]
    if unknown:
        raise ConnectError(f"{key}: {', '.join(unknown)} not supported; choose from {', '.join(supported)}")
    return tuple(wanted)


class Dialing:
    """What a connection attempt has open (sockets, transports), so that another thread can abort it at
    once: an interrupt must not wait for a stalled handshake's timeout."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: List[Any] = []
        self.aborted = False

    def watch(self, thing: Any) -> Any:
        """Keep ``thing`` (anything with ``close()``) to close on :meth:`abort`; closed at once if aborted."""
        with self._lock:
            if not self.aborted:
                self._open.append(thing)
                return thing
        with contextlib.suppress(Exception):
            thing.close()
        raise BuildCancelled("cancelled while connecting")

    def check(self) -> None:
        if self.aborted:
            raise BuildCancelled("cancelled while connecting")

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            things, self._open = self._open, []
        for thing in things:
            with contextlib.suppress(Exception):
                thing.close()


class Connection:
    """A logged-in transport (plus the bastion's), its tunnels, and the keepalive watchdog.

    While :meth:`busy` is held (a command or transfer runs), keepalive
    requests go out every ``keep_alive`` seconds, and when nothing arrived
    for ``read_write_timeout`` seconds the connection is dropped, so
    operations on a vanished machine end instead of hanging.
    """

    def __init__(self, transport: paramiko.Transport, watched: _WatchedSocket, hop: Hop,
                 bastion: Optional[paramiko.Transport] = None, keep_alive: float = 5.0,
                 read_write_timeout: float = 0.0) -> None:
        self.transport = transport
        self.bastion = bastion
        self.hop = hop
        self._watched = watched
        self.keep_alive = keep_alive
        self.read_write_timeout = read_write_timeout
        self._busy = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._stoppers: Dict[object, Callable[[], None]] = {}
        #: Set by :meth:`interrupt`: transfers in progress stop (and remove their temp files).
        self.interrupted = threading.Event()
        #: Does the login shell report its pid with ``$$`` (a POSIX shell)? Asked once, by the first command.
        self.posix_shell: Optional[bool] = None
        self.probe_lock = threading.Lock()
        self._stop = threading.Event()
        self._closers: List[Callable[[], None]] = []
        self.timed_out = False
        self._thread = threading.Thread(target=self._watch, name=f"ssh-keepalive {hop}", daemon=True)
        self._thread.start()

    # -- liveness ----------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.transport.is_active() and not self._stop.is_set()

    def lost(self, wait: float = 1.0) -> bool:
        """Is the connection gone? An operation that just failed may have seen it first: wait a moment."""
        deadline = time.monotonic() + wait
        while self.transport.is_active():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def answers(self, timeout: float = 5.0) -> bool:
        """Does the server still answer? A request that wants a reply, waited for ``timeout`` seconds."""
        if not self.transport.is_active():
            return False
        done = threading.Event()

        def ask() -> None:
            with contextlib.suppress(Exception):
                self.transport.global_request("keepalive@openssh.com", wait=True)
            done.set()

        threading.Thread(target=ask, daemon=True).start()
        return done.wait(timeout) and self.transport.is_active()

    @contextlib.contextmanager
    def busy(self, stop: Optional[Callable[[], None]] = None) -> Iterator[None]:
        """While an operation runs: keepalives and the read/write timeout apply; ``stop`` is how
        :meth:`interrupt` ends it (a command's process group killed...)."""
        key = object()
        with self._lock:
            if self._busy == 0:
                self._watched.last_recv = time.monotonic()
            self._busy += 1
            if stop is not None:
                self._stoppers[key] = stop
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                self._stoppers.pop(key, None)
                self._idle.notify_all()

    def check_interrupted(self, what: str) -> None:
        """Raise if :meth:`interrupt` was called: a transfer's loops call this to stop (cleaning up after)."""
        if self.interrupted.is_set():
            raise CommunicatorError(f"{self.hop}: {what} was interrupted")

    def interrupt(self, wait: float = 15.0) -> bool:
        """Stop what runs on this connection (the build was interrupted): commands' process groups are
        killed, transfers stop and remove their temp files; wait up to ``wait`` seconds for them to end,
        with the connection still open. True when everything ended."""
        self.interrupted.set()
        with self._lock:
            stoppers = list(self._stoppers.values())
        for stop in stoppers:
            try:
                stop()
            except Exception as exc:  # noqa: BLE001 - best effort: the connection closes next anyway
                log.info("%s: stopping a running command failed: %s", self.hop, exc)
        deadline = time.monotonic() + wait
        with self._lock:
            while self._busy > 0:
                left = deadline - time.monotonic()
                if left <= 0 or not self.transport.is_active():
                    return False
                self._idle.wait(min(left, 0.5))
        return True

    def _watch(self) -> None:
        tick = min([x for x in (self.keep_alive, self.read_write_timeout / 4) if x > 0] or [1.0])
        tick = max(min(tick, 1.0), 0.05)
        last_keepalive = time.monotonic()
        while not self._stop.wait(tick):
            if not self.transport.is_active():
                return
            with self._lock:
                busy = self._busy > 0
            now = time.monotonic()
            if not busy:
                continue
            if self.read_write_timeout > 0 and now - self._watched.last_recv > self.read_write_timeout:
                log.warning("%s: nothing received for %.0fs (ssh_read_write_timeout): dropping the connection",
                            self.hop, now - self._watched.last_recv)
                self.timed_out = True
                self.close()
                return
            if self.keep_alive > 0 and now - last_keepalive >= self.keep_alive:
                last_keepalive = now
                with contextlib.suppress(Exception):
                    self._send_keepalive()

    def _send_keepalive(self) -> None:
        """A global request that wants a reply (as OpenSSH's ServerAliveInterval), without waiting for it.

        The reply is traffic: it proves the server is alive to the read/write watchdog.
        """
        compat.send_keepalive(self.transport)

    # -- channels ----------------------------------------------------------
    def open_session(self, timeout: float = 60.0, patience: float = SESSION_PATIENCE) -> paramiko.Channel:
        """A new session channel.

        A live server that refuses it is at its session limit; the sessions
        we just closed may not be freed on its side yet, so it is asked again
        for up to ``patience`` seconds before :class:`SessionRefused`.
        """
        def attempt() -> paramiko.Channel:
            try:
                return self.transport.open_session(timeout=timeout)
            except paramiko.ChannelException as exc:
                if not self.transport.is_active():
                    raise ChannelOpenFailed(f"{self.hop}: cannot open a channel: {exc.text or exc}") from None
                raise  # refused by a live server: asked again below
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise ChannelOpenFailed(f"{self.hop}: cannot open a channel: {reason(exc)}") from None

        return retry(attempt, retry_on=paramiko.ChannelException, timeout=patience, backoff=SESSION_BACKOFF,
                     give_up=lambda exc, _: SessionRefused(
                         f"{self.hop}: the server refused to open another session "
                         f"({getattr(exc, 'text', '') or getattr(exc, 'code', exc)}): its limit of sessions per "
                         f"connection was hit (sshd_config MaxSessions)"))

    def on_close(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    def close(self) -> None:
        """Close tunnels, the transport and the bastion; harmless twice."""
        self._stop.set()
        closers, self._closers = self._closers, []
        for closer in closers:
            with contextlib.suppress(Exception):
                closer()
        with contextlib.suppress(Exception):
            self.transport.close()
        if self.bastion is not None:
            with contextlib.suppress(Exception):
                self.bastion.close()


def connect(target: Hop, *, bastion: Optional[Hop] = None, proxy: Optional[dict] = None,
            ciphers: Sequence[str] = (), kex: Sequence[str] = (), dial_timeout: float = 15.0,
            handshake_timeout: float = 60.0, keep_alive: float = 5.0, read_write_timeout: float = 0.0,
            dialing: Optional[Dialing] = None) -> Connection:
    """Reach ``target`` (through ``bastion`` or a SOCKS5 ``proxy`` dict) and log in.

    ``dialing.abort()`` from another thread ends the attempt at once with :class:`BuildCancelled`.
    """
    dialing = dialing or Dialing()
    try:
        return _connect(target, bastion, proxy, ciphers, kex, dial_timeout, handshake_timeout, keep_alive,
                        read_write_timeout, dialing)
    except (ConnectError, paramiko.SSHException, EOFError, OSError):
        dialing.check()  # aborted: that is why it failed
        raise


def _connect(target: Hop, bastion: Optional[Hop], proxy: Optional[dict], ciphers: Sequence[str],
             kex: Sequence[str], dial_timeout: float, handshake_timeout: float, keep_alive: float,
             read_write_timeout: float, dialing: Dialing) -> Connection:
    bastion_transport = None
    if bastion is not None:
        bsock = dialing.watch(dial(bastion.host, bastion.port, dial_timeout, "bastion"))
        bastion_transport = open_transport(bsock, bastion, ciphers, kex, handshake_timeout, dialing)
        try:
            sock: Any = bastion_transport.open_channel("direct-tcpip", (target.host, target.port),
                                                       ("127.0.0.1", 0), timeout=dial_timeout)
        except paramiko.ChannelException as exc:
            bastion_transport.close()
            raise RetryableConnectError(f"{bastion} could not connect to the target {target.host}:{target.port}: "
                                        f"{exc.text or exc}") from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            bastion_transport.close()
            raise RetryableConnectError(f"{bastion}: connection lost while opening the way to the target: {reason(exc)}"
                                        ) from None
    elif proxy is not None:
        sock = dialing.watch(dial_socks5(proxy["host"], proxy["port"], proxy.get("username"), proxy.get("password"),
                                         target.host, target.port, dial_timeout))
    else:
        sock = dialing.watch(dial(target.host, target.port, dial_timeout, "target"))
    watched = _WatchedSocket(sock)
    try:
        transport = open_transport(watched, target, ciphers, kex, handshake_timeout, dialing)
    except BaseException:
        if bastion_transport is not None:
            bastion_transport.close()
        with contextlib.suppress(Exception):
            sock.close()
        raise
    return Connection(transport, watched, target, bastion_transport, keep_alive, read_write_timeout)
