"""WinRS over pywinrm: shells kept in a pool, commands with streamed output, errors made human.

Imported lazily (it imports ``winrm`` and ``requests``). The pieces:

- :class:`Channel`: one ``winrm.protocol.Protocol`` (so one HTTP connection
  and, with NTLM, one security context) plus one remote shell. A channel
  is used by one thread at a time.
- :class:`Session`: the pool of channels of one communicator; commands
  borrow a channel and give it back, so shells are reused, not leaked, and
  several commands can run at once (each on its own channel).
- :meth:`Session.run`: Command, stdin Sends, a Receive loop of our own that
  hands every response's output to the caller at once and keeps an overall
  deadline (pywinrm's own loop retries ``w:TimedOut`` forever), then Signal.
  A dropped connection is re-made with a fresh Protocol (a sealed NTLM
  message cannot be replayed on a new context) and the Receive retried; a
  shell that is gone gives :data:`hatchway.DISCONNECTED`.
"""
from __future__ import annotations

import logging
import re
import threading
import time
import urllib.parse
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, TypeVar

import requests
import winrm.exceptions as wex
import xmltodict
from winrm.protocol import Protocol

from hatchway import (
    CommandTimeout,
    CommunicatorError,
    ConnectError,
    DISCONNECTED,
    OutputStream,
    RetryableConnectError,
)
from hatchway.toolkit import Backoff, retry

from . import diagnosis
from .config import WinRMConfig
from .diagnosis import BUSY, INVALID_SELECTORS, Disconnected, EnvelopeTooLarge, dropped, short

__all__ = ["Session", "Channel", "EnvelopeTooLarge", "Disconnected", "endpoint_url"]

log = logging.getLogger("hatchway.winrm")

T = TypeVar("T")

#: Attempts at re-making a dropped connection during one command.
RECONNECTS = 3
#: The waits before re-making a dropped connection: 0.2 s doubling, at most 2 s.
RECONNECT_BACKOFF = Backoff(0.2, 2.0, 2.0)
#: The waits after a "busy" fault (ERROR_BUSY, 170): 0.5 s doubling.
BUSY_BACKOFF = Backoff(0.5, 2.0)
#: Idle shells kept open for the next command.
IDLE_SHELLS = 4
#: Seconds allowed to delete a shell whose connection dropped, at cleanup (the host may be gone).
ORPHAN_TIMEOUT = 5
#: The largest response we ask for (MaxEnvelopeSize): Windows 2012+'s 500 KB, as pypsrp assumes;
#: pywinrm's own 153600 (150 KB, what 2008 R2 allows) after a refusal.
BIG_ENVELOPE, SMALL_ENVELOPE = 512000, 153600
CONFIG_RESOURCE = "http://schemas.microsoft.com/wbem/wsman/1/config"
#: Even from a server that allows more, answers of at most this size.
LARGEST_ENVELOPE = 4 * 1024 * 1024


class _Protocol(Protocol):
    """pywinrm's Protocol with a MaxEnvelopeSize of our choosing (pywinrm hard-codes 153600).

    A bigger envelope lets one ReceiveResponse carry ~370 KB of output
    instead of ~110 KB: a third of the requests for downloads and chatty
    commands.
    """

    envelope_size = BIG_ENVELOPE

    def build_wsman_header(self, *args, **kwargs):  # type: ignore[override]
        header = super().build_wsman_header(*args, **kwargs)
        header["env:Header"]["w:MaxEnvelopeSize"]["#text"] = str(self.envelope_size)
        return header

    _get_soap_header = build_wsman_header


def endpoint_url(config: WinRMConfig, host: str, port: int) -> str:
    scheme = "https" if config.winrm_use_ssl else "http"
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{scheme}://{shown}:{port}/wsman"


class Channel:
    """One Protocol and one shell; not thread-safe (a command owns it while it runs)."""

    def __init__(self, session: "Session") -> None:
        self.session = session
        self.protocol: Protocol = session.new_protocol()
        self.shell_id: Optional[str] = None
        self.broken = False

    def open(self) -> "Channel":
        self.shell_id = self.session.call(lambda: self.protocol.open_shell(codepage=65001, noprofile=True))
        return self

    def reconnect(self) -> None:
        """Replace the HTTP connection (and security context); the shell lives on in the server."""
        self.discard_connection()
        self.protocol = self.session.new_protocol()

    def discard_connection(self) -> None:
        try:
            self.protocol.transport.close_session()
        except Exception:  # pragma: no cover - closing a broken socket
            pass

    def close(self) -> None:
        """Delete the shell (best effort) and close the connection."""
        if self.shell_id is not None and not self.broken:
            try:
                self.protocol.close_shell(self.shell_id, close_session=False)
            except Exception as exc:  # the host may be gone already: nothing to clean there
                log.debug("closing shell %s: %s", self.shell_id, exc)
        self.shell_id = None
        self.discard_connection()


class Session:
    """The channels of one communicator to one WinRM endpoint."""

    def __init__(self, config: WinRMConfig, host: str, port: int) -> None:
        self.config = config
        self.host = host
        self.port = port
        self.url = endpoint_url(config, host, port)
        self.operation_timeout = max(1, int(float(config.winrm_operation_timeout)))
        self.envelope_size = BIG_ENVELOPE
        self._envelope_limit: "Optional[int] | bool" = False  # False: not read yet
        self._idle: List[Channel] = []
        self._orphans: List[str] = []  # shells whose connection dropped mid-command
        self._lock = threading.Lock()
        self._closed = False

    # -- connections ---------------------------------------------------
    def describe(self) -> str:
        return f"{self.config.winrm_username}@{self.host}:{self.port}"

    def new_protocol(self) -> Protocol:
        c = self.config
        transport = c.transport
        kwargs = dict(
            transport=transport,
            username=c.winrm_username or None,
            password=c.winrm_password if transport != "certificate" else None,
            server_cert_validation="ignore" if c.winrm_insecure else "validate",
            ca_trust_path=c.winrm_ca_cert_file or None,
            cert_pem=c.winrm_client_cert_file or None,
            cert_key_pem=c.winrm_client_key_file or None,
            read_timeout_sec=self.operation_timeout + 5,  # the server may hold a Receive that long
            operation_timeout_sec=self.operation_timeout,
            message_encryption=c.winrm_message_encryption,
            proxy=self._proxy(),
        )
        try:
            protocol = _Protocol(self.url, **kwargs)
        except wex.WinRMError as exc:
            raise ConnectError(f"cannot set up WinRM to {self.describe()}: {exc}") from None
        protocol.envelope_size = self.envelope_size
        return protocol

    def read_envelope_limit(self) -> Optional[int]:
        """The server's MaxEnvelopeSizekb in bytes, read once with a WS-Transfer Get of its config.

        Windows lets only administrators read it; ``None`` when it cannot be
        read (the 413 fall-back then finds the size the hard way).
        """
        with self._lock:
            if self._envelope_limit is not False:
                return self._envelope_limit  # type: ignore[return-value]
        limit: Optional[int] = None
        channel = self.acquire()
        try:
            protocol = channel.protocol
            header = protocol.build_wsman_header(action="http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
                                                 resource_uri=CONFIG_RESOURCE)
            header.setdefault("env:Body", {})
            reply = protocol.send_message(xmltodict.unparse({"env:Envelope": header}))
            found = re.search(rb"<(?:\w+:)?MaxEnvelopeSizekb>\s*(\d+)\s*<", reply)
            limit = int(found.group(1)) * 1024 if found else None
        except Exception as exc:  # access denied (not an admin), old servers: the defaults stay
            log.debug("cannot read MaxEnvelopeSizekb from %s: %s", self.host, exc)
            if dropped(exc):
                channel.broken = True
        finally:
            self.release(channel)
        with self._lock:
            self._envelope_limit = limit
        if limit is not None:
            self.set_envelope(min(limit, LARGEST_ENVELOPE))
        return limit

    def set_envelope(self, size: int, channel: Optional["Channel"] = None) -> None:
        """Ask for answers of up to ``size`` bytes from now on (on every connection)."""
        with self._lock:
            self.envelope_size = size
            for idle in self._idle:
                idle.protocol.envelope_size = size
        if channel is not None:
            channel.protocol.envelope_size = size

    def use_small_envelopes(self, channel: Optional["Channel"] = None) -> None:
        """The server is a small one (a 413, or a refused MaxEnvelopeSize): ask for 150 KB answers."""
        self.set_envelope(SMALL_ENVELOPE, channel)

    def _proxy(self) -> Optional[str]:
        """An explicit proxy (from the environment, as Packer does), or ``None`` with winrm_no_proxy."""
        if self.config.winrm_no_proxy:
            return None
        proxies = requests.utils.get_environ_proxies(self.url)
        scheme = urllib.parse.urlsplit(self.url).scheme
        return proxies.get(scheme) or proxies.get("all") or None

    def translate(self, exc: BaseException) -> Exception:
        """A pywinrm/requests exception as the Hatchway error a user can act on."""
        return diagnosis.translate(exc, self)

    def call(self, fn: Callable[[], object], retries: int = 3) -> object:
        """Call ``fn`` (one WS-Man request), retrying ERROR_BUSY (170) as Windows asks; errors made human."""
        def busy(exc: BaseException) -> bool:
            return isinstance(exc, wex.WSManFaultError) and exc.wsman_fault_code == BUSY

        try:
            return retry(fn, retry_on=busy, attempts=retries + 1, backoff=BUSY_BACKOFF,
                         on_retry=lambda exc, n, delay: log.debug("%s is busy (170); retrying in %ss", self.host, delay))
        except wex.WSManFaultError as exc:
            raise self.translate(exc) from None
        except AssertionError:
            raise CommunicatorError(f"{self.describe()} answered a WS-Management request out of turn") from None

    def _reconnecting(self, channel: Channel, action: Callable[[], T], also: Tuple[type, ...] = ()) -> T:
        """``action()``, retried up to :data:`RECONNECTS` times when the connection dropped (re-made after a
        wait) or it raised one of ``also``; the last failure propagates as it is."""
        def recover(exc: BaseException, attempt: int) -> None:
            if dropped(exc):
                channel.reconnect()

        def on_retry(exc: BaseException, attempt: int, delay: float) -> None:
            if dropped(exc):
                log.debug("connection to %s dropped; re-making it (attempt %d)", self.url, attempt)

        return retry(action, retry_on=lambda exc: dropped(exc) or isinstance(exc, also), attempts=RECONNECTS + 1,
                     backoff=RECONNECT_BACKOFF, on_retry=on_retry, recover=recover)

    # -- the pool ------------------------------------------------------
    def acquire(self) -> Channel:
        """An idle channel, or a new one (new connection, new shell).

        A shell that cannot be made *yet* (refused, timed out, w:TimedOut
        on Create) raises :class:`RetryableConnectError`.
        """
        with self._lock:
            if self._idle:
                return self._idle.pop()
        channel = Channel(self)
        try:
            return channel.open()
        except BaseException as exc:
            channel.broken = True
            channel.close()
            if isinstance(exc, wex.WinRMOperationTimeoutError):
                raise RetryableConnectError(f"{self.describe()} did not create a shell within "
                                            f"{self.operation_timeout}s") from None
            if isinstance(exc, Exception) and not isinstance(exc, CommunicatorError):
                raise self.translate(exc) from None
            raise

    def release(self, channel: Channel) -> None:
        if channel.broken or channel.shell_id is None:
            if channel.broken and channel.shell_id is not None:
                with self._lock:  # its connection broke, not necessarily its shell: delete that at close()
                    self._orphans.append(channel.shell_id)
            channel.close()
            return
        with self._lock:
            if not self._closed and len(self._idle) < IDLE_SHELLS:
                self._idle.append(channel)
                return
        channel.close()

    def close(self) -> None:
        """Delete every shell this session opened: the idle ones, and (best effort, briefly) the
        ones whose connection dropped mid-command, so no shell or command lingers on the host."""
        with self._lock:
            idle, self._idle = self._idle, []
            orphans, self._orphans = self._orphans, []
            self._closed = True
        for channel in idle:
            channel.close()
        if orphans:
            self._delete_orphans(orphans)

    def _delete_orphans(self, shell_ids: List[str]) -> None:
        try:
            protocol = self.new_protocol()
        except Exception as exc:  # pragma: no cover - the config worked for the session itself
            log.debug("cannot delete dropped shells: %s", exc)
            return
        protocol.transport.read_timeout_sec = ORPHAN_TIMEOUT + 1
        protocol.operation_timeout_sec = ORPHAN_TIMEOUT
        try:
            for shell_id in shell_ids:
                try:
                    protocol.close_shell(shell_id, close_session=False)
                except Exception as exc:  # the host is gone, or deleted the shell itself
                    log.debug("deleting dropped shell %s: %s", shell_id, exc)
        finally:
            try:
                protocol.transport.close_session()
            except Exception:  # pragma: no cover
                pass

    # -- commands ------------------------------------------------------
    def run(
        self,
        command: str,
        arguments: Sequence[str] = (),
        *,
        stdin: Optional[Iterable[bytes]] = None,
        stdout: OutputStream,
        stderr: OutputStream,
        timeout: Optional[float] = None,
        skip_cmd_shell: bool = False,
        concurrent_stdin: bool = False,
        on_sent: Callable[[int], None] = lambda n: None,
    ) -> int:
        """Run one command on a pooled shell; return its exit status (or DISCONNECTED).

        ``stdin`` is an iterable of byte chunks, each sent in one WS-Man
        Send (the last with ``End="true"``). With ``concurrent_stdin`` they
        are sent from a second connection while this one receives (for
        commands that answer while reading); otherwise all are sent first.
        :class:`EnvelopeTooLarge` from a Send propagates (the caller resizes).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        channel, command_id = self._acquire_and_start(command, arguments, stdin is not None, skip_cmd_shell)
        try:
            sender: Optional[_Sender] = None
            if stdin is not None:
                if concurrent_stdin:
                    sender = _Sender(self, channel.shell_id or "", command_id, stdin, on_sent)
                    sender.start()
                else:
                    self._send_all(channel, command_id, stdin, on_sent)
            try:
                status = self._receive(channel, command_id, stdout, stderr, deadline,
                                       failed=(lambda: sender.error) if sender is not None else None)
            except CommandTimeout:
                raise CommandTimeout(
                    f"the command ran longer than {timeout:g}s on {self.host} and was stopped") from None
            finally:
                if sender is not None:
                    sender.finish()
            return status
        except Disconnected:
            channel.broken = True
            return DISCONNECTED
        finally:
            if not channel.broken:
                self._signal(channel, command_id)
            self.release(channel)

    def _acquire_and_start(self, command: str, arguments: Sequence[str], has_stdin: bool,
                           skip_cmd_shell: bool) -> Tuple[Channel, str]:
        """A channel and the id of the command started on it.

        An idle shell may have died meanwhile (the host restarted): the
        command never ran, so it is started once more on a new shell.
        """
        for attempt in range(2):
            channel = self.acquire()
            try:
                return channel, self._start(channel, command, arguments, has_stdin, skip_cmd_shell)
            except Disconnected as exc:
                channel.broken = True
                self.release(channel)
                if attempt == 1:
                    raise CommunicatorError(f"cannot start a command on {self.describe()}: {exc}") from None
            except BaseException:
                channel.broken = True
                self.release(channel)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _start(self, channel: Channel, command: str, arguments: Sequence[str], has_stdin: bool,
               skip_cmd_shell: bool) -> str:
        def start() -> str:
            return channel.protocol.run_command(channel.shell_id, command, list(arguments),
                                                console_mode_stdin=not has_stdin, skip_cmd_shell=skip_cmd_shell)
        try:
            return self._reconnecting(channel, lambda: str(self.call(start)), also=(wex.WinRMOperationTimeoutError,))
        except CommunicatorError:
            raise
        except Exception as exc:
            raise self.translate(exc) from None

    def _reconnect(self, channel: Channel, attempt: int) -> None:
        log.debug("connection to %s dropped; re-making it (attempt %d)", self.url, attempt + 1)
        time.sleep(RECONNECT_BACKOFF.delay(attempt + 1))
        channel.reconnect()

    def send(self, protocol: Protocol, shell_id: str, command_id: str, data: bytes, end: bool) -> bool:
        """One Send; False if the command no longer takes input (it exited). Raises EnvelopeTooLarge."""
        try:
            self.call(lambda: protocol.send_command_input(shell_id, command_id, data, end=end))
            return True
        except wex.WinRMOperationTimeoutError:
            return True  # Windows may time out a Send it did accept (Ansible ignores it too)
        except wex.WinRMTransportError as exc:
            if dropped(exc):
                raise
            raise self.translate(exc) from None
        except CommunicatorError as exc:
            if isinstance(exc, (EnvelopeTooLarge, Disconnected)):
                raise
            log.debug("stdin refused, the command has probably exited: %s", exc)
            return False

    def _send_all(self, channel: Channel, command_id: str, chunks: Iterable[bytes],
                  on_sent: Callable[[int], None]) -> None:
        """Send every chunk in order. On HTTP 413, ``chunks.resplit(data)`` (if it has one) cuts the
        refused chunk into smaller ones, which are sent instead: a 413 means nothing was taken.
        ``chunks.fit(data)`` (if it has one) re-cuts a chunk read before the size shrank."""
        resplit = getattr(chunks, "resplit", None)
        fit = getattr(chunks, "fit", None)
        for data, end in _with_end(chunks):
            pending = fit(data) if fit is not None else [data]
            while pending:
                piece = pending.pop(0)
                try:
                    accepted = self._send_one(channel, command_id, piece, end and not pending)
                except EnvelopeTooLarge:
                    self.use_small_envelopes(channel)
                    pieces = resplit(piece) if resplit is not None else None
                    if not pieces or len(pieces) < 2:
                        raise
                    pending = list(pieces) + pending
                    continue
                if not accepted:
                    return
                on_sent(len(piece))

    def _send_one(self, channel: Channel, command_id: str, data: bytes, end: bool) -> bool:
        try:
            return self._reconnecting(
                channel, lambda: self.send(channel.protocol, channel.shell_id or "", command_id, data, end))
        except (requests.exceptions.RequestException, wex.WinRMTransportError) as exc:
            raise self.translate(exc) from None

    def _receive(self, channel: Channel, command_id: str, stdout: OutputStream, stderr: OutputStream,
                 deadline: Optional[float], failed: Optional[Callable[[], Optional[BaseException]]] = None) -> int:
        """Receive until the command is done; raise what ``failed()`` returns (the stdin sender's error)."""
        drops = 0
        while True:
            error = failed() if failed is not None else None
            if error is not None:
                raise error
            wait = self.operation_timeout
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CommandTimeout("")
                wait = max(1, min(wait, int(remaining) + 1))
            channel.protocol.operation_timeout_sec = wait
            try:
                out, err, status, done = channel.protocol.get_command_output_raw(channel.shell_id, command_id)
            except wex.WinRMOperationTimeoutError:
                continue  # no output within OperationTimeout: ask again
            except wex.WSManFaultError as exc:
                if exc.wsman_fault_code == BUSY:
                    time.sleep(0.5)
                    continue
                if channel.protocol.envelope_size > SMALL_ENVELOPE and exc.wsman_fault_code != INVALID_SELECTORS:
                    self.use_small_envelopes(channel)  # an older server refusing our MaxEnvelopeSize
                    continue
                raise self.translate(exc) from None
            except Exception as exc:
                if not dropped(exc):
                    raise self.translate(exc) from None
                drops += 1
                if drops > RECONNECTS:
                    raise Disconnected(f"lost the connection to {self.url}: {short(exc)}") from None
                try:
                    self._reconnect(channel, drops - 1)
                except CommunicatorError as again:
                    raise Disconnected(str(again)) from None
                continue
            drops = 0
            if out:
                stdout.write(out)
            if err:
                stderr.write(err)
            if done:
                return status

    def _signal(self, channel: Channel, command_id: str) -> None:
        """Terminate and forget the command (best effort: a failure only costs the shell)."""
        try:
            channel.protocol.operation_timeout_sec = self.operation_timeout
            self.call(lambda: channel.protocol.cleanup_command(channel.shell_id, command_id), retries=1)
        except Exception as exc:
            log.debug("signal to %s failed: %s", command_id, exc)
            channel.broken = True


class _Sender(threading.Thread):
    """Sends stdin from its own connection while the command's channel receives."""

    def __init__(self, session: Session, shell_id: str, command_id: str, chunks: Iterable[bytes],
                 on_sent: Callable[[int], None]) -> None:
        super().__init__(name="winrm-stdin", daemon=True)
        self.session = session
        self.shell_id = shell_id
        self.command_id = command_id
        self.chunks = chunks
        self.on_sent = on_sent
        self.error: Optional[BaseException] = None
        self.protocol: Optional[Protocol] = None

    def run(self) -> None:
        try:
            self.protocol = self.session.new_protocol()
            for data, end in _with_end(self.chunks):
                if not self.session.send(self.protocol, self.shell_id, self.command_id, data, end):
                    return
                self.on_sent(len(data))
        except BaseException as exc:  # reported to the command's thread
            self.error = exc if isinstance(exc, CommunicatorError) else self.session.translate(exc)

    def finish(self) -> None:
        self.join(timeout=30)
        if self.protocol is not None:
            try:
                self.protocol.transport.close_session()
            except Exception:  # pragma: no cover
                pass


def _with_end(chunks: Iterable[bytes]) -> Iterator[Tuple[bytes, bool]]:
    """Each chunk with "is it the last one?"; an empty iterable still yields one empty, final chunk."""
    iterator = iter(chunks)
    try:
        current = next(iterator)
    except StopIteration:
        yield b"", True
        return
    for following in iterator:
        yield current, False
        current = following
    yield current, True
