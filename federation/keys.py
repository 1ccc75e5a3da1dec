"""Key pairs for HTTP signatures: generation, cached PEM loading and the signing key type.

Loading a PEM key costs about 56 ms, so keys are loaded once and cached (never per request).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from federation.errors import SignatureError

__all__ = [
    "PrivateKey",
    "PublicKey",
    "SigningKey",
    "generate_ed25519_keypair",
    "generate_rsa_keypair",
    "load_private_key",
    "load_public_key",
]

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey


def _private_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _public_pem(key: PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def generate_rsa_keypair(bits: int = 2048) -> tuple[str, str]:
    """Return a new RSA key pair as (private PEM PKCS#8, public PEM SubjectPublicKeyInfo)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _private_pem(key), _public_pem(key)


def generate_ed25519_keypair() -> tuple[str, str]:
    """Return a new Ed25519 key pair as (private PEM PKCS#8, public PEM SubjectPublicKeyInfo)."""
    key = ed25519.Ed25519PrivateKey.generate()
    return _private_pem(key), _public_pem(key)


@functools.lru_cache(maxsize=256)
def load_private_key(pem: str) -> PrivateKey:
    """Load an unencrypted RSA or Ed25519 private key from PEM (cached).

    Raises ValueError for anything else: private keys are local configuration, not peer input.
    """
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError(f"unsupported private key type: {type(key).__name__}")
    return key


@functools.lru_cache(maxsize=4096)
def load_public_key(pem: str) -> PublicKey:
    """Load an RSA or Ed25519 public key from PEM (SubjectPublicKeyInfo or PKCS#1; cached).

    A peer's unreadable or unsupported key raises SignatureError (401).
    """
    try:
        key = serialization.load_pem_public_key(pem.strip().encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise SignatureError("invalid public key PEM") from exc
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise SignatureError(f"unsupported public key type: {type(key).__name__}")
    return key


@dataclass(frozen=True)
class SigningKey:
    """A private key and the keyId under which peers find its public half."""

    key_id: str
    private_key: PrivateKey

    @classmethod
    def from_pem(cls, key_id: str, pem: str) -> SigningKey:
        """Build a signing key from a PEM private key (the parsed key is cached)."""
        return cls(key_id=key_id, private_key=load_private_key(pem))
