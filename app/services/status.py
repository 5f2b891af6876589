"""Bitstring Status Lists kept in SQL: allocation, status changes, the published list credential.

Each allocated index is a row of ``status_entries`` whose primary key ``(list_id, index)`` makes
reuse impossible, whichever process allocates: an index is drawn uniformly at random among those
no row holds (:func:`reserve`, reads only, so that no lock is held while the credential is
signed) and stored with the credential (:mod:`app.db.store`); if another request stored the same
index meanwhile, the insert fails and the issuer draws again. A status change updates
one row and bumps the list's ``version`` with an atomic ``UPDATE``, so concurrent changes lose
nothing; the signed list credential is rebuilt from the set rows when ``version`` moved on.

IETF Token Status Lists (kind ``token``, for SD-JWT VCs) live in the same tables with the same
guarantees: one list of 1 or 2 bits per entry holds revocation (``is_set``) and, when the
issuer suspends, suspension (``suspended``); it is published as a signed ``statuslist+jwt``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Float, bindparam, func, union_all, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.crypto import jws
from app.crypto.dataintegrity import DataIntegrity
from app.crypto.errors import ProofError
from app.db.engine import on_postgresql
from app.db.models import (
    Credential,
    Issuer,
    JointStatusHold,
    SigningKey,
    StatusEntry,
    StatusList,
    utcnow,
)
from app.jsonld import JsonLdProcessingError
from app.observability import STATUS_CHANGES, STATUS_LISTS_SIGNED
from app.problems import (
    REVOCATION_IS_FINAL,
    STATUS_LIST_NOT_FOUND,
    STATUS_LIST_UNAVAILABLE,
    STATUS_PURPOSE_NOT_AVAILABLE,
    Conflict,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from app.services import audit, issuers
from app.services.keystore import KeyCache, KeyUnsealError
from app.status import tokenstatus
from app.status.bitstring import Bitstring, status_entry, status_list_credential

REVOCATION, SUSPENSION = "revocation", "suspension"
BITSTRING, TOKEN = "bitstring", "token"
PURPOSES = (REVOCATION, SUSPENSION)
#: Random indices tried per round (one query each) and rounds before a list counts as full.
DRAWS_PER_ROUND, ROUNDS = 16, 4
#: Seconds a client should wait before asking again for a list that could not be signed.
SIGNING_RETRY_AFTER = 60
#: Why a list cannot be (re-)signed now: no usable key, a key that does not open, a proof fault.
SIGNING_FAILURES = (issuers.NoActiveKey, KeyUnsealError, ProofError, JsonLdProcessingError)

log = logging.getLogger("microcred.status")


class StatusListNotFound(NotFound):
    type = STATUS_LIST_NOT_FOUND
    title = "Status list not found"


class RevocationIsFinal(Conflict):
    type = REVOCATION_IS_FINAL
    title = "A revoked credential cannot be reinstated"


class StatusListUnavailable(ServiceUnavailable):
    type = STATUS_LIST_UNAVAILABLE
    title = "The status list cannot be signed right now"


class PurposeNotEnabled(Conflict):
    type = STATUS_PURPOSE_NOT_AVAILABLE
    title = "The credential has no entry for this status purpose"


@dataclass(frozen=True)
class StatusPolicy:
    public_url: str
    size: int
    fill_limit: float
    ttl: timedelta

    def list_url(self, list_id: str) -> str:
        return f"{self.public_url}/status-lists/{list_id}"

    def token_list_url(self, list_id: str) -> str:
        return f"{self.public_url}/token-status-lists/{list_id}"


def _lock_key(issuer_id: int, purpose: str, kind: str = BITSTRING) -> int:
    """A 64-bit advisory lock id for opening lists of one issuer, purpose and kind."""
    return (0x6D63 << 48) | (issuer_id << 3) | (4 if kind == TOKEN else 0) | PURPOSES.index(purpose)


class OpenList(NamedTuple):
    id: str
    size: int


# The issuing path's statements, built once: a statement built per call costs more Python than
# the round trip it makes (construction, cache key, ORM loading), and issuing runs five of them.
_LISTS = StatusList.__table__  # type: ignore[attr-defined]
_ENTRIES = StatusEntry.__table__  # type: ignore[attr-defined]
_OPEN_LIST = (
    select(_LISTS.c.id, _LISTS.c.size)
    .where(
        _LISTS.c.issuer_id == bindparam("issuer_id"),
        _LISTS.c.purpose == bindparam("purpose"),
        _LISTS.c.kind == bindparam("kind"),
        _LISTS.c.bits == bindparam("bits"),
        _LISTS.c.allocated < _LISTS.c.size * bindparam("fill_limit", type_=Float),
    )
    .order_by(_LISTS.c.created_at.desc())
    .limit(1)
)
_HOLDS = JointStatusHold.__table__  # type: ignore[attr-defined]
# An index is taken when a credential holds it, or a joint draft waiting for its proofs
# (:mod:`app.services.joint`) does.
_TAKEN_ANYWHERE = union_all(
    select(_ENTRIES.c.index).where(
        _ENTRIES.c.list_id == bindparam("list_id"),
        _ENTRIES.c.index.in_(bindparam("drawn", expanding=True)),
    ),
    select(_HOLDS.c.index).where(
        _HOLDS.c.list_id == bindparam("list_id"),
        _HOLDS.c.index.in_(bindparam("drawn", expanding=True)),
    ),
).subquery()
_TAKEN = select(_TAKEN_ANYWHERE.c.index)


def token_bits(issuer: Issuer) -> int:
    """A token list carries suspension (2 bits) when the issuer suspends, else revocation only."""
    return 2 if issuer.suspension_enabled else 1


async def _open_list(
    session: AsyncSession, issuer: Issuer, purpose: str, policy: StatusPolicy, kind: str
) -> OpenList:
    """The issuer's newest list for ``purpose`` with room left; a new one opens before it fills."""
    assert issuer.id is not None
    bits = token_bits(issuer) if kind == TOKEN else 1
    parameters = {
        "issuer_id": issuer.id,
        "purpose": purpose,
        "kind": kind,
        "bits": bits,
        "fill_limit": policy.fill_limit,
    }
    found = (await session.exec(_OPEN_LIST, params=parameters)).first()
    if found is not None:
        return OpenList(*found)
    new_list = StatusList(
        id=str(uuid.uuid4()),
        issuer_id=issuer.id,
        purpose=purpose,
        kind=kind,
        bits=bits,
        size=policy.size,
        created_at=utcnow(),
    )
    if on_postgresql(session):
        # Concurrent first issues must share one new list, not each open (and keep) their own:
        # one transaction at a time may open a list for this issuer and purpose. The lock lasts
        # until that transaction commits; the others then find its list (READ COMMITTED).
        await session.exec(select(func.pg_advisory_xact_lock(_lock_key(issuer.id, purpose, kind))))
        found = (await session.exec(_OPEN_LIST, params=parameters)).first()
        if found is not None:
            return OpenList(*found)
    # (SQLite runs one writer at a time, BEGIN IMMEDIATE: no other request can race us.)
    session.add(new_list)
    await session.flush()
    return OpenList(new_list.id, new_list.size)


@dataclass(frozen=True)
class Reservation:
    """An index no credential held when it was drawn, and the entry a credential carries for it."""

    list_id: str
    index: int
    entry: dict[str, Any]


async def reserve(
    session: AsyncSession,
    issuer: Issuer,
    purpose: str,
    policy: StatusPolicy,
    kind: str = BITSTRING,
) -> Reservation:
    """Draw a random index of the issuer's open list for ``purpose`` that no row holds now.

    Reads only (unless a list must be opened or closed), so the caller may end its transaction
    before signing; :func:`claim` stores the index, and fails if another request claimed it
    meanwhile.
    """
    for _ in range(2):
        status_list = await _open_list(session, issuer, purpose, policy, kind)
        for _ in range(ROUNDS):
            drawn = list(
                dict.fromkeys(secrets.randbelow(status_list.size) for _ in range(DRAWS_PER_ROUND))
            )
            parameters = {"list_id": status_list.id, "drawn": drawn}
            taken = set(await session.exec(_TAKEN, params=parameters))
            for index in drawn:
                if index not in taken:
                    if kind == TOKEN:
                        entry = tokenstatus.reference(policy.token_list_url(status_list.id), index)
                    else:
                        entry = status_entry(policy.list_url(status_list.id), index, purpose)
                    return Reservation(status_list.id, index, entry)
        # Far fuller than the fill limit says (counts lag under heavy concurrency): close it.
        await session.exec(
            update(StatusList)
            .where(col(StatusList.id) == status_list.id)
            .values(allocated=col(StatusList.size))
        )
    raise RuntimeError("could not allocate a status list index")


def entry_rows(
    reservations: Sequence[Reservation], credential_id: str, now: datetime
) -> list[dict[str, Any]]:
    """The ``status_entries`` rows that store the reserved indices for ``credential_id``."""
    return [
        {
            "list_id": reservation.list_id,
            "index": reservation.index,
            "credential_id": credential_id,
            "is_set": False,
            "reason": None,
            "suspended": False,
            "updated_at": now,
        }
        for reservation in reservations
    ]


#: The named changes of a status request's second form, as (purpose, value).
NAMED_CHANGES: dict[str, tuple[str, bool]] = {
    "revoked": (REVOCATION, True),
    "suspended": (SUSPENSION, True),
    "unsuspended": (SUSPENSION, False),
}


def requested_changes(
    purpose: str | None, value: bool | None, named: Sequence[str] = ()
) -> list[tuple[str, bool]]:
    """The changes a status request asks for, in either form: VC-API's (one ``statusPurpose``
    and a boolean ``status``, required with it) or a list of :data:`NAMED_CHANGES`."""
    if purpose is None:
        return [NAMED_CHANGES[name] for name in named]
    if value is None:
        raise ValidationFailed(
            "status is required with a credentialStatus object",
            errors=[{"pointer": "/status", "detail": "a boolean is required"}],
        )
    return [(purpose, value)]


def purposes_for(issuer: Issuer, format: str = "vc") -> Sequence[str]:
    """Revocation always; suspension too when the issuer enables it, except on EDC and Open
    Badges.

    The EDC shapes allow one ``credentialStatus`` (maxCount 1): an EDC keeps its single
    revocation entry so that the object-for-URI deviation stays the only one tolerated. The
    1EdTech Open Badges 3.0 JSON Schema wants ``credentialStatus`` to be one object: a badge
    carries its revocation entry alone, and cannot be suspended.
    """
    if issuer.suspension_enabled and format not in ("edc", "obv3"):
        return PURPOSES
    return (REVOCATION,)


async def entries_of(
    session: AsyncSession, credential_id: str
) -> list[tuple[StatusEntry, StatusList]]:
    query = (
        select(StatusEntry, StatusList)
        .join(StatusList, col(StatusList.id) == col(StatusEntry.list_id))
        .where(StatusEntry.credential_id == credential_id)
        # Bulk UPDATEs bypass the identity map: always read the rows as they are now.
        .execution_options(populate_existing=True)
    )
    return [(entry, status_list) for entry, status_list in (await session.exec(query)).all()]


async def current_status(session: AsyncSession, credential_id: str) -> dict[str, bool]:
    flags = {REVOCATION: False, SUSPENSION: False}
    for entry, status_list in await entries_of(session, credential_id):
        flags[status_list.purpose] = entry.is_set
        if status_list.kind == TOKEN:
            flags[SUSPENSION] = entry.suspended
    return {"revoked": flags[REVOCATION], "suspended": flags[SUSPENSION]}


async def set_status(
    session: AsyncSession,
    credential: Credential,
    purpose: str,
    value: bool,
    *,
    actor: str,
    reason: str | None = None,
) -> dict[str, bool]:
    """Set or clear one status bit; a set revocation bit is final.

    On a token list (SD-JWT VC) suspension is the entry's ``suspended`` flag of a 2-bit list.
    """
    entries = await entries_of(session, credential.id)
    found = [(e, s) for e, s in entries if s.purpose == purpose]
    flag = StatusEntry.is_set
    if not found and purpose == SUSPENSION:
        found = [(e, s) for e, s in entries if s.kind == TOKEN and s.bits == 2]
        flag = StatusEntry.suspended
    if not found:
        raise PurposeNotEnabled(f"credential {credential.id} has no {purpose} status entry")
    entry, status_list = found[0]
    current = entry.suspended if flag is StatusEntry.suspended else entry.is_set
    if purpose == REVOCATION and entry.is_set and not value:
        raise RevocationIsFinal(f"credential {credential.id} is revoked; that cannot be undone")
    if current != value:
        # A conditional UPDATE: of two concurrent identical changes only one counts.
        changed = await session.exec(
            update(StatusEntry)
            .where(
                col(StatusEntry.list_id) == entry.list_id,
                col(StatusEntry.index) == entry.index,
                col(flag) == (not value),
            )
            .values({flag: value, StatusEntry.reason: reason, StatusEntry.updated_at: utcnow()})
        )
        if changed.rowcount:
            await session.exec(
                update(StatusList)
                .where(col(StatusList.id) == status_list.id)
                .values(version=col(StatusList.version) + 1)
            )
            action = {
                (REVOCATION, True): "credential.revoked",
                (SUSPENSION, True): "credential.suspended",
                (SUSPENSION, False): "credential.unsuspended",
            }[(purpose, value)]
            STATUS_CHANGES.labels(action).inc()
            await audit.record(
                session,
                actor=actor,
                action=action,
                issuer_id=credential.issuer_id,
                target=credential.id,
                details={"reason": reason} if reason else {},
            )
        await session.flush()
    return await current_status(session, credential.id)


@dataclass(frozen=True)
class PublishedList:
    document: dict[str, Any]
    etag: str
    valid_until: datetime


#: A published token list is kept as ``{TOKEN_KEY: "<statuslist+jwt>", "kid": "<key id>"}``.
TOKEN_KEY = "statusListToken"


def _etag(document: dict[str, Any]) -> str:
    """The signature covers every byte that matters (bits, validity, proof options), so it tells
    signed lists apart without re-serializing ~30 KB of JSON on every cached GET."""
    proof = document.get("proof")
    tagged = proof.get("proofValue") if isinstance(proof, dict) else document.get(TOKEN_KEY)
    if not isinstance(tagged, str):
        tagged = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(tagged.encode()).hexdigest()[:32] + '"'


async def published_list(
    session: AsyncSession,
    list_id: str,
    *,
    policy: StatusPolicy,
    data_integrity: DataIntegrity,
    key_cache: KeyCache,
    now: datetime | None = None,
    kind: str = BITSTRING,
) -> PublishedList:
    """The signed list credential: cached, re-signed only after a change or when it expires.

    When re-signing fails (the issuer has no active key, a sealed key does not open), the last
    signed list stays served, as it was, rather than none: verifiers keep what they had. A list
    signed by a key revoked since is never served (revoking re-signs the lists at once, see
    :func:`replace_lists_signed_by`; this catches a list signed while the key was revoked), and
    a list that has no servable signed form answers 503.
    """
    now = now or utcnow()
    status_list = await session.get(StatusList, list_id)
    if status_list is None or status_list.kind != kind:
        raise StatusListNotFound(f"no status list {list_id}")
    cached = status_list.published
    cached_until = status_list.published_until
    if cached is not None and not await _signer_usable(session, status_list.issuer_id, cached):
        cached = cached_until = None
    fresh = (
        status_list.published_version == status_list.version
        and cached_until is not None
        and cached_until > now
    )
    if fresh and cached is not None and cached_until is not None:
        return PublishedList(cached, _etag(cached), cached_until)
    try:
        return await _sign_list(
            session,
            status_list,
            policy=policy,
            data_integrity=data_integrity,
            key_cache=key_cache,
            now=now,
        )
    except SIGNING_FAILURES as exc:
        log.error(
            "status list %s cannot be re-signed (%s: %s); %s",
            list_id,
            type(exc).__name__,
            exc,
            "serving the last signed list" if cached is not None else "none was signed yet",
        )
        if cached is None or cached_until is None:
            raise StatusListUnavailable(
                f"status list {list_id} cannot be signed right now",
                headers={"Retry-After": str(SIGNING_RETRY_AFTER)},
            ) from exc
        return PublishedList(cached, _etag(cached), cached_until)


def _signer_of(document: dict[str, Any]) -> str | None:
    if TOKEN_KEY in document:
        kid = document.get("kid")
        return kid if isinstance(kid, str) else None
    proof = document.get("proof")
    method = proof.get("verificationMethod") if isinstance(proof, dict) else None
    return method if isinstance(method, str) else None


async def _signer_usable(session: AsyncSession, issuer_id: int, document: dict[str, Any]) -> bool:
    """Whether the key that signed a published list is one of the issuer's and not revoked."""
    query = select(SigningKey.status).where(
        SigningKey.issuer_id == issuer_id, SigningKey.key_id == _signer_of(document)
    )
    key_status = (await session.exec(query)).first()
    return key_status is not None and key_status != issuers.REVOKED


async def replace_lists_signed_by(
    session: AsyncSession,
    issuer: Issuer,
    key_id: str,
    *,
    policy: StatusPolicy,
    data_integrity: DataIntegrity,
    key_cache: KeyCache,
    now: datetime,
) -> int:
    """After ``key_id`` was revoked: re-sign at once, with the active key, every list of the
    issuer whose published form that key signed; without a usable key, withdraw the published
    form (the list answers 503 until a key is rotated in). Returns how many were re-signed."""
    query = select(StatusList).where(
        col(StatusList.issuer_id) == issuer.id, col(StatusList.published).is_not(None)
    )
    re_signed = 0
    for status_list in (await session.exec(query)).all():
        if status_list.published is None or _signer_of(status_list.published) != key_id:
            continue
        try:
            await _sign_list(
                session,
                status_list,
                policy=policy,
                data_integrity=data_integrity,
                key_cache=key_cache,
                now=now,
            )
            re_signed += 1
        except SIGNING_FAILURES as exc:
            log.warning(
                "status list %s was signed by the revoked key %s and cannot be re-signed (%s); "
                "it is withdrawn until a key is rotated in",
                status_list.id,
                key_id,
                type(exc).__name__,
            )
            await session.exec(
                update(StatusList)
                .where(col(StatusList.id) == status_list.id)
                .values(published=None, published_version=None, published_until=None)
            )
    await session.flush()
    return re_signed


async def _sign_list(
    session: AsyncSession,
    status_list: StatusList,
    *,
    policy: StatusPolicy,
    data_integrity: DataIntegrity,
    key_cache: KeyCache,
    now: datetime,
) -> PublishedList:
    """Sign the list as it is now and keep it as the published one."""
    list_id = status_list.id
    version = status_list.version
    issuer = await session.get(Issuer, status_list.issuer_id)
    assert issuer is not None
    key = await issuers.active_key(session, issuer)
    valid_until = now + policy.ttl
    signed: dict[str, Any]
    if status_list.kind == TOKEN:
        signed = await _token_list(session, status_list, issuer, key, key_cache, policy, now)
        await _keep_published(session, list_id, version, signed, valid_until)
        return PublishedList(signed, _etag(signed), valid_until)
    indexes = (
        await session.exec(
            select(StatusEntry.index).where(
                StatusEntry.list_id == list_id, col(StatusEntry.is_set).is_(True)
            )
        )
    ).all()
    unsigned = status_list_credential(
        policy.list_url(list_id),
        issuer.did,
        Bitstring.with_bits(indexes, size=status_list.size),
        status_list.purpose,
        valid_from=now,
        valid_until=valid_until,
    )
    signed = data_integrity.add_proof(
        unsigned,
        key_cache.key_pair(key.key_id, key.encrypted_seed),
        key.key_id,
        created=now,
    )
    await _keep_published(session, list_id, version, signed, valid_until)
    return PublishedList(signed, _etag(signed), valid_until)


async def _keep_published(
    session: AsyncSession,
    list_id: str,
    version: int,
    signed: dict[str, Any],
    valid_until: datetime,
) -> None:
    # Keep the newest: a slower request that read an older version does not overwrite.
    await session.exec(
        update(StatusList)
        .where(
            col(StatusList.id) == list_id,
            (col(StatusList.published_version).is_(None))
            | (col(StatusList.published_version) <= version),
        )
        .values(published=signed, published_version=version, published_until=valid_until)
    )
    STATUS_LISTS_SIGNED.inc()


async def _token_list(
    session: AsyncSession,
    status_list: StatusList,
    issuer: Issuer,
    key: issuers.ActiveKey,
    key_cache: KeyCache,
    policy: StatusPolicy,
    now: datetime,
) -> dict[str, Any]:
    """The Status List Token of a token list as it is now, signed by the issuer's active key."""
    rows = (
        await session.exec(
            select(StatusEntry.index, StatusEntry.is_set, StatusEntry.suspended).where(
                StatusEntry.list_id == status_list.id,
                col(StatusEntry.is_set).is_(True) | col(StatusEntry.suspended).is_(True),
            )
        )
    ).all()
    values = {
        index: tokenstatus.INVALID if revoked else tokenstatus.SUSPENDED
        for index, revoked, _ in rows
    }
    encoded = tokenstatus.TokenStatusList.with_values(
        values, size=status_list.size, bits=status_list.bits
    )
    claims = tokenstatus.status_list_token_claims(
        policy.token_list_url(status_list.id),
        encoded,
        issuer=issuer.did,
        issued_at=now,
        expires_at=now + policy.ttl,
        ttl=policy.ttl,
    )
    pair = key_cache.key_pair(key.key_id, key.encrypted_seed)
    token = jws.sign({"typ": tokenstatus.TOKEN_TYPE, "kid": key.key_id}, claims, pair)
    return {TOKEN_KEY: token, "kid": key.key_id}
