"""Issuing: allocate status entries, build, sign with the issuer's active key, record.

A credential is written in one transaction with its status entries and audit row; an
``Idempotency-Key`` (or VC-API ``options.credentialId``) makes a retried request replay the first
reply instead of issuing twice, even when two retries race (the unique constraint decides).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import jsontext
from app.credentials.microcredential import IssuerProfile, Learner, MicroCredentialIn
from app.credentials.stack import StackPart
from app.crypto.cryptosuites import EDDSA_RDFC_2022
from app.crypto.dataintegrity import DataIntegrity, with_data_integrity_context
from app.crypto.errors import ProofError
from app.db import store
from app.db.models import Credential, Issuer, IssuerBranding, utcnow
from app.db.store import IssuedRows
from app.jsonld import JsonLdProcessingError, OfflineDocumentLoader
from app.jsonld.form import NotPinnedForm, PinnedForm
from app.observability import CREDENTIALS_ISSUED
from app.problems import (
    CREDENTIAL_NOT_FOUND,
    EDC_SHAPE_VIOLATION,
    IDEMPOTENCY_KEY_REUSED,
    ISSUING_CONTENDED,
    NOT_PINNED_FORM,
    Conflict,
    MalformedValue,
    NotFound,
    Problem,
    ServiceUnavailable,
    ValidationFailed,
    json_pointer,
)
from app.services import audit, issuers, status
from app.services.keystore import KeyCache
from app.services.offload import Offload

#: ``build(credential_uri, status_entries)``: the unsigned credential.
Builder = Callable[[str, list[dict[str, Any]]], dict[str, Any]]
#: ``validate(unsigned)``: raises a :class:`Problem` for a document that must not be signed.
Validator = Callable[[dict[str, Any]], None]


class CredentialNotFound(NotFound):
    type = CREDENTIAL_NOT_FOUND
    title = "Credential not found"


class IdempotencyConflict(Conflict):
    type = IDEMPOTENCY_KEY_REUSED
    title = "This idempotency key was used with another request body"


class IssuingContended(ServiceUnavailable):
    type = ISSUING_CONTENDED
    title = "Other requests kept taking the status indices drawn: try again"


class NotInPinnedForm(ValidationFailed):
    """What would be signed has more than one JSON reading (:mod:`app.jsonld.form`)."""

    type = NOT_PINNED_FORM
    title = "Not in the expected JSON-LD form"

    @classmethod
    def of(cls, error: NotPinnedForm, prefix: str = "") -> NotInPinnedForm:
        return cls(
            error.reason, errors=[{"pointer": prefix + error.pointer, "detail": error.reason}]
        )


def check_pinned_form(issuing: Issuing, document: Mapping[str, Any], prefix: str = "") -> None:
    """Refuse (422) a document that is not in the compact form of its data under its pinned
    contexts: the service signs only documents with one JSON reading."""
    try:
        issuing.form.check(document)
    except NotPinnedForm as exc:
        raise NotInPinnedForm.of(exc, prefix) from None


class EdcShapeViolation(ValidationFailed):
    type = EDC_SHAPE_VIOLATION
    title = "The credential does not conform to the EDC application profile"


@dataclass(frozen=True)
class Issuing:
    """What issuance needs from the running service."""

    data_integrity: DataIntegrity
    key_cache: KeyCache
    policy: status.StatusPolicy
    loader: OfflineDocumentLoader
    form: PinnedForm
    #: where the canonicalization (and SHACL) of large documents runs
    offload: Offload


@dataclass(frozen=True)
class Issued:
    """A credential issued now or replayed: its id, the signed document, and that document's
    JSON text (written once, for the database and the reply)."""

    id: str
    document: dict[str, Any]
    json: bytes
    replayed: bool

    @classmethod
    def stored(cls, row: Credential, *, replayed: bool) -> Issued:
        return cls(row.id, row.document, jsontext.dumps_bytes(row.document), replayed)


def request_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def issuer_profile(
    issuer: Issuer, branding: IssuerBranding | None = None, public_url: str | None = None
) -> IssuerProfile:
    """The issuer as its credentials name it; with its colour and PNG logo (``branding``) for
    the certificate pages, and the logo's public URL (under ``public_url``) for Open Badges'
    ``image``."""
    has_logo = branding is not None and branding.logo is not None
    return IssuerProfile(
        did=issuer.did,
        name=issuer.name,
        country=issuer.country,
        legal_identifier=issuer.legal_identifier,
        homepage=issuer.homepage,
        colour=branding.colour if branding else None,
        logo=branding.logo if branding and branding.logo_type == "image/png" else None,
        logo_uri=f"{public_url}/issuers/{issuer.slug}/logo" if has_logo and public_url else None,
    )


async def branding_of(session: AsyncSession, issuer: Issuer) -> IssuerBranding | None:
    """The issuer's colour and logo, if it uploaded them; detached from the session, so that a
    rollback while issuing (which expires what the session holds) leaves it readable."""
    branding = await session.get(IssuerBranding, issuer.id)
    if branding is not None:
        session.expunge(branding)
    return branding


async def find_credential(session: AsyncSession, issuer: Issuer, credential_id: str) -> Credential:
    """A credential of this issuer by our id, its VC ``id`` or the caller's ``credentialId``."""
    query = select(Credential).where(
        Credential.issuer_id == issuer.id,
        or_(
            Credential.id == credential_id,
            Credential.credential_uri == credential_id,
            Credential.client_id == credential_id,
        ),
    )
    found = (await session.exec(query)).first()
    if found is None:
        raise CredentialNotFound(f"no credential {credential_id!r}")
    return found


async def public_credential(session: AsyncSession, credential_id: str) -> Credential | None:
    """A credential by our id, whoever issued it: for its public page ``/v/{id}`` (the link
    its certificate's QR code carries)."""
    return await session.get(Credential, credential_id)


async def _replay(session: AsyncSession, order: IssueOrder) -> Credential | None:
    return await _earlier(
        session, order.issuer, order.idempotency_key, order.client_id, order.body_hash
    )


async def replayed(
    session: AsyncSession, issuer: Issuer, idempotency_key: str | None, body_hash: str
) -> Issued | None:
    """The credential a first request with this ``Idempotency-Key`` issued, to replay before
    any other work (a stack's parts are not verified again for a retry); a 409 when the key
    came with another body."""
    earlier = await _earlier(session, issuer, idempotency_key, None, body_hash)
    return Issued.stored(earlier, replayed=True) if earlier is not None else None


async def _earlier(
    session: AsyncSession,
    issuer: Issuer,
    idempotency_key: str | None,
    client_id: str | None,
    body_hash: str,
) -> Credential | None:
    conditions = []
    if idempotency_key is not None:
        conditions.append(Credential.idempotency_key == idempotency_key)
    if client_id is not None:
        conditions.append(Credential.client_id == client_id)
    if not conditions:
        return None
    query = select(Credential).where(Credential.issuer_id == issuer.id, or_(*conditions))
    earlier = (await session.exec(query)).first()
    if earlier is not None and earlier.request_hash != body_hash:
        raise IdempotencyConflict(
            "the idempotency key (or credentialId) was first used with a different request body"
        )
    return earlier


def build_and_sign(
    issuing: Issuing,
    build: Builder,
    validate: Validator | None,
    uri: str,
    entries: list[dict[str, Any]],
    key: issuers.ActiveKey,
    *,
    cryptosuite: str,
    now: datetime,
) -> dict[str, Any]:
    """The sign step of :func:`issue_and_commit` and :func:`issue_within`: no database work.

    It runs on the event loop, not in a worker thread: a thread would still hold the GIL for all
    but the Rust and zlib parts, and the handoffs cost more than they freed (bench/README.md,
    "Signing on the event loop"). The loop serves other requests at each database round trip
    in between. It runs through ``issuing.offload``: a large document's canonicalization (and
    SHACL) happens in a worker process, and this step runs again with the outcome (it has no
    effect until it returns).
    """
    unsigned = build(uri, entries)
    check_pinned_form(issuing, unsigned)
    if validate is not None:
        # Before the proof: nothing is signed that fails, and the rdfc signer then takes the
        # N-Quads the check just computed from the canonicalizer's memory. The proof only adds
        # its link triple to the default graph, a property no EDC shape constrains (the shapes'
        # cred:proof is not the sec:proof of Data Integrity).
        validate(unsigned)
    pair = issuing.key_cache.key_pair(key.key_id, key.encrypted_seed)
    signed = issuing.data_integrity.add_proof(
        unsigned, pair, key.key_id, created=now, cryptosuite=cryptosuite
    )
    if wants_proof_array(unsigned):
        signed["proof"] = [signed["proof"]]
    return signed


#: Types whose documents carry ``proof`` as an array: the 1EdTech Open Badges 3.0 JSON Schema
#: (which 1EdTech's validators check) wants one, where the VC model allows an object too.
PROOF_ARRAY_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})


def wants_proof_array(document: Mapping[str, Any]) -> bool:
    types = document.get("type")
    return isinstance(types, list) and not PROOF_ARRAY_TYPES.isdisjoint(
        t for t in types if isinstance(t, str)
    )


#: Times the store step may find a drawn status index taken meanwhile before issuing gives up.
STORE_ATTEMPTS = 4


@dataclass(frozen=True)
class IssueOrder:
    """One credential to issue: whose, how it is built and checked, and what is recorded with it.

    ``build(credential_uri, status_entries)`` makes the unsigned document; ``validate``, if
    given, checks it before it is signed. ``idempotency_key`` and ``client_id`` (VC-API
    ``options.credentialId``) make a retry replay the first credential; ``body_hash`` tells a
    retry from another request reusing them.
    """

    issuer: Issuer
    build: Builder
    format: str
    body_hash: str
    actor: str
    cryptosuite: str | None = None
    validate: Validator | None = None
    learner_ref: str | None = None
    idempotency_key: str | None = None
    client_id: str | None = None
    credential_uri: str | None = None
    now: datetime = field(default_factory=utcnow)
    search: SearchFields | None = None
    #: The status purposes to add entries for (none when empty); by default those
    #: :func:`status.purposes_for` gives the issuer and format.
    purposes: Sequence[str] | None = None
    #: More details of the ``credential.issued`` audit event (a stack's parts).
    audit_details: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class _Drawn:
    """What the read step found for a new credential: its status indices and the signing key."""

    reservations: list[status.Reservation]
    key: issuers.ActiveKey


@dataclass(frozen=True)
class _Signed:
    issued: Issued
    rows: IssuedRows


async def issue_and_commit(session: AsyncSession, issuing: Issuing, order: IssueOrder) -> Issued:
    """Issue one credential in short transactions of its own: a named exception to the rule that
    only the request's session commits (:mod:`app.db.session`).

    The read step is committed before signing and the store step right after it, so that no
    transaction (and on SQLite no write lock, which every transaction takes) spans the signing.
    For callers whose session holds nothing else: HTTP issuing, each item of a batch.
    """
    for _ in range(STORE_ATTEMPTS):
        drawn = await _read(session, issuing, order)
        if isinstance(drawn, Issued):
            return drawn
        await session.commit()
        signed = await _sign(issuing, order, drawn)
        try:
            await store.store_alone(session, signed.rows)
            await session.commit()
        except IntegrityError:
            await session.rollback()
            await session.refresh(order.issuer)  # a rollback expires what the session loaded
            continue
        return _counted(signed)
    raise _contended()


async def issue_within(
    session: AsyncSession,
    issuing: Issuing,
    order: IssueOrder,
    *,
    counts: Counter[str] | None = None,
) -> Issued:
    """Issue one credential inside the caller's transaction, which commits it (or not) with the
    rest of its work: OpenID4VCI redemption, where the offer's update and the credential are
    atomic; a cohort's rows. The store step runs in a savepoint, so a lost race leaves the
    caller's work intact. With ``counts`` the status lists' counts are gathered there for the
    caller to write before it commits (:func:`app.db.store.add_counts`).
    """
    for _ in range(STORE_ATTEMPTS):
        drawn = await _read(session, issuing, order)
        if isinstance(drawn, Issued):
            return drawn
        signed = await _sign(issuing, order, drawn)
        try:
            await store.store_within(session, signed.rows, counts)
        except IntegrityError:
            continue
        return _counted(signed)
    raise _contended()


async def _read(session: AsyncSession, issuing: Issuing, order: IssueOrder) -> Issued | _Drawn:
    """The read step: an earlier credential for the idempotency key (replayed), else a free
    random index of each status list and the active key."""
    earlier = await _replay(session, order)
    if earlier is not None:
        return Issued.stored(earlier, replayed=True)
    reservations = [
        await status.reserve(session, order.issuer, purpose, issuing.policy)
        for purpose in (
            order.purposes
            if order.purposes is not None
            else status.purposes_for(order.issuer, order.format)
        )
    ]
    return _Drawn(reservations, await issuers.active_key(session, order.issuer))


async def _sign(issuing: Issuing, order: IssueOrder, drawn: _Drawn) -> _Signed:
    """The sign step, without the database: build, validate and sign (:func:`build_and_sign`,
    through ``issuing.offload``), and the rows that store the result."""
    assert order.issuer.id is not None
    credential_id = str(uuid.uuid4())
    uri = order.credential_uri or f"urn:uuid:{credential_id}"
    entries = [reservation.entry for reservation in drawn.reservations]
    signed = await issuing.offload.run(
        partial(
            build_and_sign,
            issuing,
            order.build,
            order.validate,
            uri,
            entries,
            drawn.key,
            cryptosuite=order.cryptosuite or EDDSA_RDFC_2022,
            now=order.now,
        )
    )
    written = jsontext.dumps_bytes(signed)
    credential: dict[str, Any] = {
        "id": credential_id,
        "issuer_id": order.issuer.id,
        "format": order.format,
        "learner_ref": order.learner_ref,
        "document": jsontext.Written(written.decode("utf-8")),
        "credential_uri": uri,
        "idempotency_key": order.idempotency_key,
        "client_id": order.client_id,
        "request_hash": order.body_hash,
        "created_at": order.now,
        **(order.search or SearchFields()).columns(),
    }
    event = audit.event_values(
        order.actor,
        "credential.issued",
        order.issuer.id,
        credential_id,
        {"format": order.format, "key": drawn.key.key_id, **(order.audit_details or {})},
    )
    rows = IssuedRows(
        credential, status.entry_rows(drawn.reservations, credential_id, order.now), event
    )
    return _Signed(Issued(credential_id, signed, written, replayed=False), rows)


def _counted(signed: _Signed) -> Issued:
    CREDENTIALS_ISSUED.labels(signed.rows.credential["format"]).inc()
    return signed.issued


def _contended() -> IssuingContended:
    return IssuingContended(
        f"the status indices drawn were taken by other requests {STORE_ATTEMPTS} times"
    )


@dataclass(frozen=True)
class SearchFields:
    """What GET /credentials finds a credential by, stored beside it at issue time."""

    learner_key: str | None = None
    learner_name: str | None = None
    course_id: str | None = None
    course_version: int | None = None

    @classmethod
    def of_learner(
        cls, learner: Learner, course_id: str | None = None, course_version: int | None = None
    ) -> SearchFields:
        """From a micro-credential's ``learner`` (identifier value, else e-mail, else DID)."""
        key = learner.identifier.value if learner.identifier is not None else None
        name = learner.full_name
        return cls(
            learner_key=key or learner.email or learner.id,
            learner_name=name[:300] if name else None,
            course_id=course_id,
            course_version=course_version,
        )

    def columns(self) -> dict[str, Any]:
        return {
            "learner_key": self.learner_key,
            "learner_name": self.learner_name,
            "learner_name_folded": fold_name(self.learner_name) if self.learner_name else None,
            "course_id": self.course_id,
            "course_version": self.course_version,
        }


def fold_name(name: str) -> str:
    """A name as searched: lower case, accents and extra spaces dropped ("Seán  Ó Brien" ->
    "sean o brien")."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())[:300]


def learner_reference(mc: MicroCredentialIn) -> str | None:
    learner = mc.learner
    if learner.identifier is not None:
        return f"{learner.identifier.scheme}:{learner.identifier.value}"
    return learner.email or learner.id


def public_page(issuing: Issuing, credential_uri: str) -> str | None:
    """The credential's public page, ``{public_url}/v/{uuid}`` (the certificate's QR code), for
    a ``urn:uuid:`` credential id; None for any other id."""
    if not credential_uri.startswith("urn:uuid:"):
        return None
    return f"{issuing.policy.public_url}/v/{credential_uri.removeprefix('urn:uuid:')}"


def microcredential_builder(
    mc: MicroCredentialIn,
    issuer: Issuer,
    issuing: Issuing,
    now: datetime,
    branding: IssuerBranding | None = None,
    parts: Sequence[StackPart] = (),
) -> tuple[Builder, Validator | None]:
    """The builder for ``mc.format`` and, for EDC, the SHACL check every EDC must pass;
    ``parts`` (verified by :func:`app.services.stacks.resolve_and_commit`) are recorded in the
    credential.
    """
    from app.credentials.edc import build_edc
    from app.credentials.obv3 import build_obv3
    from app.credentials.render import render_pages
    from app.credentials.shacl import validate_edc
    from app.credentials.stack import record_parts

    profile = issuer_profile(issuer, branding, issuing.policy.public_url)
    issuer_awards = mc.awardingBodies is None or any(
        body.id == issuer.did for body in mc.awardingBodies
    )
    if mc.mandateStatement and issuer_awards:
        raise ValidationFailed(
            "the issuer is an awarding body: it needs no mandate",
            errors=[
                {
                    "pointer": "/mandateStatement",
                    "detail": "a mandate is stated only when the issuer is not an awarding body",
                }
            ],
        )
    if mc.format == "obv3":

        def build_ob(uri: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
            return record_parts(
                build_obv3(mc, profile, credential_id=uri, issued=now, status=entries), parts
            )

        return build_ob, None

    def build_ed(uri: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        # With the Data Integrity context the signer would append (a micro-credential always
        # gets an eddsa proof): the SHACL check then canonicalizes what the signer does.
        return with_data_integrity_context(
            record_parts(
                build_edc(
                    mc,
                    profile,
                    credential_id=uri,
                    issued=now,
                    status=entries,
                    display_images=render_pages(mc, profile, link=public_page(issuing, uri)),
                ),
                parts,
            )
        )

    def check(document: dict[str, Any]) -> None:
        report = validate_edc(
            document, issuing.loader, canonicalizer=issuing.data_integrity.canonicalizer
        )
        if not report.conforms:
            raise EdcShapeViolation(
                f"{len(report.violations)} EDC shape violation(s)",
                errors=[
                    {"pointer": "", "detail": f"{v.path}: {v.message}"}
                    for v in report.violations[:50]
                ],
            )

    return build_ed, check


def microcredential_order(
    mc: MicroCredentialIn,
    issuer: Issuer,
    issuing: Issuing,
    *,
    actor: str,
    idempotency_key: str | None,
    body_hash: str,
    branding: IssuerBranding | None = None,
    parts: Sequence[StackPart] | None = None,
) -> IssueOrder:
    """The order that issues ``mc`` as its format says; ``branding`` (:func:`branding_of`) gives
    its pages the issuer's colour and logo. A stack's ``parts`` are those
    :func:`app.services.stacks.resolve_and_commit` verified: a request with a stack is refused
    without them."""
    if mc.stack is not None and parts is None:
        raise ValidationFailed(
            "a stack is issued one credential at a time",
            errors=[
                {
                    "pointer": "/stack",
                    "detail": "a stacked credential is issued by POST /microcredentials or "
                    "POST /courses/{id}/credentials, not in a batch or a cohort",
                }
            ],
        )
    if mc.format == "sd-jwt":
        raise ValidationFailed(
            "an SD-JWT VC is issued on its own",
            errors=[
                {
                    "pointer": "/format",
                    "detail": "sd-jwt is issued by POST /microcredentials or through OpenID4VCI, "
                    "not in a batch or from a course",
                }
            ],
        )
    refuse_joint_award(mc)
    now = utcnow()
    build, validate = microcredential_builder(mc, issuer, issuing, now, branding, parts or ())
    return IssueOrder(
        issuer,
        build,
        mc.format,
        body_hash,
        actor,
        cryptosuite=mc.cryptosuite,
        validate=validate,
        learner_ref=learner_reference(mc),
        idempotency_key=idempotency_key,
        now=now,
        search=SearchFields.of_learner(mc.learner),
        audit_details=(
            {"stack": [{"id": p.credential_id, "digestSRI": p.digest} for p in parts]}
            if parts
            else None
        ),
    )


def refuse_joint_award(mc: MicroCredentialIn) -> None:
    """Refuse ``mc`` when it names two or more awarding bodies by DID: such a credential is a
    joint award, which verifiers accept only with every body's proof (``POST
    /joint-credentials`` gathers them); signed by the issuer alone it would never verify."""
    named = [
        (index, str(body.id))
        for index, body in enumerate(mc.awardingBodies or [])
        if body.id is not None and str(body.id).startswith("did:")
    ]
    if len({did for _, did in named}) >= 2:
        raise ValidationFailed(
            "a credential of several awarding bodies needs each body's proof",
            errors=[
                {
                    "pointer": f"/awardingBodies/{index}/id",
                    "detail": f"{did} is one of {len(named)} awarding bodies named by DID: a "
                    "joint award is made with POST /joint-credentials, where each body signs",
                }
                for index, did in named
            ],
        )


def status_contexts_for(contexts: Sequence[Any], *, adding_status: bool = True) -> list[Any]:
    """A VC 1.1 document the service adds a ``BitstringStatusListEntry`` to needs the status
    list context (``https://www.w3.org/ns/credentials/status/v1``) that defines it; one the
    service adds no status to is left with its own contexts, so that verifiers that know only
    the VC 1.1 and Data Integrity contexts can load it."""
    from app.crypto.dataintegrity import VC_V1_CONTEXT

    status_v1 = "https://www.w3.org/ns/credentials/status/v1"
    if adding_status and VC_V1_CONTEXT in contexts and status_v1 not in contexts:
        return [*contexts, status_v1]
    return list(contexts)


@dataclass(frozen=True)
class BatchResult:
    index: int
    status: int
    credential: Issued | None = None
    problem: dict[str, Any] | None = None


def _item_problem(problem: Problem, index: int) -> dict[str, Any]:
    """The item's problem, its field pointers into the batch body."""
    details = problem.details()
    moved = tuple(
        {**error, "pointer": f"/items/{index}{error['pointer']}"} for error in details.errors
    )
    return replace(details, errors=moved).to_json()


def _validation_problem(exc: ValidationError) -> ValidationFailed:
    errors = [
        {
            "pointer": json_pointer(error["loc"]),
            "detail": str(error["msg"]).removeprefix("Value error, "),
        }
        for error in exc.errors()
    ]
    return ValidationFailed(f"{len(errors)} field(s) missing or invalid", errors=errors)


async def issue_batch(
    session: AsyncSession,
    issuer: Issuer,
    items: Sequence[Any],
    issuing: Issuing,
    *,
    actor: str,
    idempotency_key: str | None,
) -> list[BatchResult]:
    """Issue each item on its own: a bad item is reported and the others go on.

    Each item is committed as soon as it is signed, and no transaction spans its signing, so a
    batch never holds locks for long and a batch cut short (process killed) keeps what it
    finished; retried with the same Idempotency-Key, item ``i`` replays under the key
    ``<key>#<i>`` and nothing is issued twice. Other requests are served between the items and
    at each item's database round trips.
    """
    results: list[BatchResult] = []
    branding = await branding_of(session, issuer)
    for index, raw in enumerate(items):
        try:
            mc = MicroCredentialIn.model_validate(raw)
            order = microcredential_order(
                mc,
                issuer,
                issuing,
                actor=actor,
                idempotency_key=f"{idempotency_key}#{index}" if idempotency_key else None,
                body_hash=request_hash(mc.model_dump(mode="json")),
                branding=branding,
            )
            issued = await issue_and_commit(session, issuing, order)
        except ValidationError as exc:
            results.append(
                BatchResult(index, 422, problem=_item_problem(_validation_problem(exc), index))
            )
        except Problem as problem:
            results.append(
                BatchResult(index, problem.status, problem=_item_problem(problem, index))
            )
        except (JsonLdProcessingError, ProofError) as exc:
            malformed = MalformedValue(str(exc))
            results.append(BatchResult(index, 422, problem=_item_problem(malformed, index)))
        else:
            results.append(BatchResult(index, 200 if issued.replayed else 201, issued))
    return results
