"""Issuing EU micro-credentials as SD-JWT VCs (``dc+sd-jwt``), their Type Metadata, and their
Token Status Lists.

Issuing follows :func:`app.services.issuance.issue_within`: read (an earlier credential for the
idempotency key, the active key, a free random index of the issuer's token status list), sign,
store the credential with its status entry, audit row and list count, all in the caller's
transaction; an index another request stored meanwhile fails the insert (in a savepoint) and the
read runs again. The stored document is ``{"format": "dc+sd-jwt", "credential": "<SD-JWT>"}``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import jsontext
from app.credentials.microcredential import MicroCredentialIn
from app.crypto import jws
from app.db import store
from app.db.models import Credential, Issuer, utcnow
from app.did.key import public_key_from_did_key
from app.observability import CREDENTIALS_ISSUED
from app.problems import (
    INVALID_DISCLOSURE_POLICY,
    TYPE_METADATA_NOT_FOUND,
    NotFound,
    ValidationFailed,
)
from app.sdjwt import core
from app.sdjwt.microcredential import (
    KINDS,
    MEDIA_TYPE,
    DisclosurePolicy,
    PolicyError,
    claims,
    type_metadata,
    vct_url,
)
from app.services import audit, issuers, status
from app.services.issuance import (
    IdempotencyConflict,
    Issued,
    Issuing,
    IssuingContended,
    SearchFields,
    issuer_profile,
    learner_reference,
)

FORMAT = "sd-jwt"
#: The OpenID4VCI Credential Configuration id of the micro-credential SD-JWT VC.
CONFIGURATION_ID = "EuropeanMicroCredential_dc+sd-jwt"
#: Random digests added to the selectively disclosable ones, so their number says nothing.
DECOYS = 3
STORE_ATTEMPTS = 4


class TypeMetadataNotFound(NotFound):
    type = TYPE_METADATA_NOT_FOUND
    title = "No such credential type"


class InvalidDisclosurePolicy(ValidationFailed):
    type = INVALID_DISCLOSURE_POLICY
    title = "The disclosure policy names claims that cannot be selectable"


def policy_of(issuer: Issuer) -> DisclosurePolicy:
    return DisclosurePolicy.of(issuer.sd_jwt_selectable)


def check_policy(names: list[str] | None) -> list[str] | None:
    try:
        DisclosurePolicy.of(names)
    except PolicyError as exc:
        raise InvalidDisclosurePolicy(
            str(exc), errors=[{"pointer": "/sdJwtSelectable", "detail": str(exc)}]
        ) from None
    return None if names is None else sorted(set(names))


def holder_jwk_of(holder_did: str) -> dict[str, str]:
    """The public JWK of a did:key holder (the OpenID4VCI key proof's key)."""
    return jws.public_jwk(public_key_from_did_key(holder_did))


def oid4vci_configuration(issuer: Issuer, public_url: str) -> dict[str, Any]:
    """The ``dc+sd-jwt`` entry of ``credential_configurations_supported`` (OpenID4VCI A.3)."""
    vct = vct_url(public_url, issuer.slug)
    described = type_metadata(vct, issuer.name, policy_of(issuer))
    return {
        "format": MEDIA_TYPE,
        "vct": vct,
        "scope": CONFIGURATION_ID,
        "cryptographic_binding_methods_supported": ["jwk"],
        "credential_signing_alg_values_supported": [jws.EDDSA],
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": [jws.EDDSA]}},
        "credential_metadata": {
            "display": described["display"],
            "claims": [
                {"path": claim["path"], "display": claim["display"]}
                for claim in described["claims"]
            ],
        },
    }


async def set_policy(session: AsyncSession, issuer: Issuer, selectable: list[str] | None) -> None:
    """Set the issuer's disclosure policy (None: the default), audited."""
    issuer.sd_jwt_selectable = check_policy(selectable)
    session.add(issuer)
    await audit.record(
        session,
        actor=audit.ADMIN,
        action="issuer.sd_jwt_policy",
        issuer_id=issuer.id,
        target=issuer.did,
        details={"selectable": issuer.sd_jwt_selectable},
    )
    await session.flush()


def document_of(sd_jwt: str) -> dict[str, Any]:
    return {"format": MEDIA_TYPE, "credential": sd_jwt}


def credential_of(document: Mapping[str, Any]) -> str | None:
    """The SD-JWT of a stored SD-JWT VC document; None for a JSON-LD credential."""
    value = document.get("credential") if document.get("format") == MEDIA_TYPE else None
    return value if isinstance(value, str) else None


def sign_sd_jwt(
    mc: MicroCredentialIn,
    issuer: Issuer,
    issuing: Issuing,
    key: issuers.ActiveKey,
    *,
    holder_jwk: Mapping[str, Any] | None,
    status_claim: Mapping[str, Any],
    now: datetime,
) -> str:
    """The signed SD-JWT VC of ``mc`` (no database work)."""
    vct = vct_url(issuing.policy.public_url, issuer.slug)
    payload = claims(
        mc,
        issuer_profile(issuer),
        vct=vct,
        issued_at=now,
        holder_jwk=holder_jwk,
        status=status_claim,
    )
    pair = issuing.key_cache.key_pair(key.key_id, key.encrypted_seed)
    header = {"typ": MEDIA_TYPE, "kid": key.key_id}
    return core.issue(header, payload, policy_of(issuer).selectable, pair, decoys=DECOYS)


async def _earlier(
    session: AsyncSession, issuer: Issuer, idempotency_key: str | None, body_hash: str
) -> Credential | None:
    if idempotency_key is None:
        return None
    query = select(Credential).where(
        Credential.issuer_id == issuer.id, or_(Credential.idempotency_key == idempotency_key)
    )
    earlier = (await session.exec(query)).first()
    if earlier is not None and earlier.request_hash != body_hash:
        raise IdempotencyConflict(
            "the idempotency key was first used with a different request body"
        )
    return earlier


def _issued(row: Credential, *, replayed: bool) -> Issued:
    return Issued(row.id, row.document, jsontext.dumps_bytes(row.document), replayed)


async def issue(
    session: AsyncSession,
    issuer: Issuer,
    mc: MicroCredentialIn,
    issuing: Issuing,
    *,
    holder_jwk: Mapping[str, Any] | None,
    actor: str,
    idempotency_key: str | None,
    body_hash: str,
    now: datetime | None = None,
) -> Issued:
    """Issue ``mc`` as an SD-JWT VC bound to ``holder_jwk`` (unbound when None), inside the
    caller's transaction (which commits it): this service never ends a transaction itself. An
    Ed25519 signature over a few claims costs well under a millisecond, so signing inside the
    transaction holds its locks no longer than a round trip would.
    """
    now = now or utcnow()
    assert issuer.id is not None
    if holder_jwk is not None:
        holder_jwk = jws.public_jwk(jws.public_key_from_jwk(holder_jwk))
    for _ in range(STORE_ATTEMPTS):
        earlier = await _earlier(session, issuer, idempotency_key, body_hash)
        if earlier is not None:
            return _issued(earlier, replayed=True)
        reservation = await status.reserve(
            session, issuer, status.REVOCATION, issuing.policy, kind=status.TOKEN
        )
        key = await issuers.active_key(session, issuer)
        credential_id = str(uuid.uuid4())
        sd_jwt = sign_sd_jwt(
            mc,
            issuer,
            issuing,
            key,
            holder_jwk=holder_jwk,
            status_claim=reservation.entry,
            now=now,
        )
        document = document_of(sd_jwt)
        values: dict[str, Any] = {
            "id": credential_id,
            "issuer_id": issuer.id,
            "format": FORMAT,
            "learner_ref": learner_reference(mc),
            "document": document,
            "credential_uri": f"urn:uuid:{credential_id}",
            "idempotency_key": idempotency_key,
            "client_id": None,
            "request_hash": body_hash,
            "created_at": now,
        }
        event = audit.event_values(
            actor,
            "credential.issued",
            issuer.id,
            credential_id,
            {"format": FORMAT, "key": key.key_id},
        )
        rows = store.IssuedRows(
            {**values, **SearchFields.of_learner(mc.learner).columns()},
            status.entry_rows([reservation], credential_id, now),
            event,
        )
        try:
            await store.store_within(session, rows)
        except IntegrityError:  # the index was stored meanwhile (savepoint rolled back): again
            continue
        CREDENTIALS_ISSUED.labels(FORMAT).inc()
        return Issued(credential_id, document, jsontext.dumps_bytes(document), replayed=False)
    raise IssuingContended(
        f"the status indices drawn were taken by other requests {STORE_ATTEMPTS} times"
    )


async def metadata(
    session: AsyncSession, issuer_slug: str, kind: str, public_url: str
) -> dict[str, Any]:
    """The Type Metadata document served at the ``vct`` URL."""
    if kind not in KINDS:
        raise TypeMetadataNotFound(f"no credential type {kind!r}")
    try:
        issuer = await issuers.get_issuer(session, issuer_slug)
    except issuers.IssuerNotFound:
        raise TypeMetadataNotFound(f"no issuer {issuer_slug!r}") from None
    return type_metadata(vct_url(public_url, issuer.slug, kind), issuer.name, policy_of(issuer))
