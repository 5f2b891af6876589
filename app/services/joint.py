"""Joint credentials: a lead issuer drafts a credential several bodies award; each awarding body
adds its own Data Integrity proof over the draft; the credential is released (stored as issued,
with its status entries) when the last one has signed.

The draft is built and checked as any micro-credential (:mod:`app.services.issuance`), its status
indices held in ``joint_status_holds`` so no other credential draws them meanwhile. A proof is
added by compare and set on the row's ``version``: two bodies signing at once both land, and
exactly one request (the one adding the last proof) releases the credential. Drafts expire.
Every step is in the audit trail. Runs in the request's session (committed by it).

A jointly awarded course (``jointAwardingBodies``) drafts its learners' credentials here too
(:func:`app.services.courses.draft_from_course`): the draft then points to the course version's
public page and, once released, is found by ``GET /credentials?course=`` (:class:`CourseLink`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import jsontext
from app.credentials.course import link_to_course
from app.credentials.joint import ProofRefused, assemble, check_offered_proof
from app.credentials.microcredential import MicroCredentialIn
from app.crypto.cryptosuites import EDDSA_RDFC_2022
from app.crypto.dataintegrity import with_data_integrity_context
from app.db import store
from app.db.models import Issuer, JointCredential, JointStatusHold, utcnow
from app.db.store import IssuedRows
from app.problems import (
    JOINT_CREDENTIAL_NOT_FOUND,
    JOINT_DRAFT_EXPIRED,
    JOINT_PROOF_DUPLICATE,
    JOINT_PROOF_REFUSED,
    Conflict,
    NotFound,
    Problem,
    ValidationFailed,
)
from app.services import audit, issuance, issuers, status
from app.services.verification import Verifier

AWAITING, COMPLETE = "awaiting-proofs", "complete"
#: Times a proof is re-added after another body's proof landed first (compare and set).
CAS_ATTEMPTS = 20
#: The DID methods whose proofs this service can check (did:key offline, did:web fetched).
SUPPORTED_DIDS = ("did:key:", "did:web:")


class JointNotFound(NotFound):
    type = JOINT_CREDENTIAL_NOT_FOUND
    title = "Joint credential not found"


class DraftExpired(Problem):
    type = JOINT_DRAFT_EXPIRED
    title, status = "The joint credential's draft has expired", 410


class ProofNotAccepted(ValidationFailed):
    type = JOINT_PROOF_REFUSED
    title = "The proof cannot join this credential's proof set"


class DuplicateProof(Conflict):
    type = JOINT_PROOF_DUPLICATE
    title = "This awarding body has signed already"


@dataclass(frozen=True)
class BodyRef:
    """An awarding body as the request names it: a hosted issuer (slug or DID) or a foreign
    DID with its organisation data."""

    issuer: str
    organisation: dict[str, Any]


@dataclass(frozen=True)
class CourseLink:
    """The course version a joint credential is drafted from, and its public page."""

    course_id: str
    version: int
    url: str


@dataclass(frozen=True)
class JointView:
    row: JointCredential

    @property
    def missing(self) -> list[str]:
        return [did for did in self.row.bodies if did not in self.row.proofs]

    @property
    def credential(self) -> dict[str, Any] | None:
        if self.row.state != COMPLETE:
            return None
        return assemble(self.row.draft, [self.row.proofs[did] for did in self.row.bodies])


async def _hosted(session: AsyncSession, name: str) -> Issuer | None:
    query = select(Issuer).where(or_(Issuer.slug == name, Issuer.did == name))
    return (await session.exec(query)).first()


async def resolve_bodies(
    session: AsyncSession,
    lead: Issuer,
    refs: Sequence[BodyRef],
    *,
    field: str = "awardingBodies",
    lead_role: str = "the caller",
) -> list[dict[str, Any]]:
    """The request's awarding bodies as micro-credential organisations, each with its DID:
    hosted issuers' data from their records; the lead must be one of them. Errors point into
    ``/{field}``."""
    organisations: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for index, ref in enumerate(refs):
        pointer = f"/{field}/{index}/issuer"
        hosted = await _hosted(session, ref.issuer)
        if hosted is not None:
            organisation: dict[str, Any] = {
                "id": hosted.did,
                "name": hosted.name,
                "country": hosted.country,
                "legalIdentifier": hosted.legal_identifier,
            }
            if hosted.homepage:
                organisation["homepage"] = hosted.homepage
            organisations.append({**organisation, **ref.organisation, "id": hosted.did})
        elif ref.issuer.startswith(SUPPORTED_DIDS):
            if "name" not in ref.organisation or "country" not in ref.organisation:
                errors.append(
                    {
                        "pointer": pointer,
                        "detail": "an awarding body not hosted here needs its name and country",
                    }
                )
            organisations.append({**ref.organisation, "id": ref.issuer})
        else:
            errors.append(
                {
                    "pointer": pointer,
                    "detail": f"{ref.issuer!r} is neither an issuer of this service (slug or "
                    "DID) nor a did:key or did:web",
                }
            )
    dids = [organisation["id"] for organisation in organisations]
    if len(set(dids)) != len(dids):
        errors.append({"pointer": f"/{field}", "detail": "an awarding body is named twice"})
    if len(refs) < 2:  # an unknown body has its own error
        errors.append(
            {"pointer": f"/{field}", "detail": "a joint credential has two or more bodies"}
        )
    if lead.did not in dids:
        errors.append(
            {
                "pointer": f"/{field}",
                "detail": f"the lead issuer ({lead_role}) must be one of the awarding bodies",
            }
        )
    if errors:
        raise ValidationFailed("the awarding bodies cannot award jointly", errors=errors)
    return organisations


def draft_and_sign(
    issuing: issuance.Issuing,
    build: issuance.Builder,
    validate: issuance.Validator | None,
    uri: str,
    entries: list[dict[str, Any]],
    key: issuers.ActiveKey,
    *,
    cryptosuite: str,
    now: datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The draft (checked as any credential before signing) and the lead's proof over it."""
    unsigned = build(uri, entries)
    issuance.check_pinned_form(issuing, unsigned)
    if validate is not None:
        validate(unsigned)
    draft = with_data_integrity_context(unsigned)
    return draft, sign_draft(issuing, draft, key, cryptosuite=cryptosuite, now=now)


def sign_draft(
    issuing: issuance.Issuing,
    draft: Mapping[str, Any],
    key: issuers.ActiveKey,
    *,
    cryptosuite: str,
    now: datetime,
) -> dict[str, Any]:
    """A hosted awarding body's proof over the draft alone (a member of the proof set)."""
    pair = issuing.key_cache.key_pair(key.key_id, key.encrypted_seed)
    signed = issuing.data_integrity.add_proof(
        draft, pair, key.key_id, created=now, cryptosuite=cryptosuite
    )
    proof: dict[str, Any] = signed["proof"]
    return proof


async def create(
    session: AsyncSession,
    issuing: issuance.Issuing,
    lead: Issuer,
    mc: MicroCredentialIn,
    *,
    actor: str,
    ttl: timedelta,
    course: CourseLink | None = None,
) -> JointView:
    """Build the draft, hold its status indices, add the lead's proof: ``awaiting-proofs``.
    Drafted from a ``course`` version, the draft points to its public page and the credential
    records the course and version."""
    assert lead.id is not None
    if mc.format == "sd-jwt":
        raise ValidationFailed(
            "an SD-JWT VC has one signature: it cannot be awarded jointly",
            errors=[{"pointer": "/format", "detail": "a joint credential is edc or obv3"}],
        )
    now = utcnow()
    await _release_expired_holds(session, lead, now)
    branding = await issuance.branding_of(session, lead)
    build, validate = issuance.microcredential_builder(mc, lead, issuing, now, branding)
    if course is not None:
        build = _linked(build, mc.format, course.url)
    reservations = [
        await status.reserve(session, lead, purpose, issuing.policy)
        for purpose in status.purposes_for(lead, mc.format)
    ]
    key = await issuers.active_key(session, lead)
    joint_id = str(uuid.uuid4())
    uri = f"urn:uuid:{joint_id}"
    cryptosuite = mc.cryptosuite or EDDSA_RDFC_2022
    draft, proof = await issuing.offload.run(
        partial(
            draft_and_sign,
            issuing,
            build,
            validate,
            uri,
            [reservation.entry for reservation in reservations],
            key,
            cryptosuite=cryptosuite,
            now=now,
        )
    )
    bodies = [body.id for body in mc.awardingBodies or () if body.id is not None]
    search = issuance.SearchFields.of_learner(
        mc.learner,
        course.course_id if course is not None else None,
        course.version if course is not None else None,
    )
    row = JointCredential(
        id=joint_id,
        issuer_id=lead.id,
        format=mc.format,
        credential_uri=uri,
        bodies=bodies,
        draft=draft,
        proofs={lead.did: proof},
        state=AWAITING,
        version=1,
        record={
            "learner_ref": issuance.learner_reference(mc),
            "search": search.columns(),
            "request_hash": issuance.request_hash(mc.model_dump(mode="json")),
            "cryptosuite": cryptosuite,
            "holds": [[r.list_id, r.index] for r in reservations],
        },
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
            for reservation in reservations:
                session.add(
                    JointStatusHold(
                        list_id=reservation.list_id, index=reservation.index, joint_id=joint_id
                    )
                )
            await session.flush()
    except IntegrityError:
        raise issuance.IssuingContended(
            "a status index drawn for the draft was taken meanwhile: try again"
        ) from None
    await audit.record(
        session,
        actor=actor,
        action="joint.drafted",
        issuer_id=lead.id,
        target=joint_id,
        details={
            "format": mc.format,
            "bodies": bodies,
            "expiresAt": row.expires_at.isoformat(),
            **(
                {"course": {"id": course.course_id, "version": course.version}}
                if course is not None
                else {}
            ),
        },
    )
    await _proof_recorded(session, row, lead.did, actor, hosted=True)
    return JointView(row)


def _linked(build: issuance.Builder, format: str, url: str) -> issuance.Builder:
    def build_linked(uri: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        return link_to_course(build(uri, entries), format, url)

    return build_linked


async def _release_expired_holds(session: AsyncSession, lead: Issuer, now: datetime) -> None:
    """The status indices the lead's expired drafts held go back to the lists."""
    expired = select(JointCredential.id).where(
        JointCredential.issuer_id == lead.id,
        JointCredential.state == AWAITING,
        col(JointCredential.expires_at) <= now,
    )
    await session.exec(delete(JointStatusHold).where(col(JointStatusHold.joint_id).in_(expired)))


async def _proof_recorded(
    session: AsyncSession,
    row: JointCredential,
    did: str,
    actor: str,
    *,
    hosted: bool,
    signer_id: int | None = None,
) -> None:
    """The proof's audit row: in the trail of the issuer that signed here, else the lead's."""
    await audit.record(
        session,
        actor=actor,
        action="joint.proof-added",
        issuer_id=signer_id if signer_id is not None else row.issuer_id,
        target=row.id,
        details={"awardingBody": did, "madeHere": hosted},
    )


async def _load(session: AsyncSession, joint_id: str) -> JointCredential:
    query = (
        select(JointCredential)
        .where(JointCredential.id == joint_id)
        .execution_options(populate_existing=True)
    )
    row = (await session.exec(query)).first()
    if row is None:
        raise JointNotFound(f"no joint credential {joint_id!r}")
    return row


async def read(session: AsyncSession, joint_id: str, caller: Issuer) -> JointView:
    """The joint credential, for any of its awarding issuers (404 for everyone else)."""
    row = await _load(session, joint_id)
    if caller.did not in row.bodies:
        raise JointNotFound(f"no joint credential {joint_id!r}")
    return JointView(row)


def _open(row: JointCredential, did: str, now: datetime) -> None:
    """Refuse a proof for a released or expired draft, or from a body that signed already."""
    if row.state == COMPLETE or did in row.proofs:
        raise DuplicateProof(f"{did} has signed this credential already")
    if row.expires_at <= now:
        raise DraftExpired(f"the draft expired at {row.expires_at.isoformat()}")


async def sign_here(
    session: AsyncSession,
    issuing: issuance.Issuing,
    joint_id: str,
    signer: Issuer,
    *,
    actor: str,
) -> JointView:
    """A co-awarding issuer hosted here signs the draft with its active key."""
    row = await _load(session, joint_id)
    if signer.did not in row.bodies:
        raise JointNotFound(f"no joint credential {joint_id!r}")
    now = utcnow()
    _open(row, signer.did, now)
    key = await issuers.active_key(session, signer)
    proof = await issuing.offload.run(
        partial(
            sign_draft,
            issuing,
            row.draft,
            key,
            cryptosuite=row.record.get("cryptosuite", EDDSA_RDFC_2022),
            now=now,
        )
    )
    return await _add(session, joint_id, signer.did, proof, actor, hosted=True, signer_id=signer.id)


async def add_foreign_proof(
    session: AsyncSession,
    reading: async_sessionmaker[AsyncSession],
    verifier: Verifier,
    joint_id: str,
    proof: Any,
    *,
    actor: str,
    caller: Issuer | None,
) -> JointView:
    """A proof made elsewhere over the draft: it must be a missing awarding body's and verify.

    The draft is read and the proof verified before ``session`` (the request's) begins: the
    verifier's lookups use sessions of their own, and on SQLite one connection serves the
    process. The proof is then added in ``session`` (:func:`_add` checks the state again)."""
    async with reading() as short:
        row = await _load(short, joint_id)
    if caller is not None and caller.did not in row.bodies:
        raise JointNotFound(f"no joint credential {joint_id!r}")
    now = utcnow()
    missing = [did for did in row.bodies if did not in row.proofs]
    try:
        did = check_offered_proof(proof, missing, row.bodies)
    except ProofRefused as exc:
        if row.state != COMPLETE and str(exc).endswith("already"):
            raise DuplicateProof(str(exc)) from None
        if row.state == COMPLETE:
            raise DuplicateProof("the credential is complete: every body has signed") from None
        raise ProofNotAccepted(
            str(exc), errors=[{"pointer": "/proof", "detail": str(exc)}]
        ) from None
    _open(row, did, now)
    result = await verifier.verify_proof_of(row.draft, proof, now=now)
    if not result.verified:
        detail = result.error.detail if result.error is not None else "it does not verify"
        raise ProofNotAccepted(
            f"the proof does not verify over the draft: {detail}",
            errors=[{"pointer": "/proof", "detail": str(detail)}],
        )
    method = result.verification_method
    if method is None or method.controller != did:
        raise ProofNotAccepted(
            f"the proof's method is not controlled by {did}",
            errors=[{"pointer": "/proof/verificationMethod", "detail": "not the body's method"}],
        )
    return await _add(session, joint_id, did, dict(proof), actor, hosted=False)


async def _add(
    session: AsyncSession,
    joint_id: str,
    did: str,
    proof: dict[str, Any],
    actor: str,
    *,
    hosted: bool,
    signer_id: int | None = None,
) -> JointView:
    """Add the proof by compare and set on ``version``; release the credential with the last."""
    for _ in range(CAS_ATTEMPTS):
        row = await _load(session, joint_id)
        now = utcnow()
        _open(row, did, now)
        proofs = {**row.proofs, did: proof}
        complete = all(body in proofs for body in row.bodies)
        changed = await session.exec(
            update(JointCredential)
            .where(
                col(JointCredential.id) == joint_id,
                col(JointCredential.version) == row.version,
            )
            .values(
                proofs=proofs,
                version=row.version + 1,
                state=COMPLETE if complete else AWAITING,
                completed_at=now if complete else None,
            )
        )
        if changed.rowcount != 1:  # another body's proof landed first: read again
            continue
        row = await _load(session, joint_id)
        await _proof_recorded(session, row, did, actor, hosted=hosted, signer_id=signer_id)
        if complete:
            await _release(session, row, actor, now)
        return JointView(row)
    raise issuance.IssuingContended("other proofs kept landing first: try again")


async def _release(session: AsyncSession, row: JointCredential, actor: str, now: datetime) -> None:
    """Store the credential as issued (its row, status entries, audit) and drop the holds."""
    document = assemble(row.draft, [row.proofs[did] for did in row.bodies])
    holds = [(list_id, index) for list_id, index in row.record.get("holds", [])]
    await session.exec(delete(JointStatusHold).where(col(JointStatusHold.joint_id) == row.id))
    entries = [
        {
            "list_id": list_id,
            "index": index,
            "credential_id": row.id,
            "is_set": False,
            "reason": None,
            "suspended": False,
            "updated_at": now,
        }
        for list_id, index in holds
    ]
    credential: dict[str, Any] = {
        "id": row.id,
        "issuer_id": row.issuer_id,
        "format": row.format,
        "learner_ref": row.record.get("learner_ref"),
        "document": jsontext.Written(jsontext.dumps_bytes(document).decode("utf-8")),
        "credential_uri": row.credential_uri,
        "idempotency_key": None,
        "client_id": None,
        "request_hash": row.record.get("request_hash", ""),
        "created_at": now,
        **row.record.get("search", {}),
    }
    event = audit.event_values(
        actor,
        "credential.issued",
        row.issuer_id,
        row.id,
        {"format": row.format, "joint": True, "awardingBodies": row.bodies},
    )
    try:
        await store.store_within(session, IssuedRows(credential, entries, event))
    except IntegrityError:
        raise issuance.IssuingContended(
            "a status index of the draft was taken by another credential"
        ) from None
