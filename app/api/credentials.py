"""Issuing (VC-API and EU micro-credentials), reading, and status changes."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app import jsontext
from app.api.auth import IssueCaller, ReadCaller
from app.api.deps import SessionDep
from app.credentials.examples import example_request
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.vcapi import check_issuable
from app.errors import ValidationFailed
from app.jsonld.values import as_list
from app.limits import LARGE_BODY, ParsedOnceRoute, pause_if_large
from app.services import issuance, sdjwt, status

router = APIRouter(tags=["issuing"], route_class=ParsedOnceRoute)

MICROCREDENTIAL_EXAMPLES = {
    "edc": {
        "summary": "A micro-credential as a Europass EDC",
        "value": example_request(format="edc"),
    },
    "obv3": {
        "summary": "The same micro-credential as an Open Badge 3.0",
        "value": example_request(format="obv3"),
    },
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Retries with the same key and body replay the first reply",
    ),
]


class StatusOption(BaseModel):
    """A status entry the service is to add (VC-API ``options.credentialStatus``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["BitstringStatusListEntry"] = Field(
        description="The only status type this service adds"
    )
    statusPurpose: Literal["revocation", "suspension"] | None = Field(
        default=None,
        description="The purpose of the entry; without it, the issuer's default purposes "
        "(revocation, and suspension when the issuer enables it)",
    )


class IssueOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["DataIntegrityProof"] | None = None
    cryptosuite: Literal["eddsa-rdfc-2022", "eddsa-jcs-2022"] | None = None
    credentialId: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    credentialStatus: StatusOption | Annotated[list[StatusOption], Field(max_length=2)] | None = (
        Field(
            default=None,
            description="The status entries the service adds: one `{type, statusPurpose?}`, "
            "or a list of them (one entry per purpose), or `[]` for none. Without it: a "
            "revocation entry (and a suspension entry when the issuer enables it). Entries "
            "the credential brings itself are kept either way. A VC 1.1 credential gets the "
            "context `https://www.w3.org/ns/credentials/status/v1` only when an entry is added.",
            examples=[{"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}, []],
        )
    )

    def status_purposes(self, defaults: Sequence[str]) -> list[str]:
        """The purposes of the entries to add, in order and each once."""
        if self.credentialStatus is None:
            return list(defaults)
        chosen = (
            self.credentialStatus
            if isinstance(self.credentialStatus, list)
            else [self.credentialStatus]
        )
        purposes: list[str] = []
        for option in chosen:
            for purpose in [option.statusPurpose] if option.statusPurpose else defaults:
                if purpose not in purposes:
                    purposes.append(purpose)
        return purposes


class IssueRequest(BaseModel):
    credential: dict[str, Any] = Field(
        examples=[
            {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"],
                "issuer": "did:web:credentials.example.edu:issuers:uni-zed",
                "credentialSubject": {"id": "did:example:learner", "name": "Aoife Murphy"},
            }
        ]
    )
    options: IssueOptions | None = None


class IssuedReply(BaseModel):
    verifiableCredential: dict[str, Any] | str = Field(
        description="the signed credential; an SD-JWT VC (format sd-jwt) is its compact string"
    )


class CredentialStatusFlags(BaseModel):
    revoked: bool
    suspended: bool


class StoredCredentialReply(BaseModel):
    verifiableCredential: dict[str, Any] | str
    status: CredentialStatusFlags


def credential_json(issued: issuance.Issued) -> bytes:
    """The credential as JSON: the document, or an SD-JWT VC's compact string."""
    sd_jwt = sdjwt.credential_of(issued.document)
    return issued.json if sd_jwt is None else jsontext.dumps_bytes(sd_jwt)


def issued_reply(issued: issuance.Issued) -> Response:
    """201 with ``IssuedReply``'s JSON, written straight from the stored document: a response
    model would copy and re-check the ~47 KB of an EDC first."""
    return Response(
        b'{"verifiableCredential":' + credential_json(issued) + b"}",
        status_code=201,
        media_type="application/json",
        headers={"Location": f"/credentials/{issued.id}"},
    )


async def _request_hash(request: Request, issuing: issuance.Issuing, body: BaseModel) -> str:
    """The body's hash (idempotency); of a large body in a worker process (its sorted JSON would
    hold the event loop)."""
    dumped = body.model_dump(mode="json")
    if request.scope.get(LARGE_BODY) and issuing.offload.workers:
        await pause_if_large(request)
        hashed = await issuing.offload.call("the request hash", issuance.request_hash, dumped)
        if isinstance(hashed, str):
            return hashed
    return issuance.request_hash(dumped)


def _issuing(request: Request) -> issuance.Issuing:
    issuing: issuance.Issuing = request.app.state.issuing
    return issuing


@router.post(
    "/credentials/issue",
    response_model=IssuedReply,
    status_code=201,
    responses={
        400: {"description": "Not a credential"},
        409: {"description": "Idempotency key reused with another body"},
        422: {"description": "The credential cannot be issued as given"},
    },
)
async def issue_credential(
    body: IssueRequest,
    request: Request,
    session: SessionDep,
    caller: IssueCaller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """VC-API issue: sign a VC 1.1 or 2.0 credential whose issuer is the caller's DID."""
    credential = body.credential
    errors = check_issuable(credential, caller.issuer.did, _issuing(request).loader.contents)
    if errors:
        raise ValidationFailed("the credential cannot be issued as given", errors=errors)
    options = body.options or IssueOptions()
    purposes = options.status_purposes(status.purposes_for(caller.issuer, "vc"))
    contexts = issuance.status_contexts_for(credential["@context"], adding_status=bool(purposes))
    issuing = _issuing(request)
    await issuing.offload.run(
        partial(
            issuance.check_pinned_form,
            issuing,
            {**credential, "@context": contexts},
            prefix="/credential",
        )
    )
    await pause_if_large(request)
    body_hash = await _request_hash(request, issuing, body)

    def build(uri: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        document = {**credential, "@context": contexts}
        document.setdefault("id", uri)
        if entries:
            # The caller's own entries (of any type) stay, before the service's.
            kept = as_list(credential.get("credentialStatus"))
            every = [*kept, *entries]
            document["credentialStatus"] = every[0] if len(every) == 1 else every
        return document

    order = issuance.IssueOrder(
        caller.issuer,
        build,
        "vc",
        body_hash,
        caller.actor,
        cryptosuite=options.cryptosuite,
        idempotency_key=idempotency_key,
        client_id=options.credentialId,
        credential_uri=credential.get("id"),
        purposes=purposes,
    )
    issued = await issuance.issue_and_commit(session, issuing, order)
    return issued_reply(issued)


@router.post(
    "/microcredentials",
    response_model=IssuedReply,
    status_code=201,
    responses={
        409: {"description": "Idempotency key reused with another body"},
        422: {"description": "Missing or invalid micro-credential elements"},
    },
)
async def issue_microcredential(
    body: Annotated[MicroCredentialIn, Body(openapi_examples=MICROCREDENTIAL_EXAMPLES)],
    request: Request,
    session: SessionDep,
    caller: IssueCaller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Issue an EU micro-credential as a Europass EDC (`edc`), an Open Badge 3.0 (`obv3`) or an
    SD-JWT VC (`sd-jwt`, bound to `holderJwk` when given; the main path for wallets is
    OpenID4VCI)."""
    issuing = _issuing(request)
    body_hash = issuance.request_hash(body.model_dump(mode="json"))
    if body.format == "sd-jwt":  # not a JSON-LD document: signed in the request's transaction
        sd_jwt = await sdjwt.issue(
            session,
            caller.issuer,
            body,
            issuing,
            holder_jwk=body.holderJwk,
            actor=caller.actor,
            idempotency_key=idempotency_key,
            body_hash=body_hash,
        )
        return issued_reply(sd_jwt)
    order = issuance.microcredential_order(
        body,
        caller.issuer,
        issuing,
        actor=caller.actor,
        idempotency_key=idempotency_key,
        body_hash=body_hash,
        branding=await issuance.branding_of(session, caller.issuer),
    )
    issued = await issuance.issue_and_commit(session, issuing, order)
    return issued_reply(issued)


@router.get("/credentials/{credential_id}", responses={404: {"description": "Unknown id"}})
async def read_credential(
    credential_id: str, session: SessionDep, caller: ReadCaller
) -> StoredCredentialReply:
    """A credential this issuer issued, with its current status."""
    credential = await issuance.find_credential(session, caller.issuer, credential_id)
    flags = await status.current_status(session, credential.id)
    document = sdjwt.credential_of(credential.document) or credential.document
    return StoredCredentialReply(
        verifiableCredential=document, status=CredentialStatusFlags(**flags)
    )


MAX_BATCH = 1000


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_BATCH)]


class BatchItemResult(BaseModel):
    index: int
    status: int = Field(description="201 issued, 200 replayed, or the item's problem status")
    verifiableCredential: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None


class BatchReply(BaseModel):
    results: list[BatchItemResult]


@router.post("/microcredentials/batch", response_model=BatchReply, response_model_exclude_none=True)
async def issue_microcredential_batch(
    body: BatchRequest,
    request: Request,
    session: SessionDep,
    caller: IssueCaller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Issue up to 1000 micro-credentials; each item succeeds or fails on its own.

    With an `Idempotency-Key`, item *i* is idempotent under `<key>#<i>`: retrying a batch that
    was cut short issues only what is missing.
    """
    results = await issuance.issue_batch(
        session,
        caller.issuer,
        body.items,
        _issuing(request),
        actor=caller.actor,
        idempotency_key=idempotency_key,
    )
    # BatchReply without its None fields, written directly (see issued_reply): a thousand EDCs
    # are ~47 MB of JSON.
    items: list[bytes] = []
    for result in results:
        item = b'{"index":%d,"status":%d' % (result.index, result.status)
        if result.credential is not None:
            item += b',"verifiableCredential":' + credential_json(result.credential)
        if result.problem is not None:
            item += b',"problem":' + jsontext.dumps_bytes(result.problem)
        items.append(item + b"}")
    return Response(b'{"results":[' + b",".join(items) + b"]}", media_type="application/json")
