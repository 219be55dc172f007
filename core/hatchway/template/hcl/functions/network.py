"""CIDR functions of go-cty-funcs (Go's net.ParseCIDR and apparentlymart/go-cidr)."""

from __future__ import annotations

import ipaddress
from typing import Any, List, Tuple

from hatchway.template.hcl import values as V
from hatchway.template.hcl.functions.registry import ArgError, Fail, function

S, N = V.STRING, V.NUMBER


def _parse_cidr(prefix: str) -> Tuple[int, int, int]:
    """(network address as int, prefix length, address bits) or ValueError worded as Go's."""
    if "/" not in prefix:
        raise ValueError(f"invalid CIDR address: {prefix}")
    addr, _, plen = prefix.partition("/")
    try:
        ip = ipaddress.ip_address(addr)
        if not plen.isdigit() or (len(plen) > 1 and plen[0] == "0"):
            raise ValueError
        length = int(plen)
        bits = ip.max_prefixlen
        if length > bits:
            raise ValueError
    except ValueError:
        raise ValueError(f"invalid CIDR address: {prefix}") from None
    mask = ((1 << bits) - 1) ^ ((1 << (bits - length)) - 1)
    return int(ip) & mask, length, bits


def _ip(num: int, bits: int) -> str:
    return str(ipaddress.IPv4Address(num) if bits == 32 else ipaddress.IPv6Address(num))


def _cidr(prefix: str) -> Tuple[int, int, int]:
    try:
        return _parse_cidr(prefix)
    except ValueError as e:
        raise Fail(f"invalid CIDR expression: {e}") from None


def _whole(n: Any) -> int:
    if isinstance(n, float) and n != int(n):
        raise Fail("value must be a whole number")
    return int(n)


@function("cidrhost", [("prefix", S), ("hostnum", N)], ret=S)
def cidrhost(ctx: Any, prefix: str, hostnum: Any) -> str:
    num = _whole(hostnum)
    net, length, bits = _cidr(prefix)
    host_len = bits - length
    max_host = (1 << host_len) - 1
    if num < 0:
        magnitude = -num - 1
        value = max_host - magnitude
    else:
        magnitude = num
        value = num
    if magnitude > max_host:
        raise Fail(f"prefix of {length} does not accommodate a host numbered {num}")
    return _ip(net | value, bits)


@function("cidrnetmask", [("prefix", S)], ret=S)
def cidrnetmask(ctx: Any, prefix: str) -> str:
    _, length, bits = _cidr(prefix)
    mask = ((1 << bits) - 1) ^ ((1 << (bits - length)) - 1)
    return _ip(mask, bits)


@function("cidrsubnet", [("prefix", S), ("newbits", N), ("netnum", N)], ret=S)
def cidrsubnet(ctx: Any, prefix: str, newbits: Any, netnum: Any) -> str:
    nb, num = _whole(newbits), _whole(netnum)
    net, length, bits = _cidr(prefix)
    if nb > 32:
        raise Fail("may not extend prefix by more than 32 bits")
    new_len = length + nb
    if new_len > bits:
        raise Fail(f"insufficient address space to extend prefix of {length} by {nb}")
    if num < 0 or num > (1 << nb) - 1:
        raise Fail(f"prefix extension of {nb} does not accommodate a subnet numbered {num}")
    return f"{_ip(net | (num << (bits - new_len)), bits)}/{new_len}"


def _mask(length: int, bits: int) -> int:
    return ((1 << bits) - 1) ^ ((1 << (bits - length)) - 1)


@function("cidrsubnets", [("prefix", S)], var=("newbits", N), ret=V.List(S))
def cidrsubnets(ctx: Any, prefix: str, *newbits: Any) -> List[str]:
    try:
        net, start_len, bits = _parse_cidr(prefix)
    except ValueError as e:
        raise ArgError(0, f"invalid CIDR expression: {e}") from None
    if not newbits:
        return []
    full = (1 << bits) - 1
    first = _whole(newbits[0]) + start_len
    # go-cidr PreviousSubnet(network, first)
    cur_ip = ((net - 1) & full) & _mask(first, bits) if first <= bits else 0
    cur_len = first
    out: List[str] = []
    for i, nb in enumerate(newbits):
        if isinstance(nb, float) and nb != int(nb):
            raise ArgError(i + 1, "value must be a whole number")
        n = int(nb)
        if n < 1:
            raise ArgError(i + 1, "must extend prefix by at least one bit")
        if n > 32:
            raise ArgError(i + 1, "may not extend prefix by more than 32 bits")
        length = n + start_len
        if length > bits:
            proto = "IPv4" if bits == 32 else "IPv6"
            raise ArgError(i + 1, f"would extend prefix to {length} bits, which is too long for an {proto} address")
        # go-cidr NextSubnet(current, length)
        cur_last = cur_ip | (full ^ _mask(cur_len, bits))
        m = _mask(length, bits)
        containing = cur_last & m
        last = containing | (full ^ m)
        nxt = (last + 1) & full
        rollover = nxt == 0
        nxt &= m
        if rollover or (nxt & _mask(start_len, bits)) != net:
            raise ArgError(i + 1, f"not enough remaining address space for a subnet with a prefix of "
                                  f"{length} bits after {_ip(cur_ip, bits)}/{cur_len}")
        cur_ip, cur_len = nxt, length
        out.append(f"{_ip(cur_ip, bits)}/{cur_len}")
    return out
