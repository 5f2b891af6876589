"""IETF Token Status List (draft-ietf-oauth-status-list): the compressed list and its JWT.

A list holds one status of ``bits`` (1 or 2) bits per index: index ``i`` is at byte
``i * bits // 8``, starting at bit ``i * bits % 8`` counted from the least significant bit. The
bytes are DEFLATE-compressed with the zlib container and base64url-encoded (``lst``). Status
values: 0 valid, 1 invalid (revoked), 2 suspended.

:func:`status_list_token_claims` is the payload of the ``statuslist+jwt`` token a Referenced
Token's ``status.status_list.uri`` names; the caller signs it (:mod:`app.crypto.jws`).

Pure: no database, no web framework.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.crypto.jws import JwsError, b64url_decode, b64url_encode

VALID, INVALID, SUSPENDED = 0, 1, 2
TOKEN_TYPE = "statuslist+jwt"
MEDIA_TYPE = "application/statuslist+jwt"
#: A decompressed list larger than this is refused (a zip bomb guard): 2**24 entries of 2 bits.
MAX_LIST_BYTES = 4 * 1024 * 1024


class TokenStatusError(ValueError):
    """A status list (or reference) that is malformed."""


@dataclass(frozen=True)
class TokenStatusList:
    bits: int
    data: bytes

    def __post_init__(self) -> None:
        if self.bits not in (1, 2, 4, 8):
            raise TokenStatusError("bits is 1, 2, 4 or 8")

    @property
    def size(self) -> int:
        return len(self.data) * 8 // self.bits

    @classmethod
    def with_values(cls, values: Mapping[int, int], *, size: int, bits: int) -> TokenStatusList:
        """A list of ``size`` entries, all 0 but ``values`` (index → status)."""
        data = bytearray((size * bits + 7) // 8)
        for index, value in values.items():
            if not 0 <= index < size:
                raise TokenStatusError(f"index {index} is outside a list of {size}")
            if not 0 <= value < (1 << bits):
                raise TokenStatusError(f"status {value} does not fit in {bits} bits")
            position = index * bits
            data[position // 8] |= value << (position % 8)
        return cls(bits, bytes(data))

    def get(self, index: int) -> int:
        if not 0 <= index < self.size:
            raise TokenStatusError(f"index {index} is outside the list ({self.size} entries)")
        position = index * self.bits
        return (self.data[position // 8] >> (position % 8)) & ((1 << self.bits) - 1)

    def encode(self) -> dict[str, Any]:
        """The ``status_list`` claim: ``{bits, lst}``."""
        compressed = zlib.compress(self.data, level=9)
        return {"bits": self.bits, "lst": b64url_encode(compressed)}

    @classmethod
    def decode(cls, claim: Any) -> TokenStatusList:
        if not isinstance(claim, Mapping):
            raise TokenStatusError("status_list is an object")
        bits, lst = claim.get("bits"), claim.get("lst")
        if not isinstance(bits, int) or isinstance(bits, bool) or not isinstance(lst, str):
            raise TokenStatusError("status_list has an integer bits and a string lst")
        try:
            compressed = b64url_decode(lst)
            inflater = zlib.decompressobj()
            data = inflater.decompress(compressed, MAX_LIST_BYTES)
        except (JwsError, zlib.error) as exc:
            raise TokenStatusError(f"lst is not base64url zlib data: {exc}") from exc
        if inflater.unconsumed_tail:
            raise TokenStatusError(f"the list is larger than {MAX_LIST_BYTES} bytes")
        if not inflater.eof:
            raise TokenStatusError("lst is truncated zlib data")
        return cls(bits, data)


def reference(uri: str, index: int) -> dict[str, Any]:
    """The ``status`` claim of a Referenced Token."""
    return {"status_list": {"idx": index, "uri": uri}}


def parse_reference(status: Any) -> tuple[str, int]:
    """The list URI and index of a Referenced Token's ``status`` claim."""
    entry = status.get("status_list") if isinstance(status, Mapping) else None
    if not isinstance(entry, Mapping):
        raise TokenStatusError("status has no status_list object")
    uri, index = entry.get("uri"), entry.get("idx")
    if not isinstance(uri, str) or not isinstance(index, int) or isinstance(index, bool):
        raise TokenStatusError("status_list has a string uri and an integer idx")
    if index < 0:
        raise TokenStatusError("idx is not negative")
    return uri, index


def status_list_token_claims(
    uri: str,
    status_list: TokenStatusList,
    *,
    issuer: str,
    issued_at: datetime,
    expires_at: datetime,
    ttl: timedelta,
) -> dict[str, Any]:
    """The payload of the Status List Token at ``uri`` (``sub`` is that URI)."""
    return {
        "iss": issuer,
        "sub": uri,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
        "ttl": int(ttl.total_seconds()),
        "status_list": status_list.encode(),
    }
