"""IETF Token Status List encoding (app.status.tokenstatus), against the draft's examples."""

from __future__ import annotations

import base64
import zlib

import pytest

from app.status.tokenstatus import (
    TokenStatusError,
    TokenStatusList,
    parse_reference,
    reference,
)

# draft-ietf-oauth-status-list section 4.1: one bit per status, 16 statuses.
ONE_BIT = {0: 1, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1, 6: 0, 7: 1, 8: 1, 9: 1, 10: 0, 11: 0}
ONE_BIT.update({12: 0, 13: 1, 14: 0, 15: 1})
# ... and two bits per status, 12 statuses.
TWO_BITS = {0: 1, 1: 2, 2: 0, 3: 3, 4: 0, 5: 1, 6: 0, 7: 1, 8: 1, 9: 2, 10: 3, 11: 3}


def test_draft_example_one_bit() -> None:
    status_list = TokenStatusList.with_values(ONE_BIT, size=16, bits=1)
    assert status_list.data == bytes([0xB9, 0xA3])
    assert status_list.encode() == {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}
    decoded = TokenStatusList.decode({"bits": 1, "lst": "eNrbuRgAAhcBXQ"})
    assert [decoded.get(i) for i in range(16)] == [ONE_BIT[i] for i in range(16)]


def test_draft_example_two_bits() -> None:
    status_list = TokenStatusList.with_values(TWO_BITS, size=12, bits=2)
    assert status_list.data == bytes([0xC9, 0x44, 0xF9])
    decoded = TokenStatusList.decode({"bits": 2, "lst": "eNo76fITAAPfAgc"})
    assert decoded.data == status_list.data
    assert [decoded.get(i) for i in range(12)] == [TWO_BITS[i] for i in range(12)]


def test_large_sparse_list_round_trips() -> None:
    values = {0: 1, 99_999: 2, 131_071: 1}
    status_list = TokenStatusList.with_values(values, size=131_072, bits=2)
    decoded = TokenStatusList.decode(status_list.encode())
    assert decoded.size == 131_072
    assert {i: decoded.get(i) for i in values} == values
    assert decoded.get(5) == 0


def test_refusals() -> None:
    with pytest.raises(TokenStatusError):
        TokenStatusList.with_values({3: 4}, size=8, bits=2)
    with pytest.raises(TokenStatusError):
        TokenStatusList.with_values({8: 1}, size=8, bits=1)
    with pytest.raises(TokenStatusError):
        TokenStatusList.decode({"bits": 3, "lst": "eNrbuRgAAhcBXQ"})
    with pytest.raises(TokenStatusError):
        TokenStatusList.decode({"bits": 1, "lst": "not zlib"})
    bomb = base64.urlsafe_b64encode(zlib.compress(bytes(8 * 1024 * 1024))).rstrip(b"=")
    with pytest.raises(TokenStatusError, match="larger"):
        TokenStatusList.decode({"bits": 1, "lst": bomb.decode()})
    with pytest.raises(TokenStatusError):
        TokenStatusList.decode({"bits": 1, "lst": "eNrbuRgAAhcB"})  # truncated
    with pytest.raises(TokenStatusError):
        TokenStatusList.decode({"bits": 1, "lst": "eNrbuRgAAhcBXQ"}).get(16)
    assert parse_reference(reference("https://x/l/1", 42)) == ("https://x/l/1", 42)
    for bad in (
        {},
        {"status_list": {"idx": "1", "uri": "u"}},
        {"status_list": {"idx": -1, "uri": "u"}},
    ):
        with pytest.raises(TokenStatusError):
            parse_reference(bad)
