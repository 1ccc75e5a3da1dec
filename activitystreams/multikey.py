"""Multikey (FEP-521a): base58btc multibase encoding of Ed25519 public keys.

A ``publicKeyMultibase`` value is ``"z"`` (multibase base58btc) followed by the base58btc
encoding of the multicodec prefix ``0xed 0x01`` (ed25519-pub) and the raw 32-byte key, so an
Ed25519 key always reads ``z6Mk...``. Pure: bytes in, text out; ``federation.keys`` turns the raw
bytes into key objects.

The base58 codec is written here (the Bitcoin alphabet, as in draft-msporny-base58) rather than
taken from PyPI: see docs/decisions.md.
"""

from __future__ import annotations

__all__ = [
    "ED25519_MULTICODEC",
    "decode_base58btc",
    "ed25519_from_multibase",
    "ed25519_multibase",
    "encode_base58btc",
]

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}
ED25519_MULTICODEC = b"\xed\x01"
_MAX_MULTIBASE = 128  # an Ed25519 multikey is 48 characters; anything much longer is junk


def encode_base58btc(data: bytes) -> str:
    """Base58 (Bitcoin alphabet); every leading zero byte becomes a leading ``1``."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(ALPHABET[rest])
    return "1" * zeros + "".join(reversed(digits))


def decode_base58btc(text: str) -> bytes:
    """The bytes of a base58 (Bitcoin alphabet) string; ValueError for any other character."""
    number = 0
    for char in text:
        value = _INDEX.get(char)
        if value is None:
            raise ValueError(f"not a base58btc character: {char!r}")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * zeros + body


def ed25519_multibase(raw: bytes) -> str:
    """The ``publicKeyMultibase`` of a raw 32-byte Ed25519 public key (``z6Mk...``)."""
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key has 32 bytes, not {len(raw)}")
    return "z" + encode_base58btc(ED25519_MULTICODEC + raw)


def ed25519_from_multibase(value: str) -> bytes:
    """The raw 32-byte Ed25519 key of a ``publicKeyMultibase``; ValueError naming the flaw."""
    if len(value) > _MAX_MULTIBASE:
        raise ValueError("publicKeyMultibase: too long")
    if not value.startswith("z"):
        raise ValueError("publicKeyMultibase: not base58btc (must start with 'z')")
    data = decode_base58btc(value[1:])
    if not data.startswith(ED25519_MULTICODEC):
        raise ValueError("publicKeyMultibase: not an Ed25519 key (multicodec 0xed01)")
    raw = data[len(ED25519_MULTICODEC) :]
    if len(raw) != 32:
        raise ValueError(f"publicKeyMultibase: Ed25519 key of {len(raw)} bytes, not 32")
    return raw
