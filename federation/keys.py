"""Key pairs for HTTP signatures: generation, cached PEM loading and the signing key type.

Loading a PEM key costs about 56 ms, so keys are loaded once and cached (never per request).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from activitystreams.multikey import ed25519_from_multibase, ed25519_multibase
from federation.errors import SignatureError

__all__ = [
    "PrivateKey",
    "PublicKey",
    "SigningKey",
    "ed25519_public_key_from_multibase",
    "generate_ed25519_keypair",
    "generate_rsa_keypair",
    "load_private_key",
    "load_public_key",
    "multibase_from_public_key",
    "multibase_to_pem",
    "pem_to_multibase",
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


def ed25519_public_key_from_multibase(value: str) -> ed25519.Ed25519PublicKey:
    """The Ed25519 key of a FEP-521a ``publicKeyMultibase`` (``z6Mk...``).

    A peer's malformed value raises SignatureError (401), naming the flaw.
    """
    try:
        return ed25519.Ed25519PublicKey.from_public_bytes(ed25519_from_multibase(value))
    except ValueError as exc:
        raise SignatureError(f"invalid Multikey: {exc}") from exc


def multibase_from_public_key(key: ed25519.Ed25519PublicKey) -> str:
    """The ``publicKeyMultibase`` of an Ed25519 public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return ed25519_multibase(raw)


@functools.lru_cache(maxsize=4096)
def multibase_to_pem(value: str) -> str:
    """A ``publicKeyMultibase`` as PEM (SubjectPublicKeyInfo), the form keys are stored in."""
    key = ed25519_public_key_from_multibase(value)
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def pem_to_multibase(pem: str) -> str:
    """The ``publicKeyMultibase`` of an Ed25519 public key given as PEM."""
    key = load_public_key(pem)
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise SignatureError("not an Ed25519 public key")
    return multibase_from_public_key(key)
