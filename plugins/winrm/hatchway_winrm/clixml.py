"""PowerShell's CLIXML error records (``#< CLIXML`` on stderr) as plain text."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

__all__ = ["clean"]

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def clean(data: bytes) -> str:
    """Decode stderr; if it is CLIXML, keep only the error text (the ``S="Error"`` strings)."""
    text = data.decode("utf-8", "replace")
    marker = "#< CLIXML"
    if marker not in text:
        return text
    head, _, rest = text.partition(marker)
    messages = []
    for block in re.findall(r"<Objs.*?</Objs>", rest, flags=re.S):
        try:
            root = ET.fromstring(block)
        except ET.ParseError:
            return text
        for node in root.iter():
            if node.tag.endswith("}S") and node.get("S") == "Error" and node.text:
                messages.append(_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), node.text))
    return head + "".join(messages).strip() + "\n" if messages else text
