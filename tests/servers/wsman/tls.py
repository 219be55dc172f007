"""Certificates for the HTTPS listener: a self-signed server certificate that is its own CA (clients
trust ``cert_path``), and client certificates it signs for certificate authentication."""
from __future__ import annotations

import datetime
import ipaddress
import os
from typing import Tuple


class CertificateAuthority:
    """The server's certificate and key (``cert_path``, ``key_path``, ``der``) in ``directory``."""

    def __init__(self, directory: str, host: str) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        self._directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hatchway wsman test server")])
        alt_names = [x509.DNSName("localhost")]
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
        builder = (
            self._builder(self._name, self._key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(self._key_usage(ca=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        )
        self._cert = self._sign(builder)
        self.cert_path, self.key_path = self._write("cert", self._cert, self._key)
        from cryptography.hazmat.primitives import serialization

        self.der = self._cert.public_bytes(serialization.Encoding.DER)

    def issue_client(self, user: str) -> Tuple[str, str]:
        """A client certificate for ``user`` (CN and UPN ``user@localhost``), signed by this CA."""
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

        key = ec.generate_private_key(ec.SECP256R1())
        upn_oid = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
        upn = f"{user}@localhost".encode("utf-8")
        der_utf8 = b"\x0c" + bytes([len(upn)]) + upn  # DER UTF8String (short names only)
        builder = (
            self._builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user)]), key.public_key(), self._name)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(self._key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.OtherName(upn_oid, der_utf8)]), critical=False)
        )
        safe = "".join(c if c.isalnum() else "_" for c in user)
        return self._write(f"client-{safe}", self._sign(builder), key)

    # --- helpers -----------------------------------------------------------------------------------
    def _builder(self, subject, public_key, issuer=None):
        from cryptography import x509

        now = datetime.datetime.now(datetime.timezone.utc)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer or subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
        )

    @staticmethod
    def _key_usage(ca: bool):
        from cryptography import x509

        return x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False,
        )

    def _sign(self, builder):
        from cryptography.hazmat.primitives import hashes

        return builder.sign(self._key, hashes.SHA256())

    def _write(self, stem: str, cert, key) -> Tuple[str, str]:
        from cryptography.hazmat.primitives import serialization

        cert_path = os.path.join(self._directory, f"{stem}.pem")
        key_path = os.path.join(self._directory, f"{stem}-key.pem")
        with open(cert_path, "wb") as fh:
            fh.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as fh:
            fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
        os.chmod(key_path, 0o600)
        return cert_path, key_path
