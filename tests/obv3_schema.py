"""Checking an Open Badge against the vendored 1EdTech Open Badges 3.0 JSON Schema
(``tests/data/obv3/``), as 1EdTech's validators do."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = (
    Path(__file__).resolve().parent / "data" / "obv3" / "ob_v3p0_achievementcredential_schema.json"
)


@cache
def validator() -> jsonschema.Draft201909Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(
        schema, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER
    )


def schema_errors(badge: Any) -> list[str]:
    """Each violation as ``/json/pointer: message``; empty when the badge validates."""
    return [
        "/" + "/".join(str(part) for part in error.absolute_path) + ": " + error.message[:300]
        for error in validator().iter_errors(badge)
    ]


def assert_valid_open_badge(badge: Any) -> None:
    errors = schema_errors(badge)
    assert not errors, "\n".join(errors)
