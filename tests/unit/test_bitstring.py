"""Bitstring Status List: bitstring, encoding, rejection cases, entries and list credentials."""

from __future__ import annotations

import base64
import gzip
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.problems import MALFORMED_VALUE_ERROR, RANGE_ERROR
from app.status.bitstring import (
    MIN_BITS,
    STATUS_LIST_LENGTH_ERROR,
    STATUS_RETRIEVAL_ERROR,
    STATUS_VERIFICATION_ERROR,
    Base64UrlError,
    Bitstring,
    GzipError,
    MalformedStatusEntryError,
    MultibasePrefixError,
    StatusListError,
    StatusListLengthError,
    StatusListTooLargeError,
    StatusRangeError,
    StatusVerificationError,
    check_status,
    gunzip_limited,
    status_entry,
    status_list_credential,
)

# From the Bitstring Status List v1.0 examples (w3c/vc-bitstring-status-list, index.html).
SPEC_ENCODED_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
SPEC_LIST_CREDENTIAL: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": "https://example.com/credentials/status/3",
    "type": ["VerifiableCredential", "BitstringStatusListCredential"],
    "issuer": "did:example:12345",
    "validFrom": "2021-04-05T14:27:40Z",
    "credentialSubject": {
        "id": "https://example.com/status/3#list",
        "type": "BitstringStatusList",
        "statusPurpose": "revocation",
        "encodedList": SPEC_ENCODED_LIST,
    },
}
SPEC_ENTRY: dict[str, Any] = {
    "id": "https://example.com/credentials/status/3#94567",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "revocation",
    "statusListIndex": "94567",
    "statusListCredential": "https://example.com/credentials/status/3",
}
LIST_URL = "https://credentials.example.edu/status-lists/1"
ISSUER = "did:web:credentials.example.edu:issuers:uni"
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def _multibase(raw: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unmultibase(encoded: str) -> bytes:
    body = encoded[1:]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


# -- the spec's example ------------------------------------------------------------------------


def test_spec_example_decodes_to_131072_zero_bits() -> None:
    bits = Bitstring.decode(SPEC_ENCODED_LIST)
    assert bits.size == len(bits) == 131_072 == MIN_BITS
    assert list(bits.set_indexes()) == []
    assert bits == Bitstring(131_072)


def test_spec_example_entry_is_not_revoked() -> None:
    assert check_status(SPEC_ENTRY, SPEC_LIST_CREDENTIAL) is False


def test_problem_types_are_the_specifications_urls() -> None:
    # Bitstring Status List v1.0 §3.5 and VC Data Model 2.0 §7.2.
    assert STATUS_RETRIEVAL_ERROR == (
        "https://www.w3.org/ns/credentials/status-list#STATUS_RETRIEVAL_ERROR"
    )
    assert STATUS_VERIFICATION_ERROR == (
        "https://www.w3.org/ns/credentials/status-list#STATUS_VERIFICATION_ERROR"
    )
    assert STATUS_LIST_LENGTH_ERROR == (
        "https://www.w3.org/ns/credentials/status-list#STATUS_LIST_LENGTH_ERROR"
    )
    assert MALFORMED_VALUE_ERROR == "https://www.w3.org/TR/vc-data-model#MALFORMED_VALUE_ERROR"
    assert RANGE_ERROR == "https://www.w3.org/TR/vc-data-model#RANGE_ERROR"


# -- the bitstring -----------------------------------------------------------------------------


def test_bit_zero_is_the_most_significant_bit_of_the_first_byte() -> None:
    bits = Bitstring(16)
    bits.set(0)
    bits.set(9)
    bits.set(15)
    assert bits.to_bytes() == bytes([0b1000_0000, 0b0100_0001])
    assert [bits.get(i) for i in range(16)] == [i in (0, 9, 15) for i in range(16)]
    bits.set(9, False)
    assert bits.to_bytes() == bytes([0b1000_0000, 0b0000_0001])
    assert list(bits.set_indexes()) == [0, 15]


@pytest.mark.parametrize("index", [-1, 131_072, 10**9])
def test_index_outside_the_bitstring_is_a_range_error(index: int) -> None:
    bits = Bitstring()
    with pytest.raises(StatusRangeError) as caught:
        bits.get(index)
    assert caught.value.type == RANGE_ERROR
    assert isinstance(caught.value, IndexError)
    with pytest.raises(StatusRangeError):
        bits.set(index)


@pytest.mark.parametrize("size", [0, -8, 12])
def test_size_is_a_positive_multiple_of_eight(size: int) -> None:
    with pytest.raises(ValueError):
        Bitstring(size)


def test_set_bits_round_trip_through_encode_and_decode() -> None:
    indexes = {0, 7, 8, 94_567, 131_071}
    bits = Bitstring.with_bits(indexes)
    encoded = bits.encode()
    assert encoded.startswith("u") and "=" not in encoded
    assert "+" not in encoded and "/" not in encoded
    # The encoding is GZIP of the raw bitstring: compare decompressed bytes, never gzip bytes.
    assert gzip.decompress(_unmultibase(encoded)) == bits.to_bytes()
    decoded = Bitstring.decode(encoded)
    assert decoded == bits
    assert set(decoded.set_indexes()) == indexes
    assert decoded.get(94_567) and not decoded.get(94_568)


def test_decoding_accepts_another_implementations_gzip() -> None:
    raw = bytearray(MIN_BITS // 8)
    raw[5] = 0x10  # index 43
    other = gzip.compress(bytes(raw), compresslevel=1, mtime=1_700_000_000)
    assert Bitstring.decode(_multibase(other)).get(43)
    assert list(Bitstring.decode(_multibase(other)).set_indexes()) == [43]


def test_decoding_accepts_a_multi_member_gzip_stream() -> None:
    half = bytes(MIN_BITS // 16)
    stream = gzip.compress(half) + gzip.compress(b"\x01" + half[1:])
    bits = Bitstring.decode(_multibase(stream))
    assert bits.size == MIN_BITS
    assert list(bits.set_indexes()) == [MIN_BITS // 2 + 7]


@settings(database=None, max_examples=60, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=MIN_BITS - 1), max_size=300))
def test_any_set_of_indexes_round_trips(indexes: set[int]) -> None:
    decoded = Bitstring.decode(Bitstring.with_bits(indexes).encode())
    assert set(decoded.set_indexes()) == indexes
    for index in list(indexes)[:20]:
        assert decoded.get(index)


# -- rejections ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoded",
    [
        SPEC_ENCODED_LIST[1:],  # the prefix left out
        "z" + SPEC_ENCODED_LIST[1:],  # base58btc prefix
        "U" + SPEC_ENCODED_LIST[1:],  # multibase prefixes are case-sensitive
        "",
        None,
        42,
    ],
)
def test_missing_or_other_multibase_prefix_is_rejected(encoded: Any) -> None:
    with pytest.raises(MultibasePrefixError) as caught:
        Bitstring.decode(encoded)
    assert caught.value.type == MALFORMED_VALUE_ERROR


@pytest.mark.parametrize(
    "encoded",
    [
        SPEC_ENCODED_LIST + "==",  # padding
        SPEC_ENCODED_LIST.replace("-", "+"),  # standard base64 alphabet
        "uH4sI AAAA",
        "uH4sI\nAAAA",
        "u" + "A" * 5,  # 5 characters cannot encode whole bytes
        "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAA€",
    ],
)
def test_bad_base64url_is_rejected(encoded: str) -> None:
    with pytest.raises(Base64UrlError) as caught:
        Bitstring.decode(encoded)
    assert caught.value.type == MALFORMED_VALUE_ERROR


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not a gzip stream at all",
        bytes(MIN_BITS // 8),  # uncompressed
        gzip.compress(bytes(MIN_BITS // 8))[:-12],  # truncated
        gzip.compress(bytes(MIN_BITS // 8)) + b"trailing garbage",
        zlib.compress(bytes(MIN_BITS // 8)),  # zlib, not GZIP
    ],
)
def test_bad_gzip_is_rejected(raw: bytes) -> None:
    with pytest.raises(GzipError) as caught:
        Bitstring.decode(_multibase(raw))
    assert caught.value.type == MALFORMED_VALUE_ERROR


def test_list_shorter_than_16_kib_is_rejected() -> None:
    short = Bitstring(MIN_BITS - 8).encode()
    with pytest.raises(StatusListLengthError) as caught:
        Bitstring.decode(short)
    assert caught.value.type == STATUS_LIST_LENGTH_ERROR
    assert Bitstring.decode(short, min_bits=MIN_BITS - 8).size == MIN_BITS - 8


def test_decompressed_size_over_the_cap_is_rejected() -> None:
    just_over = gzip.compress(bytes(64 * 1024 + 1))
    with pytest.raises(StatusListTooLargeError) as caught:
        Bitstring.decode(_multibase(just_over), max_bytes=64 * 1024)
    assert caught.value.type == STATUS_RETRIEVAL_ERROR
    assert Bitstring.decode(_multibase(gzip.compress(bytes(64 * 1024))), max_bytes=64 * 1024)


def test_zip_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(bytes(64 * 1024 * 1024))  # 64 MiB of zeros in ~64 KB
    encoded = _multibase(bomb)
    tracemalloc.start()
    try:
        with pytest.raises(StatusListTooLargeError):
            Bitstring.decode(encoded, max_bytes=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # far below the 64 MiB a plain gzip.decompress would hold


def test_gunzip_limited_stops_at_the_cap_exactly() -> None:
    data = gzip.compress(b"x" * 1000)
    assert gunzip_limited(data, 1000) == b"x" * 1000
    with pytest.raises(StatusListTooLargeError):
        gunzip_limited(data, 999)


def test_every_rejection_is_a_status_list_error() -> None:
    for error in (
        MultibasePrefixError,
        Base64UrlError,
        GzipError,
        StatusListLengthError,
        StatusListTooLargeError,
        StatusRangeError,
        StatusVerificationError,
        MalformedStatusEntryError,
    ):
        assert issubclass(error, StatusListError)


# -- entries and list credentials ---------------------------------------------------------------


def test_status_entry_shape() -> None:
    assert status_entry(LIST_URL, 94_567, "revocation") == {
        "id": f"{LIST_URL}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": LIST_URL,
    }
    with pytest.raises(ValueError):
        status_entry(LIST_URL, -1, "revocation")
    with pytest.raises(TypeError):
        status_entry(LIST_URL, True, "revocation")
    with pytest.raises(ValueError):
        status_entry(LIST_URL, 1, "")


def _published(indexes: set[int], purpose: str = "revocation") -> dict[str, Any]:
    return status_list_credential(
        LIST_URL,
        ISSUER,
        Bitstring.with_bits(indexes),
        purpose,
        NOW - timedelta(days=1),
        NOW + timedelta(days=1),
    )


def test_status_list_credential_shape() -> None:
    credential = _published({3, 94_567})
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert credential["id"] == LIST_URL
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert credential["issuer"] == ISSUER
    assert credential["validFrom"] == "2026-06-29T12:00:00Z"
    assert credential["validUntil"] == "2026-07-01T12:00:00Z"
    assert "proof" not in credential
    subject = credential["credentialSubject"]
    assert subject["id"] == f"{LIST_URL}#list"
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "revocation"
    decoded = Bitstring.decode(subject["encodedList"])
    assert set(decoded.set_indexes()) == {3, 94_567}


def test_status_list_credential_refuses_a_short_list_and_naive_dates() -> None:
    with pytest.raises(StatusListLengthError):
        status_list_credential(LIST_URL, ISSUER, Bitstring(8), "revocation", NOW, None)
    with pytest.raises(ValueError):
        status_list_credential(
            LIST_URL, ISSUER, Bitstring(), "revocation", datetime(2026, 1, 1), None
        )
    without_end = status_list_credential(LIST_URL, ISSUER, Bitstring(), "suspension", NOW, None)
    assert "validUntil" not in without_end


def test_check_status_reads_the_entrys_bit() -> None:
    credential = _published({3, 94_567})
    assert check_status(status_entry(LIST_URL, 94_567, "revocation"), credential, now=NOW) is True
    assert check_status(status_entry(LIST_URL, 3, "revocation"), credential) is True
    assert check_status(status_entry(LIST_URL, 4, "revocation"), credential) is False
    assert check_status(status_entry(LIST_URL, MIN_BITS - 1, "revocation"), credential) is False


def test_check_status_accepts_a_list_with_several_purposes() -> None:
    credential = _published({10})
    credential["credentialSubject"]["statusPurpose"] = ["revocation", "suspension"]
    assert check_status(status_entry(LIST_URL, 10, "suspension"), credential) is True


def _entry(**changes: Any) -> dict[str, Any]:
    entry = status_entry(LIST_URL, 5, "revocation")
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


@pytest.mark.parametrize(
    "entry",
    [
        "not an object",
        _entry(type="StatusList2021Entry"),
        _entry(type=None),
        _entry(statusPurpose=None),
        _entry(statusPurpose=""),
        _entry(statusListIndex=5),
        _entry(statusListIndex="-5"),
        _entry(statusListIndex="5a"),
        _entry(statusListIndex=" 5"),
        _entry(statusListIndex="٥"),  # a non-ASCII digit
        _entry(statusListCredential=None),
    ],
)
def test_malformed_entries_are_rejected(entry: Any) -> None:
    with pytest.raises(MalformedStatusEntryError) as caught:
        check_status(entry, _published(set()))
    assert caught.value.type == MALFORMED_VALUE_ERROR


def test_index_beyond_the_list_is_a_range_error() -> None:
    credential = _published(set())
    for index in (str(MIN_BITS), "9" * 5000):
        with pytest.raises(StatusRangeError) as caught:
            check_status(_entry(statusListIndex=index), credential)
        assert caught.value.type == RANGE_ERROR


def test_entry_and_list_must_agree() -> None:
    credential = _published({5})
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        (_entry(statusPurpose="suspension"), credential),  # purpose not in the list
        (_entry(statusListCredential=LIST_URL + "0"), credential),  # another list's URL
        (_entry(statusSize=2), credential),  # only statusSize 1
        (_entry(), {**credential, "type": ["VerifiableCredential"]}),
    ]
    for entry, list_credential in cases:
        with pytest.raises(StatusVerificationError) as caught:
            check_status(entry, list_credential)
        assert caught.value.type == STATUS_VERIFICATION_ERROR


def test_list_outside_its_validity_period_is_refused_when_now_is_given() -> None:
    credential = _published({5})
    assert check_status(_entry(), credential, now=NOW) is True
    with pytest.raises(StatusVerificationError):
        check_status(_entry(), credential, now=NOW + timedelta(days=2))
    with pytest.raises(StatusVerificationError):
        check_status(_entry(), credential, now=NOW - timedelta(days=2))


def test_list_credential_with_a_broken_subject_is_rejected() -> None:
    credential = _published({5})
    credential["credentialSubject"] = [credential["credentialSubject"]]
    with pytest.raises(MalformedStatusEntryError):
        check_status(_entry(), credential)
    credential = _published({5})
    credential["credentialSubject"]["encodedList"] = SPEC_ENCODED_LIST[1:]
    with pytest.raises(MultibasePrefixError):
        check_status(_entry(), credential)
    credential["credentialSubject"]["encodedList"] = Bitstring(8).encode()
    with pytest.raises(StatusListLengthError):
        check_status(_entry(), credential)
