"""WS-Management SOAP: parsing requests and building the responses and faults Windows sends.

Shapes follow the captures of real Windows hosts (pywinrm's and pypsrp's test fixtures): every
response carries ``a:RelatesTo`` = the request's ``a:MessageID``; faults are HTTP 500 (unless said
otherwise) with an ``f:WSManFault`` whose ``Code`` pywinrm reads as ``wsman_fault_code``.
"""
from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Dict, Optional
from xml.sax.saxutils import escape, quoteattr

SOAP = "http://www.w3.org/2003/05/soap-envelope"
ADDRESSING = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
MS_WSMAN = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
FAULT_NS = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
CMD_RESOURCE = SHELL + "/cmd"
CONFIG_RESOURCE = "http://schemas.microsoft.com/wbem/wsman/1/config"
COMMAND_DONE = SHELL + "/CommandState/Done"
COMMAND_RUNNING = SHELL + "/CommandState/Running"
FAULT_ACTION = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"

NS = {"s": SOAP, "a": ADDRESSING, "w": WSMAN, "p": MS_WSMAN, "x": TRANSFER, "rsp": SHELL}

#: action URI -> the short name used in stats and fault injection
ACTIONS = {
    TRANSFER + "/Create": "Create",
    TRANSFER + "/Delete": "Delete",
    TRANSFER + "/Get": "Get",
    SHELL + "/Command": "Command",
    SHELL + "/Send": "Send",
    SHELL + "/Receive": "Receive",
    SHELL + "/Signal": "Signal",
}

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d*)?)S)?)?$"
)


def parse_duration(text: Optional[str]) -> Optional[float]:
    """ISO 8601 duration (``PT20S``, ``PT60.000S``) -> seconds; None if absent or malformed."""
    if not text:
        return None
    match = _DURATION.match(text.strip())
    if not match:
        return None
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


@dataclass
class Request:
    """The parts of a WS-Man request the server acts on."""

    action_uri: str
    message_id: str
    resource_uri: str = ""
    shell_id: Optional[str] = None
    options: Dict[str, str] = field(default_factory=dict)
    operation_timeout: Optional[float] = None
    max_envelope_size: Optional[int] = None
    body: Optional[ET.Element] = None

    @property
    def action(self) -> str:
        """Short action name (``Receive``...), or the URI itself for unknown actions."""
        return ACTIONS.get(self.action_uri, self.action_uri)


class Fault(Exception):
    """A WS-Man fault answered to the client (HTTP ``status``, SOAP code/subcode, WSManFault Code)."""

    def __init__(self, subcode: str, reason: str, wsman_code: int, *, code: str = "s:Sender", status: int = 500):
        super().__init__(reason)
        self.subcode = subcode
        self.reason = reason
        self.wsman_code = wsman_code
        self.code = code
        self.status = status


def parse_request(data: bytes) -> Request:
    """Parse a SOAP envelope; a malformed one raises a ``w:InvalidMessageInformationHeader``-like Fault."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise Fault("w:SchemaValidationError", f"The SOAP XML in the message does not match the schema: {exc}", 2150858817, status=400) from exc
    header = root.find("s:Header", NS)
    body = root.find("s:Body", NS)
    if header is None or body is None:
        raise Fault("w:SchemaValidationError", "The SOAP envelope has no Header or Body.", 2150858817, status=400)

    def text(path: str) -> str:
        node = header.find(path, NS)
        return (node.text or "").strip() if node is not None else ""

    options = {
        opt.get("Name", ""): (opt.text or "").strip() for opt in header.findall("w:OptionSet/w:Option", NS)
    }
    shell_id = None
    for selector in header.findall("w:SelectorSet/w:Selector", NS):
        if selector.get("Name") == "ShellId":
            shell_id = (selector.text or "").strip()
    max_env = text("w:MaxEnvelopeSize")
    return Request(
        action_uri=text("a:Action"),
        message_id=text("a:MessageID"),
        resource_uri=text("w:ResourceURI"),
        shell_id=shell_id,
        options=options,
        operation_timeout=parse_duration(text("w:OperationTimeout")),
        max_envelope_size=int(max_env) if max_env.isdigit() else None,
        body=next(iter(body), None),
    )


def new_id() -> str:
    """A GUID in the upper-case form Windows uses for shell and command ids."""
    return str(uuid.uuid4()).upper()


def envelope(action: str, relates_to: str, body: str = "") -> bytes:
    """A response envelope: ``a:Action``, fresh ``a:MessageID``, ``a:RelatesTo`` and ``body`` (XML text)."""
    return (
        f'<s:Envelope xml:lang="en-US" xmlns:s="{SOAP}" xmlns:a="{ADDRESSING}" xmlns:x="{TRANSFER}" '
        f'xmlns:w="{WSMAN}" xmlns:rsp="{SHELL}" xmlns:p="{MS_WSMAN}">'
        f"<s:Header><a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>uuid:{new_id()}</a:MessageID>"
        f"<a:To>{ADDRESSING}/role/anonymous</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo></s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode("utf-8")


def fault_envelope(fault: Fault, relates_to: str, machine: str) -> bytes:
    """The SOAP fault body Windows sends (pywinrm maps Code 2150858793 to WinRMOperationTimeoutError)."""
    reason = escape(fault.reason)
    body = (
        f"<s:Fault><s:Code><s:Value>{fault.code}</s:Value><s:Subcode><s:Value>{fault.subcode}</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{reason}</s:Text></s:Reason>'
        f'<s:Detail><f:WSManFault xmlns:f="{FAULT_NS}" Code="{fault.wsman_code}" Machine={quoteattr(machine)}>'
        f"<f:Message>{reason}</f:Message></f:WSManFault></s:Detail></s:Fault>"
    )
    return envelope(FAULT_ACTION, relates_to, body)


# --- the faults Windows answers, one constructor each -------------------------------------------

def timed_out() -> Fault:
    return Fault(
        "w:TimedOut",
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
        2150858793,
        code="s:Receiver",
    )


def invalid_selectors(what: str) -> Fault:
    return Fault(
        "w:InvalidSelectors",
        f"The request for the Windows Remote Shell with {what} failed because the shell or command was not "
        "found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
        "exists on the server. Provide the correct ShellId or create a new shell and retry the operation.",
        2150858843,
    )


def quota_shells(limit: int) -> Fault:
    return Fault(
        "w:QuotaLimit",
        f"The WS-Management service cannot process the request. This user is allowed a maximum number of {limit} "
        "concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.",
        2150859173,
    )


def busy() -> Fault:
    return Fault("w:InternalError", "The requested resource is in use.", 170, code="s:Receiver")


def too_large(limit_kb: int) -> Fault:
    return Fault(
        "w:EncodingLimit",
        "The WS-Management service cannot process the request because the request size exceeds the "
        f"MaxEnvelopeSizekb of {limit_kb} KB configured on the service.",
        2150858817,
        status=413,
    )


def action_not_supported(action: str) -> Fault:
    return Fault(
        "a:ActionNotSupported",
        f"The action is not supported by the service: {action}",
        2150858757,
    )


def invalid_parameter(message: str) -> Fault:
    return Fault("w:InvalidParameter", message, 87)


def access_denied() -> Fault:
    return Fault("w:AccessDenied", "Access is denied.", 5)
