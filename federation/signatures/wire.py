"""What both signature schemes share: the Host as it goes on the wire, and signing bytes."""

from __future__ import annotations

from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..keys import SigningKey

__all__ = ["sign_bytes", "wire_host_and_target"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def wire_host_and_target(url: str) -> tuple[str, str]:
    """(Host header as sent on the wire, with a non-default port; request target) of a URL."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url}")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{parts.port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return host, target


def sign_bytes(key: SigningKey, data: bytes) -> bytes:
    """RSASSA-PKCS1-v1_5 with SHA-256 for RSA keys, plain Ed25519 for Ed25519 keys."""
    private = key.private_key
    if isinstance(private, rsa.RSAPrivateKey):
        return private.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return private.sign(data)
