"""What the shared tier stores: each card as an object that names it, carries its digest, and may be signed.

An object is the line ``social-cards-object/1``, a line of JSON (the card's key,
length and xxh3_128 digest, and an HMAC-SHA256 of ``key:digest`` when the run has a
secret), then the card's bytes. Cards live under ``cards-v1/ab/<key>``; a machine
drawing a card says so under ``claims-v1/ab/<key>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

import xxhash

__all__ = [
    "CLAIM_PREFIX", "OBJECT_PREFIX", "RemoteObject", "claim_path", "decode_object", "encode_object", "object_path",
]  # fmt: skip

OBJECT_PREFIX = "cards-v1"
CLAIM_PREFIX = "claims-v1"
_MAGIC = b"social-cards-object/1\n"


@dataclass(frozen=True, slots=True)
class RemoteObject:
    """What an object on the tier says of itself."""

    key: str
    length: int
    digest: str
    signature: str


def object_path(key: str) -> str:
    """Where a card's object lives under the tier's prefix: two hex digits, then the key."""
    return f"{OBJECT_PREFIX}/{key[:2]}/{key}"


def claim_path(key: str) -> str:
    """Where a machine says it is drawing a card, so that the others wait for it instead of drawing it too."""
    return f"{CLAIM_PREFIX}/{key[:2]}/{key}"


def _signature(secret: bytes, key: str, digest: str) -> str:
    return hmac.new(secret, f"{key}:{digest}".encode(), hashlib.sha256).hexdigest()


def encode_object(key: str, data: bytes, secret: bytes | None) -> bytes:
    """The object stored for a card: a header line of JSON, then its bytes."""
    digest = xxhash.xxh3_128_hexdigest(data)
    header: dict[str, object] = {"key": key, "length": len(data), "digest": digest}
    if secret:
        header["hmac"] = _signature(secret, key, digest)
    return _MAGIC + json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n" + data


def decode_object(key: str, blob: bytes, secret: bytes | None) -> bytes | None:
    """The card in ``blob`` if it is the card ``key`` names, whole, and (with a secret) signed with it; else None."""
    if not blob.startswith(_MAGIC):
        return None
    end = blob.find(b"\n", len(_MAGIC))
    if end < 0 or end - len(_MAGIC) > 1024:
        return None
    try:
        header = json.loads(blob[len(_MAGIC) : end])
        found = RemoteObject(
            str(header["key"]), int(header["length"]), str(header["digest"]), str(header.get("hmac", ""))
        )
    except (ValueError, KeyError, TypeError):
        return None
    data = blob[end + 1 :]
    if found.key != key or found.length != len(data) or xxhash.xxh3_128_hexdigest(data) != found.digest:
        return None
    if secret and not hmac.compare_digest(found.signature, _signature(secret, key, found.digest)):
        return None
    return data
