"""A self-signed certificate for 127.0.0.1 and an https instrument server process, for the TLS tests."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import pathlib
from collections.abc import Iterator

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .conftest import ServerProcess, free_port, rig_dict


def self_signed(directory: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """``(certificate, key)`` PEM files of a certificate for 127.0.0.1 and localhost, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bigmap-al test rig")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "rig-cert.pem", directory / "rig-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextlib.contextmanager
def https_server(directory: pathlib.Path) -> Iterator[tuple[ServerProcess, pathlib.Path]]:
    """``bigmap-al instrument serve`` of the conductivity rig with ``tls_certfile``/``tls_keyfile``; and the cert."""
    cert, key = self_signed(directory)
    raw = rig_dict("conductivity", directory / "data")
    raw.update(tls_certfile=str(cert), tls_keyfile=str(key))
    config = directory / "rig.yaml"
    config.write_text(yaml.safe_dump(raw))
    server = ServerProcess(config, free_port(), directory / "server.log", ca=cert).wait_ready()
    try:
        yield server, cert
    finally:
        server.terminate()
