"""Dates and times as credentials, proofs and status lists write and read them: XML Schema
``dateTime`` text, in one place.

Written: UTC to the whole second with ``Z``, the form of the specifications' examples. Read: a
``dateTime`` with or without an offset, and whether it had one, since a ``dateTimeStamp`` (VC DM
2.0 §4.9 validity, Data Integrity ``created``/``expires``) must have one.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

_DATE_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?", re.ASCII
)


def format_datetime(moment: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ssZ``: UTC, whole seconds. A naive datetime is refused (``ValueError``):
    nothing would say which time zone it meant."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes in credentials must carry a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_date(day: date) -> str:
    """A date where a ``dateTime`` is wanted (ELM types dates so): midnight UTC of ``day``."""
    return f"{day.isoformat()}T00:00:00Z"


def format_instant(moment: datetime) -> str:
    """UTC with ``Z``, keeping a fraction of a second: a moment read from a document, reported
    back as it was read."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_datetime(value: Any) -> tuple[datetime | None, bool]:
    """An XML Schema ``dateTime`` as an aware datetime, and whether it carried an offset (one
    without is read as UTC, VC DM 2.0 §4.9); ``(None, False)`` for anything else."""
    if not isinstance(value, str):
        return None, False
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return None, False
    seconds, fraction, offset = match.groups()
    text = seconds + (fraction[:7] if fraction else "") + (offset or "Z").replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text), offset is not None
    except ValueError:
        return None, False


def parse_datetime_stamp(value: Any) -> datetime | None:
    """An XML Schema ``dateTimeStamp`` (a ``dateTime`` with an offset), or None."""
    moment, has_offset = parse_datetime(value)
    return moment if has_offset else None
