"""A WS-Management (WinRM, WinRS cmd shell) server on loopback for testing against real pywinrm.

See ``server.WSManServer``. Commands run with ``/bin/sh -c``; ``powershell -EncodedCommand``
scripts are syntax-checked with tree-sitter-powershell and run by Python stand-ins
(``standins/``). Plain Python: no pytest here.
"""
from .server import Stats, WSManServer

__all__ = ["WSManServer", "Stats"]
