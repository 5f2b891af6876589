"""The validity period: ``validFrom``/``validUntil`` (VC 1.1 also ``issuanceDate`` /
``expirationDate``) against the time of the request."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.datetimes import format_instant, parse_datetime
from app.problems import CREDENTIAL_EXPIRED, CREDENTIAL_NOT_YET_VALID, MALFORMED_VALUE_ERROR
from app.services.verification.results import DateResult, Verification, problem


def check_validity(
    credential: Mapping[str, Any], version: int | None, now: datetime, report: Verification
) -> tuple[DateResult, DateResult]:
    """``validFrom``/``validUntil`` (VC 1.1 also ``issuanceDate``/``expirationDate``) vs now."""
    starts = ["validFrom", *(["issuanceDate"] if version == 1 else [])]
    ends = ["validUntil", *(["expirationDate"] if version == 1 else [])]
    moments: dict[str, datetime] = {}
    for name in (*starts, *ends):
        if name not in credential:
            continue
        moment, has_offset = parse_datetime(credential[name])
        if moment is None:
            detail = f"{name} must be an XML Schema dateTimeStamp"
            report.errors.append(problem(MALFORMED_VALUE_ERROR, detail, f"/{name}"))
            continue
        if not has_offset:
            detail = f"{name} has no time zone offset; it was read as UTC"
            report.warnings.append(problem(MALFORMED_VALUE_ERROR, detail, f"/{name}"))
        moments[name] = moment

    def check(names: list[str], expired: bool) -> DateResult:
        present = [name for name in names if name in credential]
        if not present:
            return {"verified": None, "value": None}
        verified = all(name in moments for name in present)
        for name in present:
            moment = moments.get(name)
            if moment is None:
                continue
            if expired and moment < now:
                detail = f"the credential expired at {format_instant(moment)} ({name})"
                report.errors.append(problem(CREDENTIAL_EXPIRED, detail, f"/{name}"))
                verified = False
            elif not expired and moment > now:
                detail = f"the credential is valid only from {format_instant(moment)} ({name})"
                report.errors.append(problem(CREDENTIAL_NOT_YET_VALID, detail, f"/{name}"))
                verified = False
        return {"verified": verified, "value": credential[present[0]]}

    valid_from = check(starts, expired=False)
    valid_until = check(ends, expired=True)
    start, end = moments.get("validFrom"), moments.get("validUntil")
    if start is not None and end is not None and start > end:
        detail = "validUntil is earlier than validFrom"
        report.errors.append(problem(MALFORMED_VALUE_ERROR, detail, "/validUntil"))
        valid_until["verified"] = False
    return valid_from, valid_until
