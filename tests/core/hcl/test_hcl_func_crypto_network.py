"""Hash, bcrypt, RSA, UUID and CIDR functions, against Packer's function documentation."""

from __future__ import annotations

import base64
import re

import bcrypt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hatchway.template.hcl.functions import FunctionError, call


def f(name, *args):
    return call(name, list(args))


def error(name, *args):
    with pytest.raises(FunctionError) as info:
        call(name, list(args))
    return str(info.value)


@pytest.mark.parametrize("name, result", [
    ("md5", "5eb63bbbe01eeed093cb22bb8f5acdc3"),
    ("sha1", "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"),
    ("sha256", "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"),
    ("sha512", "309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f"
               "989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f"),
])
def test_hashes(name, result):
    assert f(name, "hello world") == result


def test_bcrypt_hashes_with_go_prefix_and_cost():
    hashed = f("bcrypt", "hello world")
    assert hashed.startswith("$2a$10$")
    assert bcrypt.checkpw(b"hello world", hashed.encode())
    assert f("bcrypt", "x", 4).startswith("$2a$04$")
    assert f("bcrypt", "x", 3).startswith("$2a$10$")    # below the minimum: Go's default cost
    assert error("bcrypt", "x", 32) == (
        'Call to function "bcrypt" failed: error occured generating password crypto/bcrypt: '
        'cost 32 is outside allowed range (4,31).')
    assert error("bcrypt", "x", 4, 5) == 'Call to function "bcrypt" failed: bcrypt() takes no more than two arguments.'


def test_rsadecrypt():
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption()).decode()
    ciphertext = base64.b64encode(key.public_key().encrypt(b"secret text", padding.PKCS1v15())).decode()
    assert f("rsadecrypt", ciphertext, pem) == "secret text"
    assert error("rsadecrypt", "not base64!", pem) == (
        'Call to function "rsadecrypt" failed: failed to decode input "not base64!": cipher text must be base64-encoded.')
    assert error("rsadecrypt", ciphertext, "no key") == 'Call to function "rsadecrypt" failed: failed to parse key: no key found.'


def test_uuids():
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", f("uuidv4"))
    assert f("uuidv4") != f("uuidv4")
    assert f("uuidv5", "dns", "www.terraform.io") == "a5008fae-b28c-5ba5-96cd-82b4c53552d6"
    assert f("uuidv5", "url", "https://www.terraform.io/") == "9db6f67c-dd95-5ea0-aa5b-e70e5c5f7cf5"
    assert f("uuidv5", "oid", "1.3.6.1.4") == "af9d40a5-7a36-5c07-b23a-851cd99fbfa5"
    assert f("uuidv5", "x500", "CN=Example,C=GB") == "84e09961-4aa4-57f8-95b7-03edb1073253"
    assert f("uuidv5", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.terraform.io") == \
        "a5008fae-b28c-5ba5-96cd-82b4c53552d6"
    assert error("uuidv5", "nope", "x") == (
        'Call to function "uuidv5" failed: uuidv5() doesn\'t support namespace nope (invalid UUID length: 4).')


@pytest.mark.parametrize("name, args, result", [
    ("cidrhost", ["10.12.112.0/20", 16], "10.12.112.16"),
    ("cidrhost", ["10.12.112.0/20", 268], "10.12.113.12"),
    ("cidrhost", ["10.12.112.0/20", -1], "10.12.127.255"),
    ("cidrhost", ["fd00:fd12:3456:7890:00a2::/72", 34], "fd00:fd12:3456:7890::22"),
    ("cidrnetmask", ["172.16.0.0/12"], "255.240.0.0"),
    ("cidrnetmask", ["10.0.0.0/8"], "255.0.0.0"),
    ("cidrsubnet", ["172.16.0.0/12", 4, 2], "172.18.0.0/16"),
    ("cidrsubnet", ["10.1.2.0/24", 4, 15], "10.1.2.240/28"),
    ("cidrsubnet", ["fd00:fd12:3456:7890::/56", 16, 162], "fd00:fd12:3456:7800:a200::/72"),
    ("cidrsubnets", ["10.1.0.0/16", 4, 4, 8, 4], ["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/24", "10.1.48.0/20"]),
    ("cidrsubnets", ["fd00:fd12:3456:7890::/56", 16, 16, 16, 32], [
        "fd00:fd12:3456:7800::/72", "fd00:fd12:3456:7800:100::/72",
        "fd00:fd12:3456:7800:200::/72", "fd00:fd12:3456:7800:300::/88"]),
    ("cidrsubnets", ["10.0.0.0/8", 8, 8, 8, 8], ["10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"]),
    ("cidrsubnets", ["10.1.0.0/16", 4, 4], ["10.1.0.0/20", "10.1.16.0/20"]),
    ("cidrsubnets", ["10.1.0.0/16"], []),
])
def test_cidr_functions(name, args, result):
    assert f(name, *args) == result


@pytest.mark.parametrize("name, args, message", [
    ("cidrhost", ["10.0.0.0/30", 4], 'Call to function "cidrhost" failed: prefix of 30 does not accommodate a host numbered 4.'),
    ("cidrhost", ["nope", 1], 'Call to function "cidrhost" failed: invalid CIDR expression: invalid CIDR address: nope.'),
    ("cidrsubnet", ["10.0.0.0/30", 4, 0], 'Call to function "cidrsubnet" failed: insufficient address space to extend prefix of 30 by 4.'),
    ("cidrsubnet", ["10.0.0.0/8", 2, 4], 'Call to function "cidrsubnet" failed: prefix extension of 2 does not accommodate a subnet numbered 4.'),
    ("cidrsubnets", ["10.0.0.0/30", 0], 'Invalid value for "newbits" parameter: must extend prefix by at least one bit.'),
    ("cidrsubnets", ["10.0.0.0/30", 3], 'Invalid value for "newbits" parameter: would extend prefix to 33 bits, which is too long for an IPv4 address.'),
    ("cidrsubnets", ["10.0.0.0/30", 1, 1, 1], 'Invalid value for "newbits" parameter: not enough remaining address space for a subnet with a prefix of 31 bits after 10.0.0.2/31.'),
])
def test_cidr_errors(name, args, message):
    assert error(name, *args) == message
