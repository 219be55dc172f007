"""Run the test server by hand: ``cd tests && python -m servers.wsman --https --user vagrant:vagrant``."""
from __future__ import annotations

import argparse
import signal
import threading

from .server import AUTH_SCHEMES, WSManServer


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m servers.wsman", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--https", action="store_true", help="TLS with a generated self-signed certificate")
    parser.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD", help="repeatable")
    parser.add_argument("--auth", default="basic,ntlm", help=f"comma-separated, from {', '.join(AUTH_SCHEMES)}")
    parser.add_argument("--max-envelope-kb", type=int, default=500)
    parser.add_argument("--no-unencrypted", action="store_true", help="refuse unencrypted HTTP like AllowUnencrypted=false")
    options = parser.parse_args()
    users = dict(entry.split(":", 1) for entry in options.user) or {"vagrant": "vagrant"}
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with WSManServer(users=users, auth=tuple(options.auth.split(",")), https=options.https,
                     allow_unencrypted=not options.no_unencrypted, max_envelope_kb=options.max_envelope_kb,
                     host=options.host, port=options.port) as server:
        print(f"listening on {server.endpoint}" + (f" (CA: {server.cert_path})" if server.cert_path else ""), flush=True)
        try:
            done.wait()
        except KeyboardInterrupt:
            pass
        print(server.stats.snapshot(), flush=True)


if __name__ == "__main__":
    main()
