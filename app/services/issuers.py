"""Issuers (universities), their signing keys and their DID documents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.crypto.keys import KeyPair
from app.db.models import Issuer, SigningKey, utcnow
from app.did.key import (
    DID_CONTEXT,
    MULTIKEY_CONTEXT,
    did_key_from_public_key,
    did_key_verification_method_id,
)
from app.did.web import did_web_for
from app.problems import (
    ISSUER_EXISTS,
    ISSUER_NOT_FOUND,
    KEY_NOT_FOUND,
    KEY_ROTATION_REFUSED,
    NO_ACTIVE_KEY,
    Conflict,
    NotFound,
)
from app.services import audit
from app.services.keystore import KeyCache, seal_seed

ACTIVE, RETIRED, REVOKED = "active", "retired", "revoked"


class IssuerNotFound(NotFound):
    type = ISSUER_NOT_FOUND
    title = "Issuer not found"


class IssuerExists(Conflict):
    type = ISSUER_EXISTS
    title = "An issuer with this slug exists"


class KeyNotFound(NotFound):
    type = KEY_NOT_FOUND
    title = "Signing key not found"


class KeyRotationRefused(Conflict):
    type = KEY_ROTATION_REFUSED
    title = "This issuer's key cannot rotate"


class NoActiveKey(Conflict):
    type = NO_ACTIVE_KEY
    title = "The issuer has no key that may sign"


def fragment(key: SigningKey) -> str:
    """The short key id used in admin paths: the verification method's fragment."""
    return key.key_id.split("#", 1)[1]


def issuer_did_web(public_url: str, slug: str) -> str:
    return did_web_for(public_url, "issuers", slug)


async def get_issuer(session: AsyncSession, slug: str) -> Issuer:
    issuer = (await session.exec(select(Issuer).where(Issuer.slug == slug))).first()
    if issuer is None:
        raise IssuerNotFound(f"no issuer {slug!r}")
    return issuer


async def list_issuers(session: AsyncSession) -> Sequence[Issuer]:
    return (await session.exec(select(Issuer).order_by(col(Issuer.slug)))).all()


async def keys_of(session: AsyncSession, issuer_id: int) -> Sequence[SigningKey]:
    query = select(SigningKey).where(SigningKey.issuer_id == issuer_id).order_by(col(SigningKey.id))
    return (await session.exec(query)).all()


def _new_key(issuer: Issuer, pair: KeyPair, key_id: str, master_key: bytes) -> SigningKey:
    assert issuer.id is not None  # the issuer row is flushed before its keys are made
    return SigningKey(
        issuer_id=issuer.id,
        key_id=key_id,
        public_key_multibase=pair.public_key_multibase,
        encrypted_seed=seal_seed(master_key, pair.seed, key_id),
        status=ACTIVE,
        created_at=utcnow(),
    )


async def create_issuer(
    session: AsyncSession,
    *,
    slug: str,
    name: dict[str, str],
    country: str,
    legal_identifier: str,
    homepage: str | None,
    did_method: str,
    public_url: str,
    suspension_enabled: bool = False,
    master_key: bytes,
    actor: str = audit.ADMIN,
) -> tuple[Issuer, list[SigningKey]]:
    if (await session.exec(select(Issuer.id).where(Issuer.slug == slug))).first() is not None:
        raise IssuerExists(f"the slug {slug!r} is taken")
    pair = KeyPair.generate()
    if did_method == "key":
        did = did_key_from_public_key(pair.public_key)
        key_id = did_key_verification_method_id(did)
    else:
        did = issuer_did_web(public_url, slug)
        key_id = f"{did}#key-1"
    issuer = Issuer(
        slug=slug,
        did=did,
        did_method=did_method,
        name=name,
        country=country,
        legal_identifier=legal_identifier,
        homepage=homepage,
        suspension_enabled=suspension_enabled,
        created_at=utcnow(),
    )
    session.add(issuer)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent request took the slug first
        raise IssuerExists(f"the slug {slug!r} is taken") from exc
    key = _new_key(issuer, pair, key_id, master_key)
    session.add(key)
    await audit.record(
        session,
        actor=actor,
        action="issuer.created",
        issuer_id=issuer.id,
        target=did,
        details={"slug": slug, "didMethod": did_method, "key": key_id},
    )
    await session.flush()
    return issuer, [key]


async def _lock_issuer(session: AsyncSession, issuer: Issuer) -> None:
    """Serialize key changes of one issuer across processes (a row lock on PostgreSQL).

    FOR NO KEY UPDATE, so it does not wait for the key-share locks that every insert referencing
    the issuer holds until it commits.
    """
    await session.exec(
        select(Issuer.id).where(Issuer.id == issuer.id).with_for_update(key_share=True)
    )


async def rotate_key(
    session: AsyncSession, issuer: Issuer, *, master_key: bytes, actor: str = audit.ADMIN
) -> SigningKey:
    """A new key signs from now on; earlier keys stay in the DID document to verify."""
    if issuer.did_method != "web":
        raise KeyRotationRefused("a did:key issuer's DID is its key: it cannot rotate")
    assert issuer.id is not None
    await _lock_issuer(session, issuer)
    keys = await keys_of(session, issuer.id)
    for key in keys:
        if key.status == ACTIVE:
            key.status = RETIRED
            session.add(key)
    key = _new_key(issuer, KeyPair.generate(), f"{issuer.did}#key-{len(keys) + 1}", master_key)
    session.add(key)
    await audit.record(
        session,
        actor=actor,
        action="key.rotated",
        issuer_id=issuer.id,
        target=key.key_id,
        details={"retired": [k.key_id for k in keys if k.status == RETIRED]},
    )
    await session.flush()
    return key


async def revoke_key(
    session: AsyncSession,
    issuer: Issuer,
    short_id: str,
    *,
    key_cache: KeyCache | None = None,
    actor: str = audit.ADMIN,
) -> SigningKey:
    """Compromise: the key leaves the DID document, so what it signed stops verifying."""
    assert issuer.id is not None
    await _lock_issuer(session, issuer)
    keys = await keys_of(session, issuer.id)
    key = next((k for k in keys if fragment(k) == short_id or k.key_id == short_id), None)
    if key is None:
        raise KeyNotFound(f"issuer {issuer.slug!r} has no key {short_id!r}")
    if key.status != REVOKED:
        key.status = REVOKED
        key.revoked_at = utcnow()
        session.add(key)
        await audit.record(
            session, actor=actor, action="key.revoked", issuer_id=issuer.id, target=key.key_id
        )
        await session.flush()
    if key_cache is not None:
        key_cache.forget(key.key_id)
    return key


class ActiveKey(NamedTuple):
    """What signing needs of the issuer's active key."""

    key_id: str
    encrypted_seed: bytes


_KEYS = SigningKey.__table__  # type: ignore[attr-defined]
#: Built once: every issue runs it (see status._OPEN_LIST).
_ACTIVE_KEY = (
    select(_KEYS.c.key_id, _KEYS.c.encrypted_seed)
    .where(_KEYS.c.issuer_id == bindparam("issuer_id"), _KEYS.c.status == ACTIVE)
    .order_by(_KEYS.c.id.desc())
    .limit(1)
)


async def active_key(session: AsyncSession, issuer: Issuer) -> ActiveKey:
    assert issuer.id is not None
    key = (await session.exec(_ACTIVE_KEY, params={"issuer_id": issuer.id})).first()
    if key is None:
        raise NoActiveKey(f"issuer {issuer.slug!r} has no active signing key (rotate one in)")
    return ActiveKey(*key)


def did_document(issuer: Issuer, keys: Sequence[SigningKey]) -> dict[str, Any]:
    """The controller document: keys not revoked may assert; only the active one authenticates."""
    usable = [k for k in keys if k.status != REVOKED]
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": issuer.did,
        "verificationMethod": [
            {
                "id": k.key_id,
                "type": "Multikey",
                "controller": issuer.did,
                "publicKeyMultibase": k.public_key_multibase,
            }
            for k in usable
        ],
        "assertionMethod": [k.key_id for k in usable],
        "authentication": [k.key_id for k in usable if k.status == ACTIVE],
    }
