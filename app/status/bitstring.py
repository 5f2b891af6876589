"""Bitstring Status List v1.0: the bitstring, its encoding, entries and list credentials.

https://www.w3.org/TR/vc-bitstring-status-list/ — ``encodedList`` is multibase ``u`` +
base64url (no padding) of the GZIP-compressed bitstring; index 0 is the most significant bit of
the first byte; a list holds at least 131,072 entries (16 KiB). Only ``statusSize`` 1 is supported
(the specification lets conforming processors choose that).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from app.datetimes import format_datetime
from app.jsonld.values import as_list
from app.problems import MALFORMED_VALUE_ERROR, RANGE_ERROR

#: https://www.w3.org/TR/vc-bitstring-status-list/#processing-errors — the ``type`` of an RFC 9457
#: error object "MUST be a URL that starts with the value
#: https://www.w3.org/ns/credentials/status-list# and ends with the value in the section".
STATUS_LIST_PROBLEMS = "https://www.w3.org/ns/credentials/status-list#"
STATUS_RETRIEVAL_ERROR = STATUS_LIST_PROBLEMS + "STATUS_RETRIEVAL_ERROR"
STATUS_VERIFICATION_ERROR = STATUS_LIST_PROBLEMS + "STATUS_VERIFICATION_ERROR"
STATUS_LIST_LENGTH_ERROR = STATUS_LIST_PROBLEMS + "STATUS_LIST_LENGTH_ERROR"
#: The algorithms also raise two types defined by VC Data Model 2.0 §7.2 Problem Details
#: (https://www.w3.org/TR/vc-data-model-2.0/#problem-details): MALFORMED_VALUE_ERROR for a value
#: that breaks a MUST of the data model, RANGE_ERROR for an index outside the bitstring
#: (both in the one catalogue, :mod:`app.problems`).

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"
MULTIBASE_BASE64URL = "u"

#: The specification's minimum list length: 131,072 entries of one bit = 16 KiB.
MIN_BITS = 131_072
#: Largest decompressed list accepted by default (2 MiB = 16,777,216 entries); a zip-bomb guard.
DEFAULT_MAX_BYTES = 2 * 1024 * 1024

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)
_DECIMAL = re.compile(r"[0-9]+", re.ASCII)


class StatusListError(Exception):
    """A status list or status entry could not be used; ``type`` is the problem type URL."""

    type: ClassVar[str] = STATUS_VERIFICATION_ERROR
    title: ClassVar[str] = "Status verification error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class StatusVerificationError(StatusListError):
    """The entry does not match the list (purpose, list URL, type, unsupported statusSize)."""


class StatusRetrievalError(StatusListError):
    """The status list could not be obtained (fetch failed, or it is bigger than we accept)."""

    type = STATUS_RETRIEVAL_ERROR
    title = "Status retrieval error"


class StatusListTooLargeError(StatusRetrievalError):
    """The list decompresses (or would) to more than the configured cap: not expanded further.

    The specification defines no type for this; we report it as a retrieval failure because the
    list is refused before it is available, not because it breaks the data model.
    """

    title = "Status list too large"


class StatusListLengthError(StatusListError):
    """The list is shorter than the minimum number of entries (herd privacy)."""

    type = STATUS_LIST_LENGTH_ERROR
    title = "Status list length error"


class StatusRangeError(StatusListError, IndexError):
    """An index outside the bitstring."""

    type = RANGE_ERROR
    title = "Range error"


class MalformedStatusError(StatusListError):
    """A value that breaks a MUST of the Bitstring Status List data model."""

    type = MALFORMED_VALUE_ERROR
    title = "Malformed value"


class MultibasePrefixError(MalformedStatusError):
    """``encodedList`` is not a string starting with the multibase base64url prefix ``u``."""


class Base64UrlError(MalformedStatusError):
    """``encodedList`` after its prefix is not unpadded base64url."""


class GzipError(MalformedStatusError):
    """The decoded bytes are not a complete GZIP stream."""


class MalformedStatusEntryError(MalformedStatusError):
    """A ``BitstringStatusListEntry`` or list credential with a missing or ill-typed property."""


def _require_int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("status list indexes and sizes are ints")
    return value


def gunzip_limited(data: bytes, max_bytes: int) -> bytes:
    """GZIP-decompress ``data`` (all members) without ever holding more than ``max_bytes + 1``.

    Decompression runs incrementally with an output cap, so a small stream that inflates to
    gigabytes is refused after ``max_bytes`` instead of exhausting memory.
    """
    if not data:
        raise GzipError("the status list is empty after base64url decoding")
    out = bytearray()
    remaining = data
    try:
        while remaining:
            member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            pending = remaining
            while not member.eof:
                chunk = member.decompress(pending, max_bytes + 1 - len(out))
                out += chunk
                if len(out) > max_bytes:
                    raise StatusListTooLargeError(
                        f"the status list decompresses to more than {max_bytes} bytes"
                    )
                pending = member.unconsumed_tail
                if not chunk and not pending:
                    raise GzipError("the GZIP stream is truncated")
            remaining = member.unused_data
    except zlib.error as exc:
        raise GzipError(f"not a valid GZIP stream ({exc})") from exc
    return bytes(out)


class Bitstring:
    """A fixed-length string of bits over a bytearray; bit 0 is the MSB of the first byte."""

    __slots__ = ("_data",)

    def __init__(self, size: int = MIN_BITS) -> None:
        """``size`` bits, all zero; a multiple of 8 (the list is a whole number of bytes)."""
        size = _require_int(size)
        if size <= 0 or size % 8:
            raise ValueError("a bitstring size is a positive multiple of 8 bits")
        self._data = bytearray(size // 8)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray) -> Bitstring:
        if not data:
            raise ValueError("a bitstring holds at least one byte")
        bitstring = cls(len(data) * 8)
        bitstring._data[:] = data
        return bitstring

    @classmethod
    def with_bits(cls, indexes: Iterable[int], size: int = MIN_BITS) -> Bitstring:
        bitstring = cls(size)
        for index in indexes:
            bitstring.set(index)
        return bitstring

    @property
    def size(self) -> int:
        """Length in bits."""
        return len(self._data) * 8

    def __len__(self) -> int:
        return self.size

    def _locate(self, index: int) -> tuple[int, int]:
        index = _require_int(index)
        if not 0 <= index < self.size:
            raise StatusRangeError(f"index {index} is outside a list of {self.size} entries")
        return index >> 3, 0x80 >> (index & 7)

    def get(self, index: int) -> bool:
        byte, mask = self._locate(index)
        return bool(self._data[byte] & mask)

    def set(self, index: int, value: bool = True) -> None:
        byte, mask = self._locate(index)
        if value:
            self._data[byte] |= mask
        else:
            self._data[byte] &= ~mask & 0xFF

    def set_indexes(self) -> Iterator[int]:
        """The indexes of the bits that are 1, ascending."""
        for byte_index, byte in enumerate(self._data):
            if byte:
                for bit in range(8):
                    if byte & (0x80 >> bit):
                        yield byte_index * 8 + bit

    def to_bytes(self) -> bytes:
        return bytes(self._data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Bitstring):
            return NotImplemented
        return self._data == other._data

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Bitstring(size={self.size}, set={sum(1 for _ in self.set_indexes())})"

    def encode(self) -> str:
        """Bitstring Generation Algorithm, step 3: multibase ``u`` + base64url(GZIP(bits)).

        https://www.w3.org/TR/vc-bitstring-status-list/#bitstring-generation-algorithm
        ``mtime=0`` keeps the output stable for equal bitstrings (useful for ETags).
        """
        compressed = gzip.compress(bytes(self._data), compresslevel=9, mtime=0)
        return MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode()

    @classmethod
    def decode(
        cls, encoded: str, *, min_bits: int = MIN_BITS, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> Bitstring:
        """Bitstring Expansion Algorithm plus the validate algorithm's length check.

        https://www.w3.org/TR/vc-bitstring-status-list/#bitstring-expansion-algorithm
        """
        if not isinstance(encoded, str) or not encoded.startswith(MULTIBASE_BASE64URL):
            raise MultibasePrefixError(
                "encodedList must be a multibase base64url string (starting with 'u')"
            )
        body = encoded[1:]
        # base64 grows data by 4/3 and GZIP of incompressible data by a few bytes: anything much
        # longer than twice the cap cannot decompress under it.
        if len(body) > 2 * max_bytes + 1024:
            raise StatusListTooLargeError(f"encodedList is longer than {2 * max_bytes + 1024}")
        if not _BASE64URL.fullmatch(body) or len(body) % 4 == 1:
            raise Base64UrlError("encodedList is not base64url without padding")
        try:
            compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError) as exc:
            raise Base64UrlError("encodedList is not base64url without padding") from exc
        return cls.from_bytes_checked(gunzip_limited(compressed, max_bytes), min_bits)

    @classmethod
    def from_bytes_checked(cls, data: bytes, min_bits: int = MIN_BITS) -> Bitstring:
        """Validate algorithm step 9 (statusSize 1): at least ``min_bits`` entries."""
        if len(data) * 8 < min_bits:
            raise StatusListLengthError(
                f"the status list has {len(data) * 8} entries; at least {min_bits} are required"
            )
        return cls.from_bytes(data)


# -- documents ---------------------------------------------------------------------------------


def _parse_datetime(value: Any, name: str) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment
    raise MalformedStatusEntryError(f"the status list credential's {name} is not a dateTimeStamp")


def status_entry(list_url: str, index: int, purpose: str) -> dict[str, Any]:
    """A ``BitstringStatusListEntry`` for ``index`` in the list published at ``list_url``.

    https://www.w3.org/TR/vc-bitstring-status-list/#bitstringstatuslistentry
    """
    index = _require_int(index)
    if index < 0:
        raise ValueError("a status list index is not negative")
    if not purpose:
        raise ValueError("a status purpose is a non-empty string")
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_list_credential(
    list_url: str,
    issuer: str | Mapping[str, Any],
    bits: Bitstring,
    purpose: str,
    valid_from: datetime,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """An unsigned VC 2.0 ``BitstringStatusListCredential`` published at ``list_url``.

    https://www.w3.org/TR/vc-bitstring-status-list/#bitstringstatuslistcredential
    """
    if bits.size < MIN_BITS:
        raise StatusListLengthError(f"a published status list holds at least {MIN_BITS} entries")
    if not purpose:
        raise ValueError("a status purpose is a non-empty string")
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer if isinstance(issuer, str) else dict(issuer),
        "validFrom": format_datetime(valid_from),
    }
    if valid_until is not None:
        if valid_until <= valid_from:
            raise ValueError("validUntil must be later than validFrom")
        credential["validUntil"] = format_datetime(valid_until)
    credential["credentialSubject"] = {
        "id": f"{list_url}#list",
        "type": LIST_TYPE,
        "statusPurpose": purpose,
        "encodedList": bits.encode(),
    }
    return credential


def check_entry(entry: Any) -> tuple[str, int, str]:
    """Check the shape of a ``BitstringStatusListEntry``; returns (list URL, index, purpose)."""
    if not isinstance(entry, Mapping):
        raise MalformedStatusEntryError("a credentialStatus entry must be a JSON object")
    if entry.get("type") != ENTRY_TYPE:
        raise MalformedStatusEntryError(f"the credentialStatus type is not {ENTRY_TYPE}")
    purpose = entry.get("statusPurpose")
    if not isinstance(purpose, str) or not purpose:
        raise MalformedStatusEntryError("statusPurpose must be a non-empty string")
    index = entry.get("statusListIndex")
    if not isinstance(index, str) or not _DECIMAL.fullmatch(index):
        raise MalformedStatusEntryError("statusListIndex must be a base-10 integer string")
    if len(index.lstrip("0")) > 30:  # also keeps int() clear of its digit limit
        raise StatusRangeError("statusListIndex is beyond any status list")
    list_url = entry.get("statusListCredential")
    if not isinstance(list_url, str) or not list_url:
        raise MalformedStatusEntryError("statusListCredential must be a URL")
    size = entry.get("statusSize", 1)
    if size != 1 or isinstance(size, bool):
        raise StatusVerificationError("only statusSize 1 is supported")
    return list_url, int(index), purpose


def check_status(
    entry: Any,
    list_credential: Any,
    *,
    min_bits: int = MIN_BITS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    now: datetime | None = None,
) -> bool:
    """Validate Algorithm steps 3 and 5–10 for a list credential whose proof has been verified.

    https://www.w3.org/TR/vc-bitstring-status-list/#validate-algorithm — returns the entry's bit:
    True means the status (revoked, suspended, …) is set. Retrieving the list and verifying its
    proof (step 4) are the caller's. With ``now``, a list outside its validity period is refused.
    """
    list_url, index, purpose = check_entry(entry)
    if not isinstance(list_credential, Mapping):
        raise MalformedStatusEntryError("the status list credential must be a JSON object")
    if LIST_CREDENTIAL_TYPE not in as_list(list_credential.get("type")):
        raise StatusVerificationError(f"the status list credential is not a {LIST_CREDENTIAL_TYPE}")
    if list_credential.get("id") != list_url:
        # Otherwise a list published for another URL (or issuer) could stand in for this one.
        raise StatusVerificationError("the status list credential's id is not statusListCredential")
    if now is not None:
        if "validFrom" in list_credential:
            if _parse_datetime(list_credential["validFrom"], "validFrom") > now:
                raise StatusVerificationError("the status list credential is not yet valid")
        if "validUntil" in list_credential:
            if _parse_datetime(list_credential["validUntil"], "validUntil") < now:
                raise StatusVerificationError("the status list credential has expired")
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, Mapping):
        raise MalformedStatusEntryError("the status list's credentialSubject must be one object")
    if subject.get("type") != LIST_TYPE:
        raise MalformedStatusEntryError(f"the status list's credentialSubject is not {LIST_TYPE}")
    list_purposes: Sequence[Any] = as_list(subject.get("statusPurpose"))
    if purpose not in list_purposes:
        raise StatusVerificationError(
            f"statusPurpose {purpose!r} is not a purpose of the status list"
        )
    if subject.get("statusSize", 1) != 1:
        raise StatusVerificationError("only statusSize 1 is supported")
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise MultibasePrefixError("encodedList must be a multibase base64url string")
    return Bitstring.decode(encoded, min_bits=min_bits, max_bytes=max_bytes).get(index)
