"""The sshd manager itself: many at once (fan-out), pause/resume, restart on the same port."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from servers.sshd import start_many


def test_twenty_servers_at_once_each_reachable(relays, client_key):
    servers = start_many(20, public_keys=[Path(str(client_key) + ".pub").read_text()])
    try:
        assert len({s.port for s in servers}) == 20
        connected = [relays(server, connect=False, ssh_private_key_file=str(client_key)) for server in servers]

        def probe(pair):
            relay, server = pair
            relay.wait_connected(60)
            return relay.run(f"echo {server.port}").text.strip()

        with ThreadPoolExecutor(max_workers=10) as pool:
            answers = list(pool.map(probe, zip(connected, servers)))
        assert answers == [str(s.port) for s in servers]
    finally:
        for server in servers:
            server.close()


def test_restart_keeps_the_port_and_host_key(fresh_sshd):
    server = fresh_sshd()
    port, fingerprint = server.port, server.host_fingerprint()
    server.restart()
    assert server.port == port and server.host_fingerprint() == fingerprint
    assert server.process is not None and server.process.poll() is None
