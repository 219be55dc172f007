"""The way to the machine: refused/late/unresolvable hosts, bastion, SOCKS5, tunnels, algorithms."""
from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

import pytest

from hatchway.errors import ConnectError, RetryableConnectError
from servers.sshd import TEST_USER, free_port, process_tree


def echo_through(port: int, payload: bytes = b"ping through the tunnel\n") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        received = b""
        while len(received) < len(payload):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received


# -- reaching the target ----------------------------------------------------------
def test_refused_port_is_retryable_and_names_the_target(relays, sshd, client_key):
    port = free_port()
    relay = relays(sshd, connect=False, ssh_private_key_file=str(client_key), ssh_port=port)
    with pytest.raises(RetryableConnectError) as info:
        relay.connect()
    assert f"target 127.0.0.1:{port} refused" in str(info.value)
    with pytest.raises(ConnectError) as timed_out:
        relay.wait_connected(1.0)
    assert "timed out" in str(timed_out.value) and str(port) in str(timed_out.value)


def test_unresolvable_host_names_the_host(relays, sshd, client_key):
    relay = relays(sshd, connect=False, ssh_private_key_file=str(client_key), ssh_host="bad..host")
    with pytest.raises(RetryableConnectError) as info:
        relay.connect()
    assert "cannot resolve the target host 'bad..host'" in str(info.value)


def test_server_that_starts_late(relays, fresh_sshd, client_key):
    server = fresh_sshd(start=False)
    server.port = free_port()
    relay = relays(server, connect=False, ssh_private_key_file=str(client_key))
    starter = threading.Timer(2.0, server.start)
    starter.start()
    try:
        relay.wait_connected(30)
        assert relay.run("echo up").text.strip() == "up"
    finally:
        starter.join(30)


def test_default_timeout_and_attempts(relays, sshd, client_key):
    relay = relays(sshd, connect=False, ssh_private_key_file=str(client_key), ssh_timeout=None)
    config = relay.communicator.config
    assert relay.communicator.connect_timeout() == 300 and config.handshake_attempts() == 10


# -- bastion ---------------------------------------------------------------------------
def tcp_peer_ports(pids) -> set:
    """The remote ports of the established TCP connections the processes ``pids`` hold (from /proc)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:["):
                        inodes.add(link[8:-1])
        except OSError:
            continue
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if fields[3] == "01" and fields[9] in inodes:  # 01: ESTABLISHED
                    ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


def test_bastion(relays, fresh_sshd, client_key):
    """The connection goes through the bastion: while it is up, the TCP connection to the target is held by
    the bastion's sshd, not by us (we hold one to the bastion), and the bastion's log shows the forwarded
    channel to the target."""
    bastion = fresh_sshd({"LogLevel": "DEBUG1"})
    target = fresh_sshd({"AllowTcpForwarding": "no"})
    relay = relays(target, ssh_private_key_file=str(client_key), ssh_bastion_host=bastion.host,
                   ssh_bastion_port=bastion.port, ssh_bastion_username=TEST_USER)
    assert relay.run("echo via bastion").text.strip() == "via bastion"
    ours = tcp_peer_ports([os.getpid()])
    assert bastion.port in ours and target.port not in ours
    assert target.port in tcp_peer_ports(process_tree(bastion.process.pid))
    expected = f"server_request_direct_tcpip: originator 127.0.0.1 port 0, target 127.0.0.1 port {target.port}"
    deadline = time.monotonic() + 10
    while expected not in bastion.log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, bastion.log_tail(40)
        time.sleep(0.05)
    assert f"Accepted publickey for {TEST_USER}" in bastion.log_path.read_text(errors="replace")


def test_bastion_down_names_the_bastion(relays, fresh_sshd, client_key):
    target = fresh_sshd()
    port = free_port()
    relay = relays(target, connect=False, ssh_private_key_file=str(client_key), ssh_bastion_host="127.0.0.1",
                   ssh_bastion_port=port)
    with pytest.raises(RetryableConnectError) as info:
        relay.connect()
    assert f"bastion 127.0.0.1:{port} refused" in str(info.value)


def test_bastion_cannot_reach_target_names_both(relays, fresh_sshd, client_key):
    bastion = fresh_sshd()
    target = fresh_sshd(start=False)
    target.port = free_port()
    relay = relays(target, connect=False, ssh_private_key_file=str(client_key), ssh_bastion_host=bastion.host,
                   ssh_bastion_port=bastion.port)
    with pytest.raises(RetryableConnectError) as info:
        relay.connect()
    assert f"bastion {TEST_USER}@127.0.0.1:{bastion.port}" in str(info.value)
    assert f"could not connect to the target 127.0.0.1:{target.port}" in str(info.value)


def test_bastion_with_password(relays, fresh_sshd, client_key):
    from servers.sshd import TEST_PASSWORD

    bastion = fresh_sshd({"PubkeyAuthentication": "no"}, keys=[])
    target = fresh_sshd()
    relay = relays(target, ssh_private_key_file=str(client_key), ssh_bastion_host=bastion.host,
                   ssh_bastion_port=bastion.port, ssh_bastion_password=TEST_PASSWORD,
                   ssh_bastion_private_key_file=None)
    assert relay.run("echo ok").text.strip() == "ok"


# -- SOCKS5 ----------------------------------------------------------------------------
def test_socks5_proxy_without_credentials(relays, sshd, client_key, socks_proxy):
    port = socks_proxy()
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_proxy_host="127.0.0.1", ssh_proxy_port=port)
    assert relay.run("echo via socks").text.strip() == "via socks"


def test_socks5_proxy_with_credentials(relays, sshd, client_key, socks_proxy):
    port = socks_proxy("proxyuser", "proxypass")
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_proxy_host="127.0.0.1", ssh_proxy_port=port,
                   ssh_proxy_username="proxyuser", ssh_proxy_password="proxypass")
    assert relay.run("echo authed socks").text.strip() == "authed socks"
    wrong = relays(sshd, connect=False, ssh_private_key_file=str(client_key), ssh_proxy_host="127.0.0.1",
                   ssh_proxy_port=port, ssh_proxy_username="proxyuser", ssh_proxy_password="nope")
    with pytest.raises(ConnectError) as info:
        wrong.connect()
    assert not isinstance(info.value, RetryableConnectError), "a refused proxy login must not be retried"
    assert f"SOCKS5 proxy 127.0.0.1:{port} refused our credentials" in str(info.value)
    assert "nope" not in str(info.value)


def test_socks5_proxy_down_names_the_proxy(relays, sshd, client_key):
    port = free_port()
    relay = relays(sshd, connect=False, ssh_private_key_file=str(client_key), ssh_proxy_host="127.0.0.1",
                   ssh_proxy_port=port)
    with pytest.raises(RetryableConnectError) as info:
        relay.connect()
    assert f"SOCKS5 proxy 127.0.0.1:{port}" in str(info.value)


def test_socks5_proxy_cannot_reach_target(relays, sshd, client_key, socks_proxy):
    proxy = socks_proxy()
    relay = relays(sshd, connect=False, ssh_private_key_file=str(client_key), ssh_proxy_host="127.0.0.1",
                   ssh_proxy_port=proxy, ssh_port=free_port())
    with pytest.raises(RetryableConnectError) as info:
        relay.connect()
    assert f"SOCKS5 proxy 127.0.0.1:{proxy}" in str(info.value) and "target" in str(info.value)


# -- tunnels ---------------------------------------------------------------------------
def test_local_tunnel(relays, sshd, client_key, echo_server):
    port = free_port()
    relays(sshd, ssh_private_key_file=str(client_key), ssh_local_tunnels=[f"{port}:127.0.0.1:{echo_server}"])
    assert echo_through(port) == b"ping through the tunnel\n"
    assert echo_through(port, b"x" * 300_000) == b"x" * 300_000


def test_remote_tunnel(relays, sshd, client_key, echo_server):
    port = free_port()
    relay = relays(sshd, ssh_private_key_file=str(client_key), ssh_remote_tunnels=[f"{port}:127.0.0.1:{echo_server}"])
    # the machine listens on localhost:port; a connection made there comes back to our echo server
    script = f"exec 3<>/dev/tcp/127.0.0.1/{port}; echo remote-hello >&3; head -n 1 <&3"
    result = relay.run(f"bash -c '{script}'", timeout=30)
    assert result.exit_status == 0, result.stderr
    assert result.text == "remote-hello\n"
    relay.cleanup()
    time.sleep(0.3)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_local_tunnel_port_in_use_is_a_clear_error(relays, sshd, client_key, echo_server):
    busy = socket.create_server(("127.0.0.1", 0))
    try:
        port = busy.getsockname()[1]
        relay = relays(sshd, connect=False, ssh_private_key_file=str(client_key),
                       ssh_local_tunnels=[f"{port}:127.0.0.1:{echo_server}"])
        with pytest.raises(ConnectError) as info:
            relay.connect()
        assert f"localhost:{port}" in str(info.value)
    finally:
        busy.close()


# -- algorithms ------------------------------------------------------------------------
def test_cipher_restriction(relays, fresh_sshd, client_key):
    server = fresh_sshd({"Ciphers": "aes256-ctr"})
    relay = relays(server, ssh_private_key_file=str(client_key), ssh_ciphers=["aes256-ctr"])
    assert relay.run("echo c").text.strip() == "c"
    assert relay.communicator._conn.transport.local_cipher == "aes256-ctr"
    mismatch = relays(server, connect=False, ssh_private_key_file=str(client_key), ssh_ciphers=["aes128-ctr"])
    with pytest.raises(ConnectError) as info:
        mismatch.connect()
    assert not isinstance(info.value, RetryableConnectError)
    assert "no algorithm in common" in str(info.value) and "ssh_ciphers" in str(info.value)


def test_default_cipher_prefers_aes_gcm(relays, sshd, client_key):
    relay = relays(sshd, ssh_private_key_file=str(client_key))
    assert relay.communicator._conn.transport.local_cipher == "aes128-gcm@openssh.com"


def test_kex_restriction(relays, fresh_sshd, client_key):
    server = fresh_sshd({"KexAlgorithms": "diffie-hellman-group14-sha256"})
    relay = relays(server, ssh_private_key_file=str(client_key),
                   ssh_key_exchange_algorithms=["diffie-hellman-group14-sha256"])
    assert relay.run("echo k").text.strip() == "k"
    mismatch = relays(server, connect=False, ssh_private_key_file=str(client_key),
                      ssh_key_exchange_algorithms=["ecdh-sha2-nistp256"])
    with pytest.raises(ConnectError) as info:
        mismatch.connect()
    assert "no algorithm in common" in str(info.value)


def test_unknown_cipher_name_is_a_config_error(relays, sshd, client_key):
    relay = relays(sshd, connect=False, ssh_private_key_file=str(client_key), ssh_ciphers=["rot13"])
    with pytest.raises(ConnectError) as info:
        relay.connect()
    assert "rot13" in str(info.value) and "aes128-ctr" in str(info.value)


def test_bastion_with_agent_and_known_hosts_for_both_hops(relays, fresh_sshd, client_key, ssh_agent, monkeypatch,
                                                          tmp_path):
    import subprocess

    for name, value in ssh_agent.items():
        monkeypatch.setenv(name, value)
    subprocess.run(["ssh-add", str(client_key)], check=True, capture_output=True, timeout=30)
    bastion = fresh_sshd()
    target = fresh_sshd()
    known = tmp_path / "known_hosts"
    known.write_text(bastion.known_hosts_line() + target.known_hosts_line())
    relay = relays(target, ssh_agent_auth=True, ssh_bastion_host=bastion.host, ssh_bastion_port=bastion.port,
                   ssh_bastion_agent_auth=True, ssh_known_hosts_file=str(known))
    assert relay.run("echo two hops").text.strip() == "two hops"
    # the bastion's key must be known too
    known.write_text(target.known_hosts_line())
    unknown = relays(target, connect=False, ssh_agent_auth=True, ssh_bastion_host=bastion.host,
                     ssh_bastion_port=bastion.port, ssh_bastion_agent_auth=True, ssh_known_hosts_file=str(known))
    with pytest.raises(ConnectError) as info:
        unknown.connect()
    assert f"bastion {TEST_USER}@127.0.0.1:{bastion.port}" in str(info.value)
    assert "not in ssh_known_hosts_file" in str(info.value)


def test_wrong_bastion_password_names_the_bastion(relays, fresh_sshd, client_key):
    bastion = fresh_sshd({"PubkeyAuthentication": "no"}, keys=[])
    target = fresh_sshd()
    relay = relays(target, connect=False, ssh_private_key_file=str(client_key), ssh_bastion_host=bastion.host,
                   ssh_bastion_port=bastion.port, ssh_bastion_password="bad-bastion-pw",
                   ssh_bastion_private_key_file=None, ssh_handshake_attempts=1)
    with pytest.raises(ConnectError) as info:
        relay.wait_connected(30)
    message = str(info.value)
    assert f"bastion {TEST_USER}@127.0.0.1:{bastion.port}" in message and "authentication failed" in message
    assert "bad-bastion-pw" not in message


def test_silent_server_is_a_retryable_handshake_timeout(relays, sshd, client_key):
    """Something accepts TCP but never speaks SSH (a booting machine, a stopped sshd): no hang."""
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        relay = relays(sshd, connect=False, ssh_private_key_file=str(client_key),
                       ssh_port=silent.getsockname()[1], ssh_handshake_timeout="1s")
        started = time.monotonic()
        with pytest.raises(RetryableConnectError) as info:
            relay.connect()
        assert time.monotonic() - started < 30
        assert "handshake" in str(info.value) and f"target {TEST_USER}@127.0.0.1" in str(info.value)
    finally:
        silent.close()
