"""The responses have the element shapes of Windows' own (as in pywinrm's and pypsrp's captures of
real hosts), beyond what pywinrm happens to parse: a client stricter than pywinrm sees the same."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import List, Set

import pytest

pytestmark = pytest.mark.timeout(60)

PREFIXES = {
    "http://www.w3.org/2003/05/soap-envelope": "s",
    "http://schemas.xmlsoap.org/ws/2004/08/addressing": "a",
    "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd": "w",
    "http://schemas.xmlsoap.org/ws/2004/09/transfer": "x",
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell": "rsp",
    "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault": "f",
}
HEADER = {"s:Envelope/s:Header/a:Action", "s:Envelope/s:Header/a:MessageID", "s:Envelope/s:Header/a:To",
          "s:Envelope/s:Header/a:RelatesTo"}
#: element paths (and attributes, after "@") each Windows response has
WINDOWS_SHAPES = {
    "CreateResponse": HEADER | {
        "s:Envelope/s:Body/x:ResourceCreated/a:Address",
        "s:Envelope/s:Body/x:ResourceCreated/a:ReferenceParameters/w:ResourceURI",
        "s:Envelope/s:Body/x:ResourceCreated/a:ReferenceParameters/w:SelectorSet/w:Selector@Name",
        "s:Envelope/s:Body/rsp:Shell/rsp:ShellId",
    },
    "CommandResponse": HEADER | {"s:Envelope/s:Body/rsp:CommandResponse/rsp:CommandId"},
    "ReceiveResponse": HEADER | {
        "s:Envelope/s:Body/rsp:ReceiveResponse/rsp:Stream@CommandId",
        "s:Envelope/s:Body/rsp:ReceiveResponse/rsp:Stream@Name",
        "s:Envelope/s:Body/rsp:ReceiveResponse/rsp:Stream@End",
        "s:Envelope/s:Body/rsp:ReceiveResponse/rsp:CommandState@CommandId",
        "s:Envelope/s:Body/rsp:ReceiveResponse/rsp:CommandState@State",
        "s:Envelope/s:Body/rsp:ReceiveResponse/rsp:CommandState/rsp:ExitCode",
    },
    "ReceiveResponse/Running": HEADER | {
        "s:Envelope/s:Body/rsp:ReceiveResponse/rsp:Stream@CommandId",
        "s:Envelope/s:Body/rsp:ReceiveResponse/rsp:Stream@Name",
        "s:Envelope/s:Body/rsp:ReceiveResponse/rsp:CommandState@State",
    },
    "SignalResponse": HEADER | {"s:Envelope/s:Body/rsp:SignalResponse"},
    "DeleteResponse": HEADER | {"s:Envelope/s:Body"},
    "fault": HEADER | {
        "s:Envelope/s:Body/s:Fault/s:Code/s:Value",
        "s:Envelope/s:Body/s:Fault/s:Code/s:Subcode/s:Value",
        "s:Envelope/s:Body/s:Fault/s:Reason/s:Text",
        "s:Envelope/s:Body/s:Fault/s:Detail/f:WSManFault@Code",
        "s:Envelope/s:Body/s:Fault/s:Detail/f:WSManFault@Machine",
        "s:Envelope/s:Body/s:Fault/s:Detail/f:WSManFault/f:Message",
    },
}


def _name(tag: str) -> str:
    namespace, _, local = tag[1:].partition("}")
    return f"{PREFIXES.get(namespace, namespace)}:{local}"


def _paths(element: ET.Element, prefix: str = "") -> Set[str]:
    path = f"{prefix}/{_name(element.tag)}" if prefix else _name(element.tag)
    found = {path} | {f"{path}@{attr}" for attr in element.attrib if not attr.startswith("{")}
    for child in element:
        found |= _paths(child, path)
    return found


def _kind(root: ET.Element) -> str:
    action = root.find("{http://www.w3.org/2003/05/soap-envelope}Header/{http://schemas.xmlsoap.org/ws/2004/08/addressing}Action").text
    if action.endswith("/fault"):
        return "fault"
    kind = action.rsplit("/", 1)[1]
    state = root.find(".//{http://schemas.microsoft.com/wbem/wsman/1/windows/shell}CommandState")
    if kind == "ReceiveResponse" and not state.get("State").endswith("/Done"):
        return "ReceiveResponse/Running"
    return kind


def test_every_response_has_the_windows_shape(server, protocol_for):
    from winrm.exceptions import WinRMOperationTimeoutError

    protocol = protocol_for(server, operation_timeout_sec=1, read_timeout_sec=10)
    responses: List[bytes] = []
    send = protocol.transport.send_message

    def recording(message):
        try:
            body = send(message)
        except Exception as exc:
            responses.append(getattr(exc, "response_text", "").encode())
            raise
        responses.append(body)
        return body

    protocol.transport.send_message = recording
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "read x; echo $x", console_mode_stdin=False)
    with pytest.raises(WinRMOperationTimeoutError):
        protocol.get_command_output_raw(shell, command)
    protocol.send_command_input(shell, command, b"done\n", end=True)
    protocol.get_command_output(shell, command)
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell, close_session=False)

    seen = set()
    for raw in responses:
        root = ET.fromstring(raw)
        kind = _kind(root)
        seen.add(kind)
        if kind in WINDOWS_SHAPES:
            missing = WINDOWS_SHAPES[kind] - _paths(root)
            assert not missing, f"{kind} lacks {sorted(missing)}"
    assert seen - {"ReceiveResponse/Running"} == set(WINDOWS_SHAPES) - {"ReceiveResponse/Running"} | {"SendResponse"}
