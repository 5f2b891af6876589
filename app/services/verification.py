"""Verifying credentials and presentations from any issuer, reported as results, never raised.

A credential (VC 1.1 or 2.0) goes through these checks; each adds to ``results`` and, when it
fails, one RFC 9457 problem detail per fault (https://www.w3.org/TR/vc-data-model-2.0/#verification):

* data model: ``@context``, ``id``, ``issuer``, ``credentialSubject`` (VC DM problem types);
* ``proof``: every proof of a proof set or chain (``eddsa-rdfc-2022``, ``eddsa-jcs-2022``,
  ``Ed25519Signature2020``) with a method authorized for ``assertionMethod`` by its controller;
  controllers are resolved before the (synchronous) Data Integrity verifier runs: a DID of one of
  our issuers from the database (revoked keys left out, no network), other ``did:key``s offline,
  other ``did:web``s over the guarded HTTP fetch (:mod:`app.net`) with a TTL cache. The issuer
  must be the controller of a proof's method when it is a DID (error); an issuer that is not a DID
  cannot be bound to the key and is reported as a warning;
* ``validFrom`` / ``validUntil`` (VC 1.1: ``issuanceDate`` / ``expirationDate`` too);
* ``credentialStatus``: Bitstring Status List entries, ours read from the database, others
  fetched under the same guards with the list credential's own proof and issuer checked;
* ``credentialSchema``: an EDC against the pinned SHACL shapes;
* ``euMicroCredential``: which mandatory EU micro-credential elements are missing (a warning for
  an EDC or Open Badge; never a reason by itself to refuse a credential).

A presentation's proof must serve ``authentication``, carry the expected challenge and domain and
be made by the holder; each embedded credential is then verified as above.

Problem types: the specifications' where they define one (VC Data Model, Data Integrity,
Bitstring Status List); our own URNs for outcomes no specification names (expired, revoked, …).

Work is bounded: at most :data:`MAX_PROOFS` proofs per document, :data:`MAX_CREDENTIALS`
credentials per presentation, :data:`MAX_STATUS_ENTRIES` status entries per credential and
:data:`MAX_REMOTE_FETCHES` documents fetched per request. Database reads use short sessions of
their own, so no transaction stays open while a remote server is waited for. Canonicalization,
signature checks and SHACL run on the event loop, as issuing does (a worker thread would still
hold the GIL for them; see ``issuance.build_and_sign``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.credentials.vcapi import issuer_id
from app.crypto.dataintegrity import (
    VC_V1_CONTEXT,
    VC_V2_CONTEXT,
    DataIntegrity,
    MethodResolver,
    ProofResult,
    VerificationMethod,
    VerifyResult,
)
from app.crypto.errors import (
    InvalidChallengeError,
    InvalidVerificationMethodError,
    MalformedProofError,
    ProofError,
    ProofVerificationError,
)
from app.crypto.resolvers import method_from_document
from app.db.models import Issuer, StatusEntry, StatusList
from app.did.key import InvalidDid, resolve_did_key
from app.did.web import DID_WEB_PREFIX, DidWebResolver, did_web_for
from app.errors import PROBLEMS, VC_DM, ParsingError
from app.jsonld import (
    Canonicalizer,
    JsonLdProcessingError,
    OfflineDocumentLoader,
    UnknownContextError,
)
from app.jsonld.form import NotPinnedForm, PinnedForm
from app.jsonld.values import as_list, node_id, types_of
from app.net import RemoteFetchError, fetch_json
from app.services import challenges, issuers
from app.status.bitstring import (
    ENTRY_TYPE,
    MALFORMED_VALUE_ERROR,
    RANGE_ERROR,
    StatusListError,
    StatusRangeError,
    StatusRetrievalError,
    StatusVerificationError,
    check_entry,
    check_status,
)

MAX_PROOFS = 10
MAX_CREDENTIALS = 50
MAX_STATUS_ENTRIES = 8
MAX_SCHEMAS = 8
MAX_REMOTE_FETCHES = 64
MAX_SHOWN_VIOLATIONS = 50
#: ``issuers.did`` is at most this long: a longer DID is nobody's here.
MAX_DID_LENGTH = 512

PARSING_ERROR = VC_DM + "PARSING_ERROR"
CREDENTIAL_EXPIRED = PROBLEMS + "CREDENTIAL_EXPIRED"
CREDENTIAL_NOT_YET_VALID = PROBLEMS + "CREDENTIAL_NOT_YET_VALID"
CREDENTIAL_REVOKED = PROBLEMS + "CREDENTIAL_REVOKED"
CREDENTIAL_SUSPENDED = PROBLEMS + "CREDENTIAL_SUSPENDED"
CREDENTIAL_STATUS_SET = PROBLEMS + "CREDENTIAL_STATUS_SET"
ISSUER_NOT_A_DID = PROBLEMS + "ISSUER_NOT_A_DID"
SCHEMA_NOT_CHECKED = PROBLEMS + "CREDENTIAL_SCHEMA_NOT_CHECKED"
EU_MICROCREDENTIAL_INCOMPLETE = PROBLEMS + "EU_MICROCREDENTIAL_INCOMPLETE"
CHALLENGE_NOT_CHECKED = PROBLEMS + "CHALLENGE_NOT_CHECKED"
NOT_PINNED_FORM = PROBLEMS + "NOT_PINNED_FORM"

_TITLES = {
    PARSING_ERROR: "Parsing error",
    MALFORMED_VALUE_ERROR: "Malformed value",
    RANGE_ERROR: "Range error",
    CREDENTIAL_EXPIRED: "Credential expired",
    CREDENTIAL_NOT_YET_VALID: "Credential not yet valid",
    CREDENTIAL_REVOKED: "Credential revoked",
    CREDENTIAL_SUSPENDED: "Credential suspended",
    CREDENTIAL_STATUS_SET: "Credential status set",
    ISSUER_NOT_A_DID: "Issuer not bound to the signing key",
    SCHEMA_NOT_CHECKED: "Credential schema not checked",
    EU_MICROCREDENTIAL_INCOMPLETE: "Incomplete EU micro-credential",
    CHALLENGE_NOT_CHECKED: "Challenge not checked by this service",
    NOT_PINNED_FORM: "Not in the expected JSON-LD form",
}

ASSERTION, AUTHENTICATION = "assertionMethod", "authentication"
EDC_TYPE = "EuropeanDigitalCredential"
OB_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})
SHACL_VALIDATOR = "ShaclValidator2017"
EDC_SHAPES = frozenset(
    {
        "http://data.europa.eu/snb/model/ap/edc-generic-full",
        "http://data.europa.eu/snb/model/ap/edc-generic-no-cv",
    }
)

_DATE_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?", re.ASCII
)


class NotACredential(ParsingError):
    """The body's ``verifiableCredential`` is not a credential at all: 400, not a result."""


class NotAPresentation(ParsingError):
    """The body's ``verifiablePresentation`` is not a presentation at all."""


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProblemDetail:
    """An RFC 9457 problem detail; ``pointer`` is a JSON Pointer into the verified document."""

    type: str
    title: str
    detail: str
    pointer: str | None = None
    errors: tuple[Mapping[str, str], ...] = ()

    def under(self, prefix: str) -> ProblemDetail:
        return replace(self, pointer=prefix + (self.pointer or ""))

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "detail": self.detail}
        if self.pointer is not None:
            body["pointer"] = self.pointer
        if self.errors:
            body["errors"] = [dict(error) for error in self.errors]
        return body


def problem(
    type_: str,
    detail: str,
    pointer: str | None = None,
    errors: Iterable[Mapping[str, str]] = (),
) -> ProblemDetail:
    return ProblemDetail(type_, _TITLES[type_], detail, pointer, tuple(errors))


def _from_error(error: ProofError | StatusListError, pointer: str | None) -> ProblemDetail:
    return ProblemDetail(error.type, error.title, error.detail, pointer)


@dataclass
class Verification:
    """One document's outcome: verified exactly when no error was found."""

    errors: list[ProblemDetail] = field(default_factory=list)
    warnings: list[ProblemDetail] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return not self.errors

    @property
    def checks(self) -> list[str]:
        """The checks that applied (the legacy VC-API ``checks`` list)."""
        return [
            name
            for name, result in self.results.items()
            if name != "form" and isinstance(result, Mapping) and result.get("verified") is not None
        ]

    def to_json(self, prefix: str = "") -> dict[str, Any]:
        """The reply body (VCALM ``verified``/``problemDetails`` plus the legacy mirror)."""
        errors = [e.under(prefix).to_json() for e in self.errors]
        return {
            "verified": self.verified,
            "problemDetails": errors,
            "results": self.results or None,
            "errors": errors,
            "warnings": [w.under(prefix).to_json() for w in self.warnings],
            "checks": self.checks,
        }


@dataclass
class PresentationVerification:
    presentation: Verification
    credentials: list[Verification]
    #: whether ``verifiableCredential`` was an array (pointers then carry an index)
    listed: bool = True

    @property
    def verified(self) -> bool:
        return self.presentation.verified and all(c.verified for c in self.credentials)

    def to_json(self, prefix: str = "") -> dict[str, Any]:
        credential_prefix = prefix + "/verifiableCredential"
        if self.listed:
            prefixes = [f"{credential_prefix}/{i}" for i in range(len(self.credentials))]
        else:
            prefixes = [credential_prefix] * len(self.credentials)
        errors = [e.under(prefix) for e in self.presentation.errors]
        warnings = [w.under(prefix) for w in self.presentation.warnings]
        for item, item_prefix in zip(self.credentials, prefixes, strict=True):
            errors += [e.under(item_prefix) for e in item.errors]
            warnings += [w.under(item_prefix) for w in item.warnings]
        shown = [e.to_json() for e in errors]
        return {
            "verified": self.verified,
            "problemDetails": shown,
            "results": {
                "presentation": {
                    "verified": self.presentation.verified,
                    **self.presentation.results,
                },
                "credentials": [
                    item.to_json(item_prefix)
                    for item, item_prefix in zip(self.credentials, prefixes, strict=True)
                ],
            },
            "errors": shown,
            "warnings": [w.to_json() for w in warnings],
            "checks": ["presentation", *(["credentials"] if self.credentials else [])],
        }


# -- shared helpers -----------------------------------------------------------------------------


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and re.match(r"[A-Za-z][A-Za-z0-9+.-]*:\S", value) is not None


def ensure_credential(document: Any) -> Mapping[str, Any]:
    """Refuse (400) what is not a credential at all; anything else gets a full result."""
    if not isinstance(document, Mapping):
        raise NotACredential("verifiableCredential must be a JSON object")
    if "@context" not in document:
        raise NotACredential("verifiableCredential has no @context: it is not a credential")
    if "VerifiableCredential" not in types_of(document):
        raise NotACredential("verifiableCredential's type does not include VerifiableCredential")
    return document


def ensure_presentation(document: Any) -> Mapping[str, Any]:
    if not isinstance(document, Mapping):
        raise NotAPresentation("verifiablePresentation must be a JSON object")
    if "@context" not in document:
        raise NotAPresentation("verifiablePresentation has no @context: it is not a presentation")
    if "VerifiablePresentation" not in types_of(document):
        raise NotAPresentation(
            "verifiablePresentation's type does not include VerifiablePresentation"
        )
    return document


def parse_moment(value: Any) -> tuple[datetime | None, bool]:
    """An XML Schema dateTime as an aware datetime, and whether it carried an offset.

    VC DM 2.0 §4.9: a time serialized without an offset is read as UTC (and reported).
    """
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


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- controllers (DID documents) ----------------------------------------------------------------


@dataclass(frozen=True)
class _Controller:
    """A controller document resolved for this request, or why it could not be."""

    document: dict[str, Any] | None
    error: str | None = None
    revoked: frozenset[str] = frozenset()
    #: database (one of our issuers), did:key (offline), did:web (fetched), unsupported
    source: str = "did:key"


@dataclass
class _Run:
    """What one request has resolved and fetched so far (shared by a presentation's credentials)."""

    now: datetime
    controllers: dict[str, _Controller] = field(default_factory=dict)
    status_lists: dict[str, dict[str, Any] | StatusListError] = field(default_factory=dict)
    fetches: int = 0


def _controller_did(method_id: str) -> str:
    return method_id.split("#", 1)[0]


def _proof_method_ids(document: Mapping[str, Any]) -> Iterator[str]:
    for proof in as_list(document.get("proof"))[:MAX_PROOFS]:
        if isinstance(proof, Mapping) and isinstance(proof.get("verificationMethod"), str):
            yield proof["verificationMethod"]


class Verifier:
    """Verifies credentials and presentations; one per process (it owns the did:web cache)."""

    def __init__(
        self,
        *,
        data_integrity: DataIntegrity,
        loader: OfflineDocumentLoader,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: httpx.AsyncClient,
        did_web: DidWebResolver,
        public_url: str,
        allow_private_network: bool,
        http_timeout: float,
        http_max_bytes: int,
    ) -> None:
        self._di = data_integrity
        self._loader = loader
        self._form = PinnedForm(loader)
        self._sessionmaker = sessionmaker
        self._client = client
        self._did_web = did_web
        self._our_lists = f"{public_url}/status-lists/"
        try:
            self._our_did_web: str | None = did_web_for(public_url)
        except InvalidDid:  # e.g. an IPv6 literal: no did:web issuer can live there
            self._our_did_web = None
        self._allow_private = allow_private_network
        self._timeout = http_timeout
        self._max_bytes = http_max_bytes

    # -- resolving ------------------------------------------------------------------------------

    def _is_our_did_web(self, did: str) -> bool:
        ours = self._our_did_web
        return ours is not None and (did == ours or did.startswith(ours + ":"))

    def _count_fetch(self, run: _Run, what: str) -> None:
        run.fetches += 1
        if run.fetches > MAX_REMOTE_FETCHES:
            raise RemoteFetchError(f"{what}: more than {MAX_REMOTE_FETCHES} documents to fetch")

    async def _resolve_controllers(self, run: _Run, dids: Iterable[str]) -> None:
        """Resolve every controller DID not resolved yet: database, did:key, then did:web."""
        wanted = sorted({did for did in dids if did not in run.controllers})
        if not wanted:
            return
        candidates = [did for did in wanted if len(did) <= MAX_DID_LENGTH]
        async with self._sessionmaker() as session:
            query = select(Issuer).where(col(Issuer.did).in_(candidates))
            found = (await session.exec(query)).all() if candidates else []
            for issuer in found:
                keys = await issuers.keys_of(session, issuer.id or 0)
                run.controllers[issuer.did] = _Controller(
                    issuers.did_document(issuer, keys),
                    revoked=frozenset(k.key_id for k in keys if k.status == issuers.REVOKED),
                    source="database",
                )
        remote: list[str] = []
        for did in wanted:
            if did in run.controllers:
                continue
            if self._is_our_did_web(did):
                error = f"{did} is not an issuer of this service"
                run.controllers[did] = _Controller(None, error, source="database")
            elif did.startswith("did:key:"):
                try:
                    run.controllers[did] = _Controller(resolve_did_key(did))
                except InvalidDid as exc:
                    run.controllers[did] = _Controller(None, str(exc))
            elif did.startswith(DID_WEB_PREFIX):
                remote.append(did)
            else:
                error = f"{did!r} does not use a DID method this service resolves (key, web)"
                run.controllers[did] = _Controller(None, error, source="unsupported")
        async with anyio.create_task_group() as group:
            for did in remote:
                group.start_soon(self._resolve_did_web, run, did)

    async def _resolve_did_web(self, run: _Run, did: str) -> None:
        try:
            self._count_fetch(run, did)
            document = await self._did_web.resolve(did)
        except (RemoteFetchError, ValueError) as exc:
            error = f"cannot resolve {did}: {exc}"
            run.controllers[did] = _Controller(None, error, source="did:web")
        else:
            run.controllers[did] = _Controller(document, source="did:web")

    @staticmethod
    def _resolver(run: _Run) -> MethodResolver:
        """The synchronous resolver the Data Integrity verifier calls: lookups only, no I/O."""

        def resolve(method_id: str, purpose: str) -> VerificationMethod:
            controller = run.controllers.get(_controller_did(method_id))
            if controller is None or controller.document is None:
                reason = controller.error if controller else "it was not resolved"
                raise InvalidVerificationMethodError(f"cannot use {method_id}: {reason}")
            if method_id in controller.revoked:
                raise InvalidVerificationMethodError(f"{method_id} has been revoked")
            try:
                return method_from_document(controller.document, method_id, purpose)
            except (TypeError, AttributeError, ValueError) as exc:
                raise InvalidVerificationMethodError(
                    f"the controller document of {method_id} cannot be read"
                ) from exc

        return resolve

    def _verify_proofs(
        self,
        run: _Run,
        document: Mapping[str, Any],
        *,
        purpose: str,
        challenge: str | None = None,
        domain: str | None = None,
    ) -> VerifyResult:
        """Data Integrity over a document whose controllers are resolved."""
        count = len(as_list(document.get("proof")))
        if count > MAX_PROOFS:
            too_many = MalformedProofError(f"{count} proofs; at most {MAX_PROOFS} are verified")
            return VerifyResult(False, [ProofResult({}, False, too_many)])
        try:
            return self._di.verify(
                document,
                self._resolver(run),
                expected_purpose=purpose,
                challenge=challenge,
                domain=domain,
                now=run.now,
            )
        except (ValueError, TypeError, RecursionError) as exc:
            failed = ProofVerificationError(f"the proof cannot be processed ({type(exc).__name__})")
            return VerifyResult(False, [ProofResult({}, False, failed)])

    # -- credentials ----------------------------------------------------------------------------

    async def verify_credential(
        self,
        credential: Mapping[str, Any],
        *,
        challenge: str | None = None,
        domain: str | None = None,
        now: datetime,
    ) -> Verification:
        """Verify one credential (raises :class:`NotACredential` only for non-credentials)."""
        ensure_credential(credential)
        form = self._form_check(credential)
        if not form.verified:
            return form
        run = _Run(now)
        await self._resolve_controllers(run, map(_controller_did, _proof_method_ids(credential)))
        return await self._credential(run, credential, form, challenge=challenge, domain=domain)

    async def _credential(
        self,
        run: _Run,
        credential: Mapping[str, Any],
        report: Verification,
        *,
        challenge: str | None = None,
        domain: str | None = None,
    ) -> Verification:
        version = _data_model(credential, report)
        issuer = issuer_id(credential)
        proofs = self._verify_proofs(
            run, credential, purpose=ASSERTION, challenge=challenge, domain=domain
        )
        report.results["proof"] = _proof_results(run, credential, proofs, report)
        report.results["proof"]["issuer"] = _issuer_check(issuer, proofs, report)
        valid_from, valid_until = _validity(credential, version, run.now, report)
        report.results["validFrom"] = valid_from
        report.results["validUntil"] = valid_until
        report.results["credentialStatus"] = await self._status(run, credential, issuer, report)
        schema, eu = self._profile(credential, report)
        report.results["credentialSchema"] = schema
        report.results["euMicroCredential"] = eu
        return report

    def _form_check(self, document: Any) -> Verification:
        """Refuse a document with more than one JSON reading (:mod:`app.jsonld.form`): no check
        runs on JSON that the proof may not say. What is no JSON-LD document at all (no object,
        no ``@context``) is left to the 400 of :func:`ensure_credential`."""
        report = Verification()
        if not isinstance(document, Mapping) or "@context" not in document:
            report.results["form"] = {"verified": None}
            return report
        try:
            self._form.check(document)
        except NotPinnedForm as exc:
            report.errors.append(problem(NOT_PINNED_FORM, exc.reason, exc.pointer))
        except UnknownContextError:
            # Not established: the proof check refuses the context (for eddsa-jcs-2022 one
            # appended after the signed ones is outside what the proof covers).
            report.results["form"] = {"verified": None}
            return report
        except JsonLdProcessingError as exc:
            report.errors.append(problem(NOT_PINNED_FORM, str(exc), "/@context"))
        report.results["form"] = {"verified": report.verified}
        return report

    # -- status ---------------------------------------------------------------------------------

    async def _status(
        self,
        run: _Run,
        credential: Mapping[str, Any],
        issuer: str | None,
        report: Verification,
    ) -> dict[str, Any]:
        """Bitstring Status List validation of every entry (the validate algorithm per entry)."""
        raw = credential.get("credentialStatus")
        result: dict[str, Any] = {
            "verified": None,
            "revoked": False,
            "suspended": False,
            "entries": [],
        }
        entries = as_list(raw)
        if not entries:
            return result
        if len(entries) > MAX_STATUS_ENTRIES:
            report.errors.append(
                problem(
                    RANGE_ERROR,
                    f"{len(entries)} status entries; at most {MAX_STATUS_ENTRIES} are checked",
                    "/credentialStatus",
                )
            )
            result["verified"] = False
            return result
        for index, entry in enumerate(entries):
            pointer = f"/credentialStatus/{index}" if isinstance(raw, list) else "/credentialStatus"
            shown: dict[str, Any] = (
                {
                    key: entry.get(key)
                    for key in ("statusPurpose", "statusListIndex", "statusListCredential")
                }
                if isinstance(entry, Mapping)
                else {}
            )
            try:
                if isinstance(entry, Mapping) and entry.get("type") != ENTRY_TYPE:
                    raise StatusVerificationError(
                        f"credentialStatus of type {entry.get('type')!r} is not supported "
                        f"(only {ENTRY_TYPE})"
                    )
                list_url, list_index, purpose = check_entry(entry)
                if list_url.startswith(self._our_lists):
                    shown["source"] = "database"
                    is_set = await self._our_bit(list_url, list_index, purpose, issuer)
                else:
                    shown["source"] = "remote"
                    listed = await self._remote_list(run, list_url, issuer)
                    is_set = check_status(entry, listed, now=run.now)
            except StatusListError as exc:
                report.errors.append(_from_error(exc, pointer))
                result["entries"].append({**shown, "set": None, "verified": False})
                continue
            fails = is_set and purpose in _FAILING_PURPOSES
            result["entries"].append({**shown, "set": is_set, "verified": not fails})
            if not is_set:
                continue
            if purpose == "revocation":
                result["revoked"] = True
                report.errors.append(
                    problem(CREDENTIAL_REVOKED, "the credential has been revoked", pointer)
                )
            elif purpose == "suspension":
                result["suspended"] = True
                report.errors.append(
                    problem(CREDENTIAL_SUSPENDED, "the credential is suspended", pointer)
                )
            else:
                report.warnings.append(
                    problem(CREDENTIAL_STATUS_SET, f"the {purpose!r} status is set", pointer)
                )
        result["verified"] = all(e["verified"] for e in result["entries"])
        return result

    async def _our_bit(self, list_url: str, index: int, purpose: str, issuer: str | None) -> bool:
        """A status bit of one of our lists, read from the database (no list credential needed)."""
        list_id = list_url[len(self._our_lists) :]
        async with self._sessionmaker() as session:
            status_list = await session.get(StatusList, list_id) if list_id else None
            if status_list is None:
                raise StatusRetrievalError(f"{list_url} is not a status list of this service")
            if status_list.purpose != purpose:
                raise StatusVerificationError(
                    f"statusPurpose {purpose!r} is not the purpose of {list_url}"
                )
            if index >= status_list.size:
                raise StatusRangeError(
                    f"index {index} is outside a list of {status_list.size} entries"
                )
            owner = await session.get(Issuer, status_list.issuer_id)
            if owner is None or owner.did != issuer:
                raise StatusVerificationError(
                    f"{list_url} is the status list of another issuer than the credential's"
                )
            entry = await session.get(StatusEntry, (list_id, index))
            return entry is not None and entry.is_set

    async def _remote_list(self, run: _Run, url: str, issuer: str | None) -> dict[str, Any]:
        """Fetch a status list credential (once per request) and verify its proof and issuer."""
        if url not in run.status_lists:
            try:
                run.status_lists[url] = await self._fetch_list(run, url, issuer)
            except StatusListError as exc:
                run.status_lists[url] = exc
        listed = run.status_lists[url]
        if isinstance(listed, StatusListError):
            raise type(listed)(listed.detail)
        return listed

    async def _fetch_list(self, run: _Run, url: str, issuer: str | None) -> dict[str, Any]:
        if not (url.startswith("https://") or (self._allow_private and url.startswith("http://"))):
            raise StatusRetrievalError(f"{url!r} is not an https URL")
        try:
            self._count_fetch(run, url)
            document = await fetch_json(
                self._client,
                url,
                max_bytes=self._max_bytes,
                timeout=self._timeout,
                allow_private=self._allow_private,
            )
        except RemoteFetchError as exc:
            raise StatusRetrievalError(f"cannot retrieve {url}: {exc.detail}") from exc
        if not isinstance(document, dict):
            raise StatusVerificationError(f"{url} is not a status list credential")
        await self._resolve_controllers(run, map(_controller_did, _proof_method_ids(document)))
        proofs = self._verify_proofs(run, document, purpose=ASSERTION)
        if not proofs.verified:
            reasons = "; ".join(error.detail for error in proofs.errors)
            raise StatusVerificationError(f"the proof of {url} does not verify: {reasons}")
        list_issuer = issuer_id(document)
        if list_issuer != issuer:
            raise StatusVerificationError(
                f"{url} is issued by {list_issuer!r}, not by the credential's issuer"
            )
        if list_issuer is not None and list_issuer.startswith("did:"):
            if list_issuer not in _controllers(proofs):
                raise StatusVerificationError(f"{url} is not signed by its issuer's key")
        return document

    # -- schema and profile ---------------------------------------------------------------------

    def _profile(
        self, credential: Mapping[str, Any], report: Verification
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``credentialSchema`` (EDC SHACL) and ``euMicroCredential``."""
        schema = _schema(credential, self._loader, self._di.canonicalizer, report)
        return schema, _eu_profile(credential, report)

    # -- presentations --------------------------------------------------------------------------

    async def verify_presentation(
        self,
        presentation: Mapping[str, Any],
        *,
        challenge: str | None,
        domain: str | None,
        now: datetime,
    ) -> PresentationVerification:
        """Verify the presentation's proof and holder, then every credential it carries."""
        ensure_presentation(presentation)
        report = self._form_check(presentation)
        if not report.verified:
            return PresentationVerification(report, [])
        run = _Run(now)
        items = as_list(presentation.get("verifiableCredential"))
        if len(items) > MAX_CREDENTIALS:
            report.errors.append(
                problem(
                    RANGE_ERROR,
                    f"{len(items)} credentials; at most {MAX_CREDENTIALS} are verified",
                    "/verifiableCredential",
                )
            )
            return PresentationVerification(report, [])
        _presentation_data_model(presentation, report)
        method_ids = list(_proof_method_ids(presentation))
        for item in items:
            if isinstance(item, Mapping):
                method_ids += _proof_method_ids(item)
        await self._resolve_controllers(run, map(_controller_did, method_ids))
        proofs = self._verify_proofs(
            run, presentation, purpose=AUTHENTICATION, challenge=challenge, domain=domain
        )
        report.results["proof"] = _proof_results(run, presentation, proofs, report)
        report.results["holder"] = _holder_check(presentation, proofs, report)
        report.results["challenge"] = await self._challenge(challenge, proofs, run.now, report)
        credentials = []
        for item in items:
            try:
                credential = ensure_credential(item)
            except NotACredential as exc:
                failed = Verification()
                failed.errors.append(problem(PARSING_ERROR, exc.detail or exc.title))
                credentials.append(failed)
                continue
            checked = Verification(results={"form": {"verified": True}})  # with the presentation
            credentials.append(await self._credential(run, credential, checked))
        listed = isinstance(presentation.get("verifiableCredential"), list)
        return PresentationVerification(report, credentials, listed)

    async def _challenge(
        self, challenge: str | None, proofs: VerifyResult, now: datetime, report: Verification
    ) -> dict[str, Any]:
        """Consume our single-use challenge once the proof has been shown to carry it."""
        if challenge is None:
            report.warnings.append(
                problem(
                    CHALLENGE_NOT_CHECKED,
                    "no challenge was given: nothing protects against a replayed presentation",
                )
            )
            return {"verified": None, "state": None}
        if not proofs.verified:
            return {"verified": False, "state": None}
        async with self._sessionmaker() as session:
            state = await challenges.consume(session, challenge, now=now)
            await session.commit()
        if state == "unknown":
            report.warnings.append(
                problem(
                    CHALLENGE_NOT_CHECKED,
                    "the challenge was not issued by this service (POST /challenges): "
                    "its freshness is the caller's to check",
                )
            )
            return {"verified": True, "state": state}
        if state != "accepted":
            reason = "was used before: it is single-use" if state == "used" else "has expired"
            error = InvalidChallengeError(f"the challenge {reason}")
            report.errors.append(_from_error(error, "/proof"))
        return {"verified": state == "accepted", "state": state}


_FAILING_PURPOSES = frozenset({"revocation", "suspension"})
_VC_CONTEXTS = (VC_V2_CONTEXT, VC_V1_CONTEXT)


# -- checks that need no I/O --------------------------------------------------------------------


def _data_model(credential: Mapping[str, Any], report: Verification) -> int | None:
    """The data-model MUSTs a verifier checks besides the proof; the VC version (1, 2)."""

    def fail(pointer: str, detail: str) -> None:
        report.errors.append(problem(MALFORMED_VALUE_ERROR, detail, pointer))

    contexts = as_list(credential.get("@context"))
    first = contexts[0] if contexts else None
    version = {VC_V2_CONTEXT: 2, VC_V1_CONTEXT: 1}.get(first) if isinstance(first, str) else None
    if version is None:
        fail("/@context", f"the first @context must be {VC_V2_CONTEXT} or {VC_V1_CONTEXT}")
    if "id" in credential and not _is_url(credential["id"]):
        fail("/id", "id must be a URL")
    issuer = issuer_id(credential)
    if issuer is None:
        fail("/issuer", "issuer must be a URL or an object with an id")
    elif not _is_url(issuer):
        fail("/issuer", "the issuer's id must be a URL")
    subjects = as_list(credential.get("credentialSubject"))
    if not subjects or not all(isinstance(s, Mapping) and s for s in subjects):
        fail("/credentialSubject", "credentialSubject must be one or more non-empty objects")
    if version == 1 and "issuanceDate" not in credential:
        fail("/issuanceDate", "a VC 1.1 credential needs issuanceDate")
    return version


def _presentation_data_model(presentation: Mapping[str, Any], report: Verification) -> None:
    contexts = as_list(presentation.get("@context"))
    if not contexts or not isinstance(contexts[0], str) or contexts[0] not in _VC_CONTEXTS:
        report.errors.append(
            problem(
                MALFORMED_VALUE_ERROR,
                f"the first @context must be {VC_V2_CONTEXT} or {VC_V1_CONTEXT}",
                "/@context",
            )
        )
    if "holder" in presentation and not _is_url(node_id(presentation.get("holder"))):
        report.errors.append(
            problem(MALFORMED_VALUE_ERROR, "holder must be a URL or an object with one", "/holder")
        )


def _proof_results(
    run: _Run, document: Mapping[str, Any], proofs: VerifyResult, report: Verification
) -> dict[str, Any]:
    raw = document.get("proof")
    shown = []
    for index, result in enumerate(proofs.proofs):
        pointer = f"/proof/{index}" if isinstance(raw, list) else "/proof"
        if result.error is not None:
            report.errors.append(_from_error(result.error, pointer))
        if "proof" not in document:
            continue
        proof = result.proof
        method = result.verification_method
        shown.append(
            {
                "type": proof.get("type"),
                "cryptosuite": proof.get("cryptosuite"),
                "verificationMethod": proof.get("verificationMethod"),
                "proofPurpose": proof.get("proofPurpose"),
                "created": proof.get("created"),
                "controller": method.controller if method else None,
                "resolvedFrom": _source(run, proof.get("verificationMethod")),
                "verified": result.verified,
            }
        )
    return {"verified": proofs.verified, "proofs": shown}


def _source(run: _Run, method_id: Any) -> str | None:
    """Where the method's controller document came from (database, did:key, did:web)."""
    if not isinstance(method_id, str):
        return None
    controller = run.controllers.get(_controller_did(method_id))
    return controller.source if controller else None


def _controllers(proofs: VerifyResult) -> list[str]:
    return sorted(
        {r.verification_method.controller for r in proofs.proofs if r.verification_method}
    )


def _issuer_check(issuer: str | None, proofs: VerifyResult, report: Verification) -> dict[str, Any]:
    """The issuer must control a method that signed (NOTES: URL issuer → warning)."""
    controllers = _controllers(proofs)
    result: dict[str, Any] = {"id": issuer, "controllers": controllers, "matches": None}
    if issuer is None or not controllers:
        return result
    if not issuer.startswith("did:"):
        report.warnings.append(
            problem(
                ISSUER_NOT_A_DID,
                f"the issuer {issuer} is not a DID, so it cannot be bound to the key that "
                f"signed (controlled by {', '.join(controllers)})",
                "/issuer",
            )
        )
        return result
    result["matches"] = issuer in controllers
    if not result["matches"]:
        error = InvalidVerificationMethodError(
            f"the issuer {issuer} is not the controller of a method that signed the credential "
            f"(signed by {', '.join(controllers)})"
        )
        report.errors.append(_from_error(error, "/issuer"))
    return result


def _holder_check(
    presentation: Mapping[str, Any], proofs: VerifyResult, report: Verification
) -> dict[str, Any]:
    holder = node_id(presentation.get("holder"))
    controllers = _controllers(proofs)
    result: dict[str, Any] = {"id": holder, "controllers": controllers, "bound": None}
    if holder is None or not controllers:
        return result
    result["bound"] = holder in controllers
    if not result["bound"]:
        error = InvalidVerificationMethodError(
            f"the holder {holder} is not the controller of the method that signed the "
            f"presentation (signed by {', '.join(controllers)})"
        )
        report.errors.append(_from_error(error, "/holder"))
    return result


def _validity(
    credential: Mapping[str, Any], version: int | None, now: datetime, report: Verification
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``validFrom``/``validUntil`` (VC 1.1 also ``issuanceDate``/``expirationDate``) vs now."""
    starts = ["validFrom", *(["issuanceDate"] if version == 1 else [])]
    ends = ["validUntil", *(["expirationDate"] if version == 1 else [])]
    moments: dict[str, datetime] = {}
    for name in (*starts, *ends):
        if name not in credential:
            continue
        moment, has_offset = parse_moment(credential[name])
        if moment is None:
            detail = f"{name} must be an XML Schema dateTimeStamp"
            report.errors.append(problem(MALFORMED_VALUE_ERROR, detail, f"/{name}"))
            continue
        if not has_offset:
            detail = f"{name} has no time zone offset; it was read as UTC"
            report.warnings.append(problem(MALFORMED_VALUE_ERROR, detail, f"/{name}"))
        moments[name] = moment

    def check(names: list[str], expired: bool) -> dict[str, Any]:
        present = [name for name in names if name in credential]
        if not present:
            return {"verified": None, "value": None}
        verified = all(name in moments for name in present)
        for name in present:
            moment = moments.get(name)
            if moment is None:
                continue
            if expired and moment < now:
                detail = f"the credential expired at {_format(moment)} ({name})"
                report.errors.append(problem(CREDENTIAL_EXPIRED, detail, f"/{name}"))
                verified = False
            elif not expired and moment > now:
                detail = f"the credential is valid only from {_format(moment)} ({name})"
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


def _schema(
    credential: Mapping[str, Any],
    loader: OfflineDocumentLoader,
    canonicalizer: Canonicalizer,
    report: Verification,
) -> dict[str, Any]:
    """An EDC (by type or by a declared EDC ``ShaclValidator2017`` schema) against the shapes."""
    declared = as_list(credential.get("credentialSchema"))
    schemas: list[dict[str, Any]] = []
    wants_edc = EDC_TYPE in types_of(credential)
    for index, schema in enumerate(declared[:MAX_SCHEMAS]):
        pointer = (
            f"/credentialSchema/{index}" if isinstance(declared, list) else "/credentialSchema"
        )
        schema_id = schema.get("id") if isinstance(schema, Mapping) else None
        schema_type = schema.get("type") if isinstance(schema, Mapping) else None
        checked = (
            schema_type == SHACL_VALIDATOR
            and isinstance(schema_id, str)
            and schema_id in EDC_SHAPES
        )
        wants_edc = wants_edc or checked
        schemas.append({"id": schema_id, "type": schema_type, "checked": checked})
        if not checked:
            detail = (
                f"credentialSchema {schema_id!r} ({schema_type!r}) is not one this service checks"
            )
            report.warnings.append(problem(SCHEMA_NOT_CHECKED, detail, pointer))
    result: dict[str, Any] = {"verified": None, "schemas": schemas, "violations": []}
    if not wants_edc:
        return result
    from app.credentials.shacl import validate_edc

    try:
        shacl = validate_edc(credential, loader, canonicalizer=canonicalizer)
    except JsonLdProcessingError as exc:
        detail = f"the credential cannot be read for SHACL validation: {exc}"
        report.errors.append(problem(MALFORMED_VALUE_ERROR, detail, "/credentialSchema"))
        result["verified"] = False
        return result
    except Exception as exc:  # third-party RDF processing over untrusted input
        detail = f"the credential cannot be validated against the EDC shapes ({type(exc).__name__})"
        report.errors.append(problem(MALFORMED_VALUE_ERROR, detail, "/credentialSchema"))
        result["verified"] = False
        return result
    result["verified"] = shacl.conforms
    result["violations"] = [
        {"focusNode": v.focus_node, "path": v.path, "message": v.message, "value": v.value}
        for v in shacl.violations[:MAX_SHOWN_VIOLATIONS]
    ]
    if not shacl.conforms:
        report.errors.append(
            problem(
                MALFORMED_VALUE_ERROR,
                f"{len(shacl.violations)} violation(s) of the EDC SHACL shapes",
                "/credentialSchema",
                errors=[
                    {"pointer": "", "detail": f"{v.path}: {v.message}"}
                    for v in shacl.violations[:MAX_SHOWN_VIOLATIONS]
                ],
            )
        )
    return result


def _eu_profile(credential: Mapping[str, Any], report: Verification) -> dict[str, Any]:
    """The mandatory EU micro-credential elements the credential lacks (informative)."""
    from app.credentials.profile import missing_eu_elements

    types = types_of(credential)
    profile = "edc" if EDC_TYPE in types else "obv3" if types & OB_TYPES else None
    missing = missing_eu_elements(credential)
    if profile is not None and missing:
        report.warnings.append(
            problem(
                EU_MICROCREDENTIAL_INCOMPLETE,
                "missing mandatory EU micro-credential elements: " + ", ".join(missing),
            )
        )
    return {"complete": not missing, "profile": profile, "missing": missing}


# -- wiring -------------------------------------------------------------------------------------


def build_verifier(
    settings: Settings,
    *,
    data_integrity: DataIntegrity,
    loader: OfflineDocumentLoader,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
) -> Verifier:
    did_web = DidWebResolver(
        client,
        max_bytes=settings.http_max_bytes,
        timeout=settings.http_timeout_seconds,
        allow_private=settings.allow_private_network,
        cache_ttl=settings.did_web_cache_seconds,
        scheme=settings.did_web_scheme,
    )
    return Verifier(
        data_integrity=data_integrity,
        loader=loader,
        sessionmaker=sessionmaker,
        client=client,
        did_web=did_web,
        public_url=settings.public_url,
        allow_private_network=settings.allow_private_network,
        http_timeout=settings.http_timeout_seconds,
        http_max_bytes=settings.http_max_bytes,
    )


def challenge_ttl(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.challenge_ttl_seconds)
