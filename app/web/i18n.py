"""The pages' message catalogues (``messages/<code>.json``) and the viewer's language."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache

from app.resources import package_path

MESSAGES_DIR = package_path("web", "messages")
LANGUAGES = ("en", "fr", "de", "ro")
DEFAULT = "en"
_RANGE = re.compile(r"\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*")


def negotiate(accept_language: str | None) -> str:
    """The first of :data:`LANGUAGES` the viewer prefers (RFC 9110 ``Accept-Language``, by
    weight, then order), English when none fits."""
    wanted: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")[:32]):
        match = _RANGE.fullmatch(part)
        if match is None:
            continue
        try:
            weight = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        if weight > 0:
            wanted.append((-weight, position, match.group(1).lower()))
    for _, _, code in sorted(wanted):
        if code in LANGUAGES:
            return code
    return DEFAULT


@cache
def messages(language: str) -> Mapping[str, str]:
    code = language if language in LANGUAGES else DEFAULT
    loaded: dict[str, str] = json.loads((MESSAGES_DIR / f"{code}.json").read_text("utf-8"))
    return loaded
