"""Issuing (VC-API and EU micro-credentials), reading, and status changes."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import BaseModel

from app import jsontext
from app.api.auth import IssueCaller, ReadCaller
from app.api.deps import IssuingDep, SessionDep, VerifierDep
from app.api.schemas.issuing import (
    BatchReply,
    BatchRequest,
    CredentialStatusFlags,
    IssuedReply,
    IssueOptions,
    IssueRequest,
    StoredCredentialReply,
)
from app.credentials.examples import example_request
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.vcapi import check_issuable, issuable_document
from app.db.models import utcnow
from app.limits import LARGE_BODY, ParsedOnceRoute, pause_if_large
from app.problems import ValidationFailed
from app.services import issuance, sdjwt, stacks, status

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
    issuing: IssuingDep,
    caller: IssueCaller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """VC-API issue: sign a VC 1.1 or 2.0 credential whose issuer is the caller's DID."""
    credential = body.credential
    errors = check_issuable(credential, caller.issuer.did, issuing.loader.contents)
    if errors:
        raise ValidationFailed("the credential cannot be issued as given", errors=errors)
    options = body.options or IssueOptions()
    purposes = options.status_purposes(status.purposes_for(caller.issuer, "vc"))
    contexts = issuance.status_contexts_for(credential["@context"], adding_status=bool(purposes))
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

    order = issuance.IssueOrder(
        caller.issuer,
        partial(issuable_document, credential, contexts),
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
        422: {
            "description": "Missing or invalid micro-credential elements, or parts of a stack "
            "that cannot be stacked"
        },
    },
)
async def issue_microcredential(
    body: Annotated[MicroCredentialIn, Body(openapi_examples=MICROCREDENTIAL_EXAMPLES)],
    session: SessionDep,
    issuing: IssuingDep,
    verifier: VerifierDep,
    caller: IssueCaller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Issue an EU micro-credential as a Europass EDC (`edc`), an Open Badge 3.0 (`obv3`) or an
    SD-JWT VC (`sd-jwt`, bound to `holderJwk` when given; the main path for wallets is
    OpenID4VCI). With `stack`, a credential awarded for earlier credentials (its parts), each
    verified first: a 422 names every part that cannot be stacked (`/stack/parts/<i>`)."""
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
    if body.stack is not None:
        earlier = await issuance.replayed(session, caller.issuer, idempotency_key, body_hash)
        if earlier is not None:  # a retry: its parts were verified the first time
            return issued_reply(earlier)
    parts, body = await stacks.resolve_and_commit(session, verifier, body, now=utcnow())
    order = issuance.microcredential_order(
        body,
        caller.issuer,
        issuing,
        actor=caller.actor,
        idempotency_key=idempotency_key,
        body_hash=body_hash,
        branding=await issuance.branding_of(session, caller.issuer),
        parts=parts if body.stack is not None else None,
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


@router.post("/microcredentials/batch", response_model=BatchReply, response_model_exclude_none=True)
async def issue_microcredential_batch(
    body: BatchRequest,
    session: SessionDep,
    issuing: IssuingDep,
    caller: IssueCaller,
    idempotency_key: IdempotencyKey = None,
    reply: Annotated[
        Literal["credentials", "ids"],
        Query(
            description="`credentials` (default): each item's signed credential; `ids`: its "
            "`credentialId` and `link` only, a reply that does not grow with the credentials' "
            "pages (each is then fetched with `GET /credentials/{id}`)"
        ),
    ] = "credentials",
) -> Response:
    """Issue up to 1000 micro-credentials; each item succeeds or fails on its own.

    With an `Idempotency-Key`, item *i* is idempotent under `<key>#<i>`: retrying a batch that
    was cut short issues only what is missing. With `?reply=ids` each issued item answers its
    id and link instead of the document (a thousand EDCs with their pages are ~47 MB).
    """
    results = await issuance.issue_batch(
        session,
        caller.issuer,
        body.items,
        issuing,
        actor=caller.actor,
        idempotency_key=idempotency_key,
    )
    # BatchReply without its None fields, written directly (see issued_reply): a thousand EDCs
    # are ~47 MB of JSON.
    items: list[bytes] = []
    for result in results:
        item = b'{"index":%d,"status":%d' % (result.index, result.status)
        if result.credential is not None and reply == "ids":
            item += b',"credentialId":%s,"link":%s' % (
                jsontext.dumps_bytes(result.credential.id),
                jsontext.dumps_bytes(f"/credentials/{result.credential.id}"),
            )
        elif result.credential is not None:
            item += b',"verifiableCredential":' + credential_json(result.credential)
        if result.problem is not None:
            item += b',"problem":' + jsontext.dumps_bytes(result.problem)
        items.append(item + b"}")
    return Response(b'{"results":[' + b",".join(items) + b"]}", media_type="application/json")
