"""Shared test helpers: keys and raw signing over a given signing string."""

from __future__ import annotations

import base64
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from federation.keys import SigningKey

__all__ = ["raw_sign", "with_signature"]


def raw_sign(key: SigningKey, text: str, *, sha1: bool = False) -> str:
    """Sign a signing string directly (base64), as a peer would."""
    private = key.private_key
    data = text.encode("utf-8")
    if isinstance(private, rsa.RSAPrivateKey):
        algorithm = hashes.SHA1() if sha1 else hashes.SHA256()
        return base64.b64encode(private.sign(data, padding.PKCS1v15(), algorithm)).decode()
    return base64.b64encode(private.sign(data)).decode()


def with_signature(header: str, signature: str) -> str:
    """Replace the ``signature="<placeholder>"`` of a case's Signature header."""
    return re.sub(r'signature="[^"]*"', f'signature="{signature}"', header)
