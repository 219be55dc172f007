"""Hash, bcrypt, RSA and UUID functions of go-cty-funcs."""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from typing import Any

from hatchway.template.hcl import values as V
from hatchway.template.hcl.functions.registry import Fail, function

S = V.STRING


def _hash(name: str) -> None:
    algo = getattr(hashlib, name)

    @function(name, [("str", S)], ret=S)
    def impl(ctx: Any, s: str) -> str:
        return algo(s.encode("utf-8")).hexdigest()


for _name in ("md5", "sha1", "sha256", "sha512"):
    _hash(_name)


@function("bcrypt", [("str", S)], var=("cost", V.NUMBER), ret=S)
def bcrypt_(ctx: Any, s: str, *cost: Any) -> str:
    import bcrypt  # imported on use

    if len(cost) > 1:
        raise Fail("bcrypt() takes no more than two arguments")
    rounds = 10
    if cost:
        if isinstance(cost[0], float) and cost[0] != int(cost[0]):
            raise Fail("value must be a whole number")
        rounds = int(cost[0])
    if rounds < 4:   # golang.org/x/crypto/bcrypt: below MinCost means DefaultCost
        rounds = 10
    if rounds > 31:
        raise Fail(f"error occured generating password crypto/bcrypt: cost {rounds} is outside allowed range (4,31)")
    data = s.encode("utf-8")
    if len(data) > 72:
        raise Fail("error occured generating password bcrypt: password length exceeds 72 bytes")
    return bcrypt.hashpw(data, bcrypt.gensalt(rounds=rounds, prefix=b"2a")).decode("ascii")


@function("rsadecrypt", [("ciphertext", S), ("privatekey", S)], ret=S)
def rsadecrypt(ctx: Any, ciphertext: str, key: str) -> str:
    try:
        data = base64.b64decode(ciphertext, validate=True)
    except (ValueError, binascii.Error):
        raise Fail(f"failed to decode input {V._go_quote(ciphertext)}: cipher text must be base64-encoded") from None
    if "-----BEGIN" not in key:
        raise Fail("failed to parse key: no key found")
    header = key[key.index("-----BEGIN"):].split("\n\n", 1)[0]
    if "Proc-Type: 4,ENCRYPTED" in header:
        raise Fail("failed to parse key: password protected keys are not supported. "
                   "Please decrypt the key prior to use")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    if "BEGIN RSA PRIVATE KEY" not in key:
        raise Fail("x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)")
    try:
        private = serialization.load_pem_private_key(key.encode("utf-8"), password=None)
    except (ValueError, TypeError) as e:
        raise Fail(f"x509: failed to parse private key: {e}") from None
    if not isinstance(private, rsa.RSAPrivateKey):
        raise Fail("x509: failed to parse private key")
    try:
        out = private.decrypt(data, padding.PKCS1v15())
    except ValueError:
        raise Fail("crypto/rsa: decryption error") from None
    return out.decode("utf-8", "replace")


@function("uuidv4", [], ret=S)
def uuidv4(ctx: Any) -> str:
    return str(uuid.uuid4())


_NAMESPACES = {"dns": uuid.NAMESPACE_DNS, "url": uuid.NAMESPACE_URL, "oid": uuid.NAMESPACE_OID,
               "x500": uuid.NAMESPACE_X500}


@function("uuidv5", [("namespace", S), ("name", S)], ret=S)
def uuidv5(ctx: Any, namespace: str, name: str) -> str:
    ns = _NAMESPACES.get(namespace)
    if ns is None:
        text = namespace
        if text.lower().startswith("urn:uuid:"):
            text = text[9:]
        elif text.startswith("{") and text.endswith("}"):
            text = text[1:-1]
        try:
            if len(text) not in (32, 36):
                raise ValueError
            ns = uuid.UUID(text)
        except ValueError:
            reason = f"invalid UUID length: {len(namespace)}" if len(text) not in (32, 36) else "invalid UUID format"
            raise Fail(f"uuidv5() doesn't support namespace {namespace} ({reason})") from None
    return str(uuid.uuid5(ns, name))
