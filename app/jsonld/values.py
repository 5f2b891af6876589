"""Small readers of JSON-LD values as they appear in credentials (a value or an array of them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def as_list(value: Any) -> list[Any]:
    """A JSON-LD value as a list: none → ``[]``, one value → ``[value]``, an array as it is."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def types_of(node: Mapping[str, Any]) -> set[str]:
    """The string ``type`` values of a node."""
    return {t for t in as_list(node.get("type")) if isinstance(t, str)}


def node_id(value: Any) -> str | None:
    """The id of a node given by reference (a string) or embedded (``{"id": …}``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None
