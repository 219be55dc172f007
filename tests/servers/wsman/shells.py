"""WinRS shells: Create / Command / Send / Receive / Signal / Delete on ``.../windows/shell/cmd``."""
from __future__ import annotations

import base64
import binascii
import os
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from . import soap
from .commands import Command, ScriptRecorder
from .soap import NS, SHELL, Fault, Request

#: Windows' MaxTimeoutms: the longest a Receive blocks, whatever OperationTimeout says
MAX_TIMEOUT = 60.0
#: the client's MaxEnvelopeSize when it sends none (pywinrm always sends 153600)
DEFAULT_CLIENT_ENVELOPE = 153600
#: SOAP overhead kept free in a ReceiveResponse
RECEIVE_OVERHEAD = 4096


@dataclass
class Shell:
    id: str
    owner: str
    env: Dict[str, str]
    cwd: str
    input_streams: str = "stdin"
    output_streams: str = "stdout stderr"
    commands: Dict[str, Command] = field(default_factory=dict)

    def close(self) -> None:
        for command in list(self.commands.values()):
            command.cancel()
        self.commands.clear()


class ShellService:
    """All live shells of one server, the per-user quota, and the operations on them."""

    def __init__(
        self,
        *,
        max_shells_per_user: int,
        recorder: ScriptRecorder,
        stop: threading.Event,
        machine: str,
        receive_coalesce: float = 0.005,
        base_env: Optional[Dict[str, str]] = None,
        default_cwd: Optional[str] = None,
        users: Optional[Dict[str, str]] = None,
    ) -> None:
        self.max_shells_per_user = max_shells_per_user
        self.shells: Dict[str, Shell] = {}
        self._lock = threading.Lock()
        self._recorder = recorder
        self._users = users if users is not None else {}
        self._stop = stop
        self._machine = machine
        self._coalesce = receive_coalesce
        self._base_env = dict(base_env if base_env is not None else os.environ)
        self._default_cwd = default_cwd or os.getcwd()

    def close_all(self) -> None:
        with self._lock:
            shells = list(self.shells.values())
            self.shells.clear()
        for shell in shells:
            shell.close()

    # --- helpers -----------------------------------------------------------------------------------
    def _shell(self, request: Request, user: str) -> Shell:
        with self._lock:
            shell = self.shells.get(request.shell_id or "")
        if shell is None or shell.owner.lower() != user.lower():
            raise soap.invalid_selectors(f"ShellId {request.shell_id}")
        return shell

    @staticmethod
    def _command(shell: Shell, command_id: Optional[str]) -> Command:
        command = shell.commands.get(command_id or "")
        if command is None:
            raise soap.invalid_selectors(f"CommandId {command_id}")
        return command

    def _reply(self, request: Request, body: str = "") -> bytes:
        return soap.envelope(request.action_uri + "Response", request.message_id, body)

    # --- actions -------------------------------------------------------------------------------------
    def handle(self, request: Request, user: str) -> bytes:
        if request.resource_uri and request.resource_uri != soap.CMD_RESOURCE:
            raise Fault("w:DestinationUnreachable", f"The WS-Management service does not support the resource URI {request.resource_uri}.", 2150858770)
        handler = getattr(self, f"_do_{request.action.lower()}", None)
        if handler is None or request.action not in soap.ACTIONS.values() or request.action == "Get":
            raise soap.action_not_supported(request.action_uri)
        return handler(request, user)

    def _do_create(self, request: Request, user: str) -> bytes:
        body = request.body
        env = dict(self._base_env)
        cwd = self._default_cwd
        inputs, outputs = "stdin", "stdout stderr"
        if body is not None:
            for var in body.findall("rsp:Environment/rsp:Variable", NS):
                env[var.get("Name", "")] = var.text or ""
            wd = body.find("rsp:WorkingDirectory", NS)
            if wd is not None and wd.text:
                if not os.path.isdir(wd.text):
                    raise soap.invalid_parameter(f"The working directory {wd.text} does not exist.")
                cwd = wd.text
            node = body.find("rsp:InputStreams", NS)
            inputs = (node.text or "").strip() if node is not None else inputs
            node = body.find("rsp:OutputStreams", NS)
            outputs = (node.text or "").strip() if node is not None else outputs
        with self._lock:
            owned = sum(1 for shell in self.shells.values() if shell.owner.lower() == user.lower())
            if owned >= self.max_shells_per_user:
                raise soap.quota_shells(self.max_shells_per_user)
            shell = Shell(id=soap.new_id(), owner=user, env=env, cwd=cwd, input_streams=inputs, output_streams=outputs)
            self.shells[shell.id] = shell
        address = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
        body_xml = (
            f"<x:ResourceCreated><a:Address>{address}</a:Address><a:ReferenceParameters>"
            f"<w:ResourceURI>{soap.CMD_RESOURCE}</w:ResourceURI><w:SelectorSet>"
            f'<w:Selector Name="ShellId">{shell.id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
            f"</x:ResourceCreated>"
            f'<rsp:Shell xmlns:rsp="{SHELL}"><rsp:ShellId>{shell.id}</rsp:ShellId>'
            f"<rsp:ResourceUri>{soap.CMD_RESOURCE}</rsp:ResourceUri><rsp:Owner>{user}</rsp:Owner>"
            f"<rsp:ClientIP>{self._machine}</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
            f"<rsp:InputStreams>{inputs}</rsp:InputStreams><rsp:OutputStreams>{outputs}</rsp:OutputStreams>"
            f"<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>"
            f"</rsp:Shell>"
        )
        return self._reply(request, body_xml)

    def _do_delete(self, request: Request, user: str) -> bytes:
        shell = self._shell(request, user)
        with self._lock:
            self.shells.pop(shell.id, None)
        shell.close()
        return self._reply(request)

    def _do_command(self, request: Request, user: str) -> bytes:
        shell = self._shell(request, user)
        line_node = request.body.find("rsp:Command", NS) if request.body is not None else None
        if line_node is None:
            raise soap.invalid_parameter("The Command request has no rsp:Command.")
        parts = [(line_node.text or "").strip()]
        parts += [(arg.text or "") for arg in request.body.findall("rsp:Arguments", NS)]
        line = " ".join(p for p in parts if p)
        command_id = soap.new_id()
        shell.commands[command_id] = Command(
            command_id,
            line,
            env=shell.env,
            cwd=shell.cwd,
            skip_cmd_shell=request.options.get("WINRS_SKIP_CMD_SHELL", "").upper() == "TRUE",
            recorder=self._recorder,
            users=self._users,
        )
        return self._reply(request, f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>")

    def _do_send(self, request: Request, user: str) -> bytes:
        shell = self._shell(request, user)
        streams = request.body.findall("rsp:Stream", NS) if request.body is not None else []
        for stream in streams:
            command = self._command(shell, stream.get("CommandId"))
            try:
                data = base64.b64decode(stream.text or "", validate=True)
            except binascii.Error as exc:
                raise soap.invalid_parameter(f"The Send stream is not valid base64: {exc}") from exc
            command.stdin.feed(data, end=stream.get("End", "").lower() == "true")
        return self._reply(request, "<rsp:SendResponse/>")

    def _do_receive(self, request: Request, user: str) -> bytes:
        shell = self._shell(request, user)
        desired = request.body.find("rsp:DesiredStream", NS) if request.body is not None else None
        command = self._command(shell, desired.get("CommandId") if desired is not None else None)
        timeout = min(request.operation_timeout or MAX_TIMEOUT, MAX_TIMEOUT)
        envelope_size = request.max_envelope_size or DEFAULT_CLIENT_ENVELOPE
        max_raw = max(1024, (envelope_size - RECEIVE_OVERHEAD) * 3 // 4)
        result = command.output.take(max_raw, timeout, self._coalesce, self._stop)
        if result is None:
            raise soap.timed_out()
        chunks, done = result
        cid = command.id
        parts: List[str] = [
            f'<rsp:Stream Name="{name}" CommandId="{cid}">{base64.b64encode(data).decode("ascii")}</rsp:Stream>'
            for name, data in chunks
        ]
        if done:
            parts.append(f'<rsp:Stream Name="stdout" CommandId="{cid}" End="true"></rsp:Stream>')
            parts.append(f'<rsp:Stream Name="stderr" CommandId="{cid}" End="true"></rsp:Stream>')
            parts.append(
                f'<rsp:CommandState CommandId="{cid}" State="{soap.COMMAND_DONE}">'
                f"<rsp:ExitCode>{command.output.exit_code}</rsp:ExitCode></rsp:CommandState>"
            )
        else:
            parts.append(f'<rsp:CommandState CommandId="{cid}" State="{soap.COMMAND_RUNNING}"></rsp:CommandState>')
        return self._reply(request, '<rsp:ReceiveResponse SequenceID="0">' + "".join(parts) + "</rsp:ReceiveResponse>")

    def _do_signal(self, request: Request, user: str) -> bytes:
        shell = self._shell(request, user)
        command_id = request.body.get("CommandId") if request.body is not None else None
        command = self._command(shell, command_id)
        shell.commands.pop(command.id, None)
        command.cancel()
        return self._reply(request, "<rsp:SignalResponse/>")
