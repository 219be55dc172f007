"""Which stand-in runs each PowerShell script hatchway-winrm ships, by the script's SHA-256.

The key is the SHA-256 (hex, of UTF-8) of ``hatchway_winrm.scripts.render(name, {})``: the script as
shipped in ``plugins/winrm/hatchway_winrm/ps/<name>.ps1``, in the form it travels (comments, blank
lines and indentation dropped), with the ``${arg} = '<base64>'`` lines ``scripts.py`` adds left out
(``servers.wsman.powershell.script_sha256`` computes it from what the server receives).

A script that changes gets a new hash, which is in no row here: the server then runs no stand-in
for it, and ``tests/winrm/test_scripts.py`` says which script changed. Review the stand-in named in
its row against the new script (same steps, exit codes and messages), then put the new hash in the
row. Never update a hash without that review: the stand-ins are all that runs these scripts in the
tests.
"""
from __future__ import annotations

from typing import Dict, NamedTuple

__all__ = ["ShippedScript", "SHIPPED"]


class ShippedScript(NamedTuple):
    #: the file under plugins/winrm/hatchway_winrm/
    script: str
    #: the name its stand-in is registered under (``@standin(name)``)
    standin: str


SHIPPED: Dict[str, ShippedScript] = {
    "056009d6bfc13a27893ddb76069c1c8d60c8e35c950465a314204885a25e105a": ShippedScript("ps/ping.ps1", "hatchway-ping"),
    "0a98346a96c96688cb78822f554e1ef83157995f909022851ef933fda09ed24e": ShippedScript("ps/upload.ps1", "hatchway-upload"),
    "2e46410345f77747249a08d56765b66ae3271f4efc0270abfd2163a57fe83ade": ShippedScript("ps/download.ps1",
                                                                                      "hatchway-download"),
    "08d190000498022e76563418190515c90b804bd9ae039848d82a377a731cf687": ShippedScript("ps/remove.ps1", "hatchway-remove"),
    "1378b16c8fccf7725def867f607809bcb00aeb69db72cc7d384cffbd1bdaf830": ShippedScript("ps/elevated.ps1",
                                                                                      "hatchway-elevated"),
    "b0cf320717a42051a539e317c7977968cd994094213210c580dbdf8b2303c40d": ShippedScript("ps/registry.ps1",
                                                                                      "hatchway-registry"),
}
