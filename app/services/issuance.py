"""Issuing: allocate status entries, build, sign with the issuer's active key, record.

A credential is written in one transaction with its status entries and audit row; an
``Idempotency-Key`` (or VC-API ``options.credentialId``) makes a retried request replay the first
reply instead of issuing twice, even when two retries race (the unique constraint decides).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache, partial
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, insert, literal, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import jsontext
from app.credentials.microcredential import IssuerProfile, MicroCredentialIn
from app.crypto.cryptosuites import EDDSA_RDFC_2022
from app.crypto.dataintegrity import DataIntegrity, with_data_integrity_context
from app.crypto.errors import ProofError
from app.db.engine import on_postgresql
from app.db.models import AuditEvent, Credential, Issuer, StatusEntry, StatusList, utcnow
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


def issuer_profile(issuer: Issuer) -> IssuerProfile:
    return IssuerProfile(
        did=issuer.did,
        name=issuer.name,
        country=issuer.country,
        legal_identifier=issuer.legal_identifier,
        homepage=issuer.homepage,
    )


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


async def _replay(
    session: AsyncSession,
    issuer: Issuer,
    *,
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
    validate: Callable[[dict[str, Any]], None] | None,
    uri: str,
    entries: list[dict[str, Any]],
    key: issuers.ActiveKey,
    *,
    cryptosuite: str,
    now: datetime,
) -> dict[str, Any]:
    """The signing step of :func:`issue`: no database work.

    It runs on the event loop. In a worker thread it would still hold the GIL for all but the
    Rust and zlib parts, and handing the GIL to and fro cost more than it freed: with two
    workers on two cores, EDC issuing went from ~94 to ~105 credentials/s, and 2.3 ms less
    CPU each, when the thread was dropped (bench/README.md). The loop serves other requests at
    each database round trip in between. :func:`issue` runs it through ``issuing.offload``:
    a large document's canonicalization (and SHACL) happens in a worker process, and this step
    runs again with the outcome (it has no effect until it returns).
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
    return issuing.data_integrity.add_proof(
        unsigned, pair, key.key_id, created=now, cryptosuite=cryptosuite
    )


_STORE_CREDENTIAL = insert(Credential.__table__)  # type: ignore[attr-defined]

#: Times the store step may find a drawn status index taken meanwhile before issuing gives up.
STORE_ATTEMPTS = 4


async def issue(
    session: AsyncSession,
    issuer: Issuer,
    build: Builder,
    issuing: Issuing,
    *,
    format: str,
    cryptosuite: str | None,
    body_hash: str,
    actor: str,
    learner_ref: str | None = None,
    idempotency_key: str | None = None,
    client_id: str | None = None,
    credential_uri: str | None = None,
    validate: Callable[[dict[str, Any]], None] | None = None,
    commit: bool = False,
    now: datetime | None = None,
) -> Issued:
    """Issue one credential; ``build(credential_uri, status_entries)`` makes the unsigned VC.

    Three steps. Read: an earlier credential for the idempotency key (replayed), the active key,
    a free random index of each status list. Sign, without the database: build, ``validate``,
    add the proof. Store: the credential and its status entries, the audit event and, last,
    the lists' counts. A status index or idempotency key that another request
    stored between the read and the store fails the insert: the read runs again (the key then
    replays the other request's credential) and the credential is signed anew.

    ``commit``: commit the reads before signing and the writes right after storing, so that no
    transaction (and on SQLite no write lock, which every transaction takes) spans the signing;
    for callers whose transaction holds nothing else. Without it everything happens in the
    caller's transaction.
    """
    now = now or utcnow()
    assert issuer.id is not None
    for _ in range(STORE_ATTEMPTS):
        earlier = await _replay(
            session,
            issuer,
            idempotency_key=idempotency_key,
            client_id=client_id,
            body_hash=body_hash,
        )
        if earlier is not None:
            return Issued.stored(earlier, replayed=True)
        reservations = [
            await status.reserve(session, issuer, purpose, issuing.policy)
            for purpose in status.purposes_for(issuer, format)
        ]
        key = await issuers.active_key(session, issuer)
        if commit:
            await session.commit()
        credential_id = str(uuid.uuid4())
        uri = credential_uri or f"urn:uuid:{credential_id}"
        entries = [reservation.entry for reservation in reservations]

        signed = await issuing.offload.run(
            partial(
                build_and_sign,
                issuing,
                build,
                validate,
                uri,
                entries,
                key,
                cryptosuite=cryptosuite or EDDSA_RDFC_2022,
                now=now,
            )
        )
        written = jsontext.dumps_bytes(signed)
        values: dict[str, Any] = {
            "id": credential_id,
            "issuer_id": issuer.id,
            "format": format,
            "learner_ref": learner_ref,
            "document": jsontext.Written(written.decode("utf-8")),
            "credential_uri": uri,
            "idempotency_key": idempotency_key,
            "client_id": client_id,
            "request_hash": body_hash,
            "created_at": now,
        }
        event = audit.event_values(
            actor,
            "credential.issued",
            issuer.id,
            credential_id,
            {"format": format, "key": key.key_id},
        )
        try:
            if commit and on_postgresql(session):
                await _store_at_once(session, values, reservations, event)
            else:
                await _store_step_by_step(session, values, reservations, event, commit=commit)
        except IntegrityError:
            # An index or the idempotency key was stored meanwhile: read again.
            if commit:
                await session.rollback()
                await session.refresh(issuer)  # a rollback expires what the session loaded
            continue
        CREDENTIALS_ISSUED.labels(format).inc()
        return Issued(credential_id, signed, written, replayed=False)
    raise IssuingContended(
        f"the status indices drawn were taken by other requests {STORE_ATTEMPTS} times"
    )


async def _store_step_by_step(
    session: AsyncSession,
    credential: dict[str, Any],
    reservations: Sequence[status.Reservation],
    event: dict[str, Any],
    *,
    commit: bool,
) -> None:
    """The store step as plain INSERTs and the count: in a transaction of its own in commit mode
    (rolled back whole on a conflict), else in a savepoint of the caller's."""
    async with nullcontext() if commit else session.begin_nested():
        await session.exec(_STORE_CREDENTIAL, params=credential)
        await status.claim(session, reservations, credential["id"], credential["created_at"])
    await audit.write(session, event)
    # Last: every issue of the issuer updates the same list row, which stays locked until the
    # commit.
    await status.count_allocations(session, [r.list_id for r in reservations])
    if commit:
        await session.commit()


async def _store_at_once(
    session: AsyncSession,
    credential: dict[str, Any],
    reservations: Sequence[status.Reservation],
    event: dict[str, Any],
) -> None:
    """PostgreSQL, commit mode: the whole store step as one statement in autocommit.

    The credential, its status entries, the audit event and the lists' counts are data-modifying
    CTEs of one statement (:func:`_store_statement`), atomic on its own: one round trip instead
    of six (BEGIN, four statements, COMMIT), and the list row locked only while it runs. A
    conflict fails the whole statement, as it failed the transaction before.
    """
    params = {f"credential_{name}": value for name, value in credential.items()}
    for number, row in enumerate(
        status.entry_rows(reservations, credential["id"], credential["created_at"])
    ):
        params.update({f"entry{number}_{name}": value for name, value in row.items()})
    params.update({f"event_{name}": value for name, value in event.items()})
    params["counted"] = sorted(r.list_id for r in reservations)
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    await session.exec(_store_statement(len(reservations)), params=params)
    await session.commit()


@cache
def _store_statement(entries: int) -> Any:
    """The store step with ``entries`` status entries as one PostgreSQL statement."""
    tables = {
        "credential": Credential.__table__,  # type: ignore[attr-defined]
        "event": AuditEvent.__table__,  # type: ignore[attr-defined]
        **{f"entry{n}": StatusEntry.__table__ for n in range(entries)},  # type: ignore[attr-defined]
    }
    inserts = [
        insert(table)
        .values(
            {
                c.name: bindparam(f"{prefix}_{c.name}", type_=c.type)
                for c in table.c
                if c is not table.autoincrement_column  # the audit event's id
            }
        )
        .cte(prefix)
        for prefix, table in tables.items()
    ]
    lists = StatusList.__table__  # type: ignore[attr-defined]
    counts = (
        update(lists)
        .where(lists.c.id.in_(bindparam("counted", expanding=True)))
        .values(allocated=lists.c.allocated + 1)
        .cte("counts")
    )
    return select(literal(1)).add_cte(*inserts, counts)


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
    mc: MicroCredentialIn, issuer: Issuer, issuing: Issuing, now: datetime
) -> tuple[Builder, Callable[[dict[str, Any]], None] | None]:
    """The builder for ``mc.format`` and, for EDC, the SHACL check every EDC must pass."""
    from app.credentials.edc import build_edc
    from app.credentials.obv3 import build_obv3
    from app.credentials.render import render_pages
    from app.credentials.shacl import validate_edc

    profile = issuer_profile(issuer)
    if mc.format == "obv3":

        def build_ob(uri: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
            return build_obv3(mc, profile, credential_id=uri, issued=now, status=entries)

        return build_ob, None

    def build_ed(uri: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        # With the Data Integrity context the signer would append (a micro-credential always
        # gets an eddsa proof): the SHACL check then canonicalizes what the signer does.
        return with_data_integrity_context(
            build_edc(
                mc,
                profile,
                credential_id=uri,
                issued=now,
                status=entries,
                display_images=render_pages(mc, profile, link=public_page(issuing, uri)),
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


async def issue_microcredential(
    session: AsyncSession,
    issuer: Issuer,
    mc: MicroCredentialIn,
    issuing: Issuing,
    *,
    actor: str,
    idempotency_key: str | None,
    body_hash: str,
    commit: bool = False,
) -> Issued:
    """Issue ``mc`` as its format says (see :func:`issue` for ``commit``)."""
    now = utcnow()
    build, validate = microcredential_builder(mc, issuer, issuing, now)
    return await issue(
        session,
        issuer,
        build,
        issuing,
        format=mc.format,
        cryptosuite=mc.cryptosuite,
        body_hash=body_hash,
        actor=actor,
        learner_ref=learner_reference(mc),
        idempotency_key=idempotency_key,
        validate=validate,
        commit=commit,
        now=now,
    )


def status_contexts_for(contexts: Sequence[Any]) -> list[Any]:
    """A VC 1.1 document needs the status list context for ``BitstringStatusListEntry``."""
    from app.crypto.dataintegrity import VC_V1_CONTEXT

    status_v1 = "https://www.w3.org/ns/credentials/status/v1"
    if VC_V1_CONTEXT in contexts and status_v1 not in contexts:
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
    for index, raw in enumerate(items):
        try:
            mc = MicroCredentialIn.model_validate(raw)
            issued = await issue_microcredential(
                session,
                issuer,
                mc,
                issuing,
                actor=actor,
                idempotency_key=f"{idempotency_key}#{index}" if idempotency_key else None,
                body_hash=request_hash(mc.model_dump(mode="json")),
                commit=True,
            )
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
