"""``BitstringStatusListEntry`` objects in a caller's credential, wherever they are.

A caller may bring status entries of its own (VC DM 2.0 §4.10 allows any typed status): they
are kept and signed as given. An object typed ``BitstringStatusListEntry`` must still follow the
Bitstring Status List rules (https://www.w3.org/TR/vc-bitstring-status-list/#bitstringstatuslistentry),
under ``credentialStatus`` or any other property name, at any depth: a malformed one would be
signed into a credential no verifier can check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from app.credentials.datamodel import Breach, is_url

ENTRY_TYPE = "BitstringStatusListEntry"
SECTION = "Bitstring Status List v1.0, 2.1 BitstringStatusListEntry"
_DECIMAL = re.compile(r"[0-9]{1,40}")
_HEX = re.compile(r"0x[0-9a-fA-F]{1,16}")
#: Past this depth nothing is searched: the form check bounds documents far below it.
MAX_DEPTH = 64


def bitstring_entries(
    value: Any, pointer: str = "", depth: int = 0
) -> Iterator[tuple[Mapping[str, Any], str]]:
    """Every object typed ``BitstringStatusListEntry`` in ``value``, with its JSON Pointer."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        types = value.get("type")
        if types == ENTRY_TYPE or (isinstance(types, list) and ENTRY_TYPE in types):
            yield value, pointer
        for name, item in value.items():
            escaped = str(name).replace("~", "~0").replace("/", "~1")
            yield from bitstring_entries(item, f"{pointer}/{escaped}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from bitstring_entries(item, f"{pointer}/{index}", depth + 1)


def entry_breaches(entry: Mapping[str, Any], pointer: str) -> list[Breach]:
    """What makes ``entry`` a malformed ``BitstringStatusListEntry``."""
    breaches = []

    def breach(name: str, detail: str) -> None:
        breaches.append(Breach(f"{pointer}/{name}" if name else pointer, detail, SECTION))

    if "id" in entry and not is_url(entry["id"]):
        breach("id", "the id of a status entry must be a URL")
    purpose = entry.get("statusPurpose")
    if not isinstance(purpose, str) or not purpose.strip():
        breach("statusPurpose", "statusPurpose must be a non-empty string")
    index = entry.get("statusListIndex")
    if not isinstance(index, str) or not _DECIMAL.fullmatch(index):
        breach("statusListIndex", "statusListIndex must be an integer ≥ 0 as a base-10 string")
    if not is_url(entry.get("statusListCredential")):
        breach("statusListCredential", "statusListCredential must be a URL")
    size = entry.get("statusSize", 1)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        breach("statusSize", "statusSize must be an integer greater than zero")
        size = None
    if "statusMessage" in entry:
        breaches += _message_breaches(entry["statusMessage"], size, f"{pointer}/statusMessage")
    elif size is not None and size > 1:
        breach("statusMessage", "statusMessage must be present when statusSize is more than 1")
    if "statusReference" in entry:
        references = entry["statusReference"]
        items = references if isinstance(references, list) else [references]
        if not items or not all(is_url(item) for item in items):
            breach("statusReference", "statusReference must be one or more URLs")
    return breaches


def _message_breaches(messages: Any, size: int | None, pointer: str) -> list[Breach]:
    """``statusMessage``: one ``{status: "0x…", message}`` per value ``statusSize`` bits hold."""
    if not isinstance(messages, list) or not messages:
        return [Breach(pointer, "statusMessage must be a non-empty array", SECTION)]
    breaches = []
    if size is not None and (size > 16 or len(messages) != 2**size):
        breaches.append(
            Breach(
                pointer,
                "statusMessage must hold one message per status value (2 to the statusSize)",
                SECTION,
            )
        )
    seen: set[int] = set()
    for number, message in enumerate(messages):
        here = f"{pointer}/{number}"
        if not isinstance(message, Mapping):
            breaches.append(Breach(here, "each statusMessage must be an object", SECTION))
            continue
        status = message.get("status")
        if not isinstance(status, str) or not _HEX.fullmatch(status):
            breaches.append(
                Breach(f"{here}/status", "status must be a hexadecimal string (0x…)", SECTION)
            )
        else:
            value = int(status, 16)
            if value in seen or (size is not None and size <= 16 and value >= 2**size):
                breaches.append(
                    Breach(
                        f"{here}/status",
                        "status must be a distinct value that statusSize bits can hold",
                        SECTION,
                    )
                )
            seen.add(value)
        if not isinstance(message.get("message"), str):
            breaches.append(Breach(f"{here}/message", "message must be a string", SECTION))
    return breaches


def status_entry_breaches(document: Mapping[str, Any]) -> list[Breach]:
    """Every fault of every ``BitstringStatusListEntry`` anywhere in ``document``."""
    return [
        breach
        for entry, pointer in bitstring_entries(document)
        for breach in entry_breaches(entry, pointer)
    ]
