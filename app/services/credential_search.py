"""Finding an issuer's credentials: by learner, name, course, status and issue date, newest
first, a page at a time.

The filters read columns stored at issue time (``SearchFields`` in ``issuance``), never the
documents; each has an index under the issuer. Pages are keyset-paginated on
``(created_at, id)``: the cursor is that pair of the page's last item, base64url-encoded JSON,
opaque to clients (it only positions a query that is already limited to the caller's issuer).
The name filter matches a folded (lower case, accent-free) part of the name anywhere in it,
within the issuer's rows.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, exists, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import Credential, Issuer, StatusEntry, StatusList
from app.problems import ValidationFailed
from app.services.issuance import fold_name
from app.services.status import REVOCATION, SUSPENSION

StatusFilter = Literal["active", "revoked", "suspended"]
MAX_PAGE = 200


@dataclass(frozen=True)
class CredentialFilter:
    #: the learner's identifier value, e-mail or DID, or the stored ``scheme:value`` reference
    learner: str | None = None
    #: part of the learner's name (case and accents ignored)
    name: str | None = None
    #: a course id
    course: str | None = None
    course_version: int | None = None
    status: StatusFilter | None = None
    issued_from: datetime | None = None
    issued_to: datetime | None = None


@dataclass(frozen=True)
class Listed:
    credential: Credential
    revoked: bool
    suspended: bool


@dataclass(frozen=True)
class Page:
    items: list[Listed]
    next: str | None


def _bit_set(purpose: str) -> Any:
    return exists().where(
        col(StatusEntry.credential_id) == col(Credential.id),
        col(StatusEntry.is_set).is_(True),
        col(StatusEntry.list_id) == col(StatusList.id),
        col(StatusList.purpose) == purpose,
    )


def conditions(issuer: Issuer, filter: CredentialFilter) -> list[Any]:
    """The WHERE clauses of ``filter`` within ``issuer``'s credentials."""
    where: list[Any] = [Credential.issuer_id == issuer.id]
    if filter.learner:
        where.append(
            or_(
                col(Credential.learner_key) == filter.learner,
                col(Credential.learner_ref) == filter.learner,
            )
        )
    if filter.name:
        folded = fold_name(filter.name)
        escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(col(Credential.learner_name_folded).like(f"%{escaped}%", escape="\\"))
    if filter.course:
        where.append(Credential.course_id == filter.course)
        if filter.course_version is not None:
            where.append(Credential.course_version == filter.course_version)
    if filter.issued_from is not None:
        where.append(col(Credential.created_at) >= filter.issued_from)
    if filter.issued_to is not None:
        where.append(col(Credential.created_at) < filter.issued_to)
    revoked, suspended = _bit_set(REVOCATION), _bit_set(SUSPENSION)
    if filter.status == "revoked":
        where.append(revoked)
    elif filter.status == "suspended":
        where.append(and_(suspended, ~revoked))
    elif filter.status == "active":
        where.append(and_(~revoked, ~suspended))
    return where


def encode_cursor(credential: Credential) -> str:
    raw = json.dumps([credential.created_at.isoformat(), credential.id]).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, credential_id = json.loads(raw)
        return datetime.fromisoformat(at), str(credential_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ValidationFailed(
            "the cursor is not one this service gave",
            errors=[{"pointer": "/cursor", "detail": "use the 'next' value of a previous page"}],
        ) from None


async def search(
    session: AsyncSession,
    issuer: Issuer,
    filter: CredentialFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """A page of the issuer's credentials matching ``filter``, newest first."""
    limit = max(1, min(limit, MAX_PAGE))
    where = conditions(issuer, filter)
    if cursor:
        at, last_id = decode_cursor(cursor)
        where.append(
            or_(
                col(Credential.created_at) < at,
                and_(col(Credential.created_at) == at, col(Credential.id) < last_id),
            )
        )
    query = (
        select(Credential)
        .where(*where)
        .order_by(col(Credential.created_at).desc(), col(Credential.id).desc())
        .limit(limit + 1)
    )
    found = list((await session.exec(query)).all())
    more = len(found) > limit
    found = found[:limit]
    flags = await status_flags(session, [c.id for c in found])
    items = [Listed(c, *flags.get(c.id, (False, False))) for c in found]
    return Page(items, encode_cursor(found[-1]) if more and found else None)


async def matching_ids(
    session: AsyncSession, issuer: Issuer, filter: CredentialFilter, *, limit: int
) -> list[str]:
    """The ids of up to ``limit`` credentials matching ``filter`` (oldest first)."""
    query = (
        select(Credential.id)
        .where(*conditions(issuer, filter))
        .order_by(col(Credential.created_at), col(Credential.id))
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def status_flags(
    session: AsyncSession, credential_ids: Sequence[str]
) -> dict[str, tuple[bool, bool]]:
    """Credential id → (revoked, suspended), in one query."""
    if not credential_ids:
        return {}
    query = (
        select(StatusEntry.credential_id, StatusList.purpose, StatusEntry.is_set)
        .join(StatusList, col(StatusList.id) == col(StatusEntry.list_id))
        .where(col(StatusEntry.credential_id).in_(credential_ids))
        .execution_options(populate_existing=True)
    )
    flags: dict[str, tuple[bool, bool]] = {}
    for credential_id, purpose, is_set in (await session.exec(query)).all():
        revoked, suspended = flags.get(credential_id, (False, False))
        if purpose == REVOCATION:
            revoked = revoked or is_set
        elif purpose == SUSPENSION:
            suspended = suspended or is_set
        flags[credential_id] = (revoked, suspended)
    return flags
