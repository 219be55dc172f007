"""WSManServer: a WinRM listener on loopback that real pywinrm talks to (HTTP/1.1 keep-alive, TCP_NODELAY)."""
from __future__ import annotations

import base64
import binascii
import select
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Iterable, List, Optional, Set, Union

from . import auth as wsauth
from . import soap
from .commands import ScriptRecorder
from .config import config_response
from .faults import FaultInjector
from .shells import Shell, ShellService

AUTH_SCHEMES = ("basic", "ntlm", "certificate")
#: the Authorization value of pywinrm's certificate transport (the TLS client certificate authenticates)
MUTUAL_TLS = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"
#: the longest an injected time-out holds a request when the client never gives up
TIMEOUT_FAULT_MAX = 120.0


class Stats:
    """Request counters (thread-safe). ``status`` counts answers by HTTP status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.requests_by_action: Counter = Counter()
            self.status: Counter = Counter()
            self.bytes_in = 0
            self.bytes_out = 0
            self.encrypted_requests = 0
            self.connections = 0

    def add(self, **amounts: int) -> None:
        with self._lock:
            for name, value in amounts.items():
                setattr(self, name, getattr(self, name) + value)

    def count(self, counter: str, key) -> None:
        with self._lock:
            getattr(self, counter)[key] += 1

    def __getattr__(self, name: str) -> int:
        if name.startswith("status_") and name[7:].isdigit():
            return self.status[int(name[7:])]
        raise AttributeError(name)

    def __getitem__(self, name: str):
        return getattr(self, name)

    def snapshot(self) -> Dict[str, object]:
        with self._lock:
            return {
                "requests": self.requests,
                "requests_by_action": dict(self.requests_by_action),
                "status": dict(self.status),
                "bytes_in": self.bytes_in,
                "bytes_out": self.bytes_out,
                "encrypted_requests": self.encrypted_requests,
                "connections": self.connections,
            }


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    wsman: "WSManServer"

    def handle_error(self, request, client_address) -> None:
        """A client that goes away (or fails the TLS handshake) is not an error of the server."""
        import sys

        if not isinstance(sys.exc_info()[1], (OSError, ssl.SSLError)):
            super().handle_error(request, client_address)

    def get_request(self):
        sock, address = super().get_request()
        if self.wsman.ssl_context is not None:
            sock = self.wsman.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    timeout = 300  # idle keep-alive connections end after this
    server: _HTTPServer

    # --- connection ---------------------------------------------------------------------------------
    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        wsman = self.server.wsman
        wsman._track(self.request, True)
        self.conn_auth = wsauth.ConnectionAuth()
        wsman.stats.add(connections=1)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(30)
            try:
                self.request.do_handshake()
            except (OSError, ssl.SSLError):
                wsman._track(self.request, False)
                raise
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.wsman._track(self.request, False)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            pass

    def log_message(self, format: str, *args) -> None:  # quiet: tests read stats, not logs
        pass

    # --- HTTP ---------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._send(405, b"", [("Allow", "POST")])

    def do_POST(self) -> None:
        wsman = self.server.wsman
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        wsman.stats.add(requests=1, bytes_in=len(body))
        if self.path.split("?")[0].rstrip("/").lower() != "/wsman":
            self._send(404, b"")
            return
        user = self._authenticate(body)
        if user is None:
            return
        encrypted = wsauth.is_encrypted(self.headers.get("Content-Type", ""))
        if encrypted:
            try:
                body = wsauth.decrypt(self.conn_auth.ntlm, body)
            except wsauth.DecryptFailed:
                self.conn_auth.reset()
                self._send(400, b"", close=True)
                return
            wsman.stats.add(encrypted_requests=1)
        if not body:  # pywinrm's encryption set-up: an empty POST that only authenticates
            self._send(200, b"")
            return
        if not encrypted and not wsman.https and not wsman.allow_unencrypted:
            self._refuse_unencrypted()
            return
        self._dispatch(body, user, encrypted)

    def _dispatch(self, body: bytes, user: str, encrypted: bool) -> None:
        wsman = self.server.wsman
        request = None
        fault = None
        try:
            request = soap.parse_request(body)
            wsman.stats.count("requests_by_action", request.action)
            if len(body) > wsman.max_envelope_kb * 1024:
                raise soap.too_large(wsman.max_envelope_kb)
            injected = wsman.faults.take(request.action)
            fault = injected.kind if injected is not None else None
            if fault == "drop":
                self._drop()
                return
            if fault == "timeout":
                self._hold_until_client_leaves()
                return
            if fault == "busy":
                raise soap.busy()
            if fault == "delay":
                wsman._stopping.wait(injected.seconds)
            if request.action == "Get" and request.resource_uri.rstrip("/") == soap.CONFIG_RESOURCE:
                reply = config_response(
                    request, max_envelope_kb=wsman.max_envelope_kb, max_shells_per_user=wsman.max_shells_per_user,
                    allow_unencrypted=wsman.allow_unencrypted, auth=wsman.auth, readable=wsman.config_readable,
                )
            else:
                reply = wsman.service.handle(request, user)
            status = 200
        except soap.Fault as error:
            relates_to = request.message_id if request is not None else ""
            reply = soap.fault_envelope(error, relates_to, wsman.host)
            status = error.status
        if fault == "drop_after":  # carried out; the answer is lost with the connection
            self._drop()
            return
        self._send(status, reply, encrypted=encrypted)

    # --- auth -----------------------------------------------------------------------------------------
    def _challenge_headers(self) -> List[tuple]:
        wsman = self.server.wsman
        headers = []
        if "ntlm" in wsman.auth:
            headers.append(("WWW-Authenticate", "Negotiate"))
        if "basic" in wsman.auth:
            headers.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        return headers

    def _unauthorized(self, headers: Optional[List[tuple]] = None) -> None:
        self._send(401, b"", headers if headers is not None else self._challenge_headers())

    def _authenticate(self, body: bytes) -> Optional[str]:
        """The request's user, or None after answering 401."""
        wsman = self.server.wsman
        header = self.headers.get("Authorization")
        if not header:
            if self.conn_auth.ntlm_complete:
                return self.conn_auth.user
            self._unauthorized()
            return None
        if header.strip() == MUTUAL_TLS and "certificate" in wsman.auth:
            user = self._certificate_user()
            if user is None:
                self._unauthorized()
            return user
        scheme, value = wsauth.basic_header(header)
        if scheme == "basic" and "basic" in wsman.auth:
            if not wsman.https and not wsman.allow_unencrypted:
                self._refuse_unencrypted()
                return None
            try:
                return wsauth.check_basic(value, wsman.users)
            except wsauth.AuthFailed:
                self._unauthorized()
                return None
        if scheme in ("negotiate", "ntlm") and "ntlm" in wsman.auth:
            return self._ntlm_step(scheme, value)
        self._unauthorized()
        return None

    def _certificate_user(self) -> Optional[str]:
        """The user whose name is the CN of the verified TLS client certificate, if any."""
        try:
            peer = self.request.getpeercert()
        except (AttributeError, ValueError):
            return None
        if not peer:
            return None
        names = [value for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"]
        for name in names:
            for known in self.server.wsman.users:
                if known.lower() == name.lower():
                    return known
        return None

    def _ntlm_step(self, scheme: str, value: str) -> Optional[str]:
        wsman = self.server.wsman
        try:
            token = base64.b64decode(value, validate=True)
        except binascii.Error:
            self._unauthorized()
            return None
        if wsauth.is_ntlm_negotiate(token):
            self.conn_auth.reset()
            self.conn_auth.ntlm = wsman.ntlm_users.new_context()
        elif self.conn_auth.ntlm is None or self.conn_auth.ntlm_complete:
            self._unauthorized()
            return None
        bindings = wsman.channel_bindings
        if bindings is not None and wsman.channel_binding == "relaxed" and not wsauth.sends_channel_bindings(token):
            bindings = None
        try:
            out = wsman.ntlm_users.step(self.conn_auth.ntlm, token, bindings)
        except Exception:  # bad password, MIC or channel bindings: pyspnego raises SpnegoError kinds
            self.conn_auth.reset()
            self._unauthorized()
            return None
        if out is not None:  # the challenge: same connection, next leg
            title = "NTLM" if scheme == "ntlm" else "Negotiate"
            self._unauthorized([("WWW-Authenticate", f"{title} {base64.b64encode(out).decode('ascii')}")])
            return None
        user = wsauth.principal_user(self.conn_auth.ntlm.client_principal)
        self.conn_auth.user = next((known for known in wsman.users if known.rpartition("\\")[2].lower() == user.lower()), user)
        return self.conn_auth.user

    def _refuse_unencrypted(self) -> None:
        """AllowUnencrypted=false over HTTP: Windows answers 401 (packer#6205), or what the server is told."""
        status = self.server.wsman.unencrypted_status
        self._send(status, b"", self._challenge_headers() if status == 401 else None)

    # --- answers ---------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, headers: Optional[Iterable[tuple]] = None, *, encrypted: bool = False, close: bool = False) -> None:
        wsman = self.server.wsman
        content_type = "application/soap+xml;charset=UTF-8"
        if encrypted and body:
            body = wsauth.encrypt(self.conn_auth.ntlm, body)
            content_type = wsauth.ENCRYPTED_CONTENT_TYPE
        self.send_response(status)
        for name, value in headers or ():
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        wsman.stats.add(bytes_out=len(body))  # counted before the client can see the answer
        wsman.stats.count("status", status)
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _hold_until_client_leaves(self) -> None:
        """Answer nothing until the client closes the connection (its read timeout) or the cap."""
        wsman = self.server.wsman
        deadline = time.monotonic() + TIMEOUT_FAULT_MAX
        sock = self.request
        while time.monotonic() < deadline and not wsman._stopping.is_set():
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable:  # the client's next bytes or its close: either way the request is dropped
                try:
                    if not sock.recv(1):
                        break
                except (OSError, ValueError):
                    break
        self._drop()


class WSManServer:
    """The WinRM endpoint ``http(s)://host:port/wsman`` with the WinRS cmd shell (see the package doc)."""

    def __init__(
        self,
        users: Optional[Dict[str, str]] = None,
        auth: Iterable[str] = ("basic", "ntlm"),
        https: bool = False,
        allow_unencrypted: bool = True,
        max_envelope_kb: int = 500,
        max_shells_per_user: int = 30,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        unencrypted_status: int = 401,
        channel_binding: Union[bool, str] = "strict",
        config_readable: bool = True,
        receive_coalesce: float = 0.005,
        cwd: Optional[str] = None,
    ) -> None:
        self.users = dict(users if users is not None else {"vagrant": "vagrant"})
        self.auth = tuple(a.lower() for a in auth)
        unknown = set(self.auth) - set(AUTH_SCHEMES)
        if unknown:
            raise ValueError(f"unsupported auth schemes {sorted(unknown)}; choose from {AUTH_SCHEMES}")
        self.https = https
        self.allow_unencrypted = allow_unencrypted
        self.max_envelope_kb = max_envelope_kb
        self.host = host
        self.port = port
        self.unencrypted_status = unencrypted_status
        self.config_readable = config_readable
        modes = {True: "strict", False: "none", "strict": "strict", "relaxed": "relaxed", "none": "none"}
        if channel_binding not in modes:
            raise ValueError(f"channel_binding must be 'strict', 'relaxed' or 'none', not {channel_binding!r}")
        #: over HTTPS, NTLM channel binding: strict (required), relaxed (checked when sent, like
        #: Windows' default CbtHardeningLevel), none (ignored)
        self.channel_binding = modes[channel_binding]
        self.stats = Stats()
        self.faults = FaultInjector()
        self.recorder = ScriptRecorder()
        self._stopping = threading.Event()
        self._tmp = tempfile.mkdtemp(prefix="wsman-")
        self.cert_path: Optional[str] = None
        self.ssl_context: Optional[ssl.SSLContext] = None
        self.channel_bindings = None
        self._ca = None
        if "certificate" in self.auth and not https:
            raise ValueError("certificate authentication needs https=True")
        if https:
            from .tls import CertificateAuthority

            self._ca = CertificateAuthority(self._tmp, host)
            self.cert_path = self._ca.cert_path
            self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ssl_context.load_cert_chain(self._ca.cert_path, self._ca.key_path)
            if "certificate" in self.auth:
                self.ssl_context.verify_mode = ssl.CERT_OPTIONAL
                self.ssl_context.load_verify_locations(self._ca.cert_path)
            if self.channel_binding != "none":
                self.channel_bindings = wsauth.channel_bindings_for(self._ca.der)
        self.ntlm_users = wsauth.NTLMUsers(self.users, self._tmp)
        self.service = ShellService(
            max_shells_per_user=max_shells_per_user,
            recorder=self.recorder,
            stop=self._stopping,
            machine=host,
            receive_coalesce=receive_coalesce,
            default_cwd=cwd,
            users=self.users,
        )
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._connections: Set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    def client_certificate(self, user: str):
        """``(cert_path, key_path)`` of a client certificate for ``user`` that this server trusts
        (``auth`` must include "certificate"); the certificate maps to the user by its CN."""
        if self._ca is None or "certificate" not in self.auth:
            raise ValueError("client certificates need WSManServer(https=True, auth=(..., 'certificate'))")
        return self._ca.issue_client(user)

    # --- what tests look at ------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}/wsman"

    @property
    def shells(self) -> Dict[str, Shell]:
        return self.service.shells

    @property
    def scripts(self) -> List[str]:
        return self.recorder.scripts

    @property
    def script_errors(self) -> List[Dict[str, object]]:
        return self.recorder.errors

    def close_shells(self) -> None:
        """End every shell and its processes, as the host's idle timeout or a restart of WinRM does."""
        self.service.close_all()

    @property
    def max_shells_per_user(self) -> int:
        return self.service.max_shells_per_user

    @max_shells_per_user.setter
    def max_shells_per_user(self, value: int) -> None:
        self.service.max_shells_per_user = value

    # --- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> "WSManServer":
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.wsman = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=f"wsman-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listener and every connection, end every shell (like a host going away)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._conn_lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                conn.close()
            except OSError:
                pass
        self._stopping.set()  # after the connections: a blocked Receive must not answer anything
        self.service.close_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "WSManServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)
