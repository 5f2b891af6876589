"""Joint credentials: a draft the lead issuer makes, each awarding body's proof, the release."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import ValidationError

from app.api.auth import IssueCaller, MaybeIssueCaller, ReadCaller
from app.api.deps import IssuingDep, ServicesDep, SessionDep, SettingsDep, VerifierDep
from app.api.schemas.joint import (
    JointCredentialReply,
    JointCredentialRequest,
    JointProofReply,
    JointProofRequest,
)
from app.credentials.microcredential import MicroCredentialIn
from app.problems import Unauthorized, ValidationFailed, json_pointer
from app.services import joint

router = APIRouter(tags=["joint credentials"])


def joint_reply(view: joint.JointView) -> JointCredentialReply:
    row = view.row
    return JointCredentialReply(
        id=row.id,
        state="complete" if row.state == joint.COMPLETE else "awaiting-proofs",
        awardingBodies=list(row.bodies),
        missing=view.missing,
        draft=row.draft,
        expiresAt=row.expires_at,
        verifiableCredential=view.credential,
    )


@router.post(
    "/joint-credentials",
    status_code=201,
    response_model_exclude_none=True,
    responses={422: {"description": "Not a micro-credential several bodies can award jointly"}},
)
async def create_joint_credential(
    body: JointCredentialRequest,
    session: SessionDep,
    issuing: IssuingDep,
    settings: SettingsDep,
    caller: IssueCaller,
) -> JointCredentialReply:
    """Draft a credential awarded jointly by the bodies named (the caller, the lead issuer,
    among them): the lead's proof is added now; the others add theirs with
    POST /joint-credentials/{id}/proofs before the draft expires."""
    refs = [
        joint.BodyRef(
            ref.issuer, ref.model_dump(mode="json", exclude={"issuer"}, exclude_none=True)
        )
        for ref in body.awardingBodies
    ]
    organisations = await joint.resolve_bodies(session, caller.issuer, refs)
    fields = body.model_dump(mode="json", exclude={"awardingBodies"}, exclude_none=True)
    try:
        mc = MicroCredentialIn.model_validate({**fields, "awardingBodies": organisations})
    except ValidationError as exc:
        errors = [
            {"pointer": json_pointer(e["loc"]), "detail": str(e["msg"])} for e in exc.errors()
        ]
        raise ValidationFailed("the awarding bodies cannot be used", errors=errors) from None
    view = await joint.create(
        session,
        issuing,
        caller.issuer,
        mc,
        actor=caller.actor,
        ttl=timedelta(seconds=settings.joint_draft_ttl_seconds),
    )
    return joint_reply(view)


@router.post(
    "/joint-credentials/{joint_id}/proofs",
    responses={
        404: {"description": "Unknown id, or the caller is not an awarding body"},
        409: {"description": "This awarding body has signed already"},
        410: {"description": "The draft has expired"},
        422: {"description": "The proof is not an awarding body's or does not verify"},
    },
)
async def add_joint_proof(
    joint_id: str,
    session: SessionDep,
    services: ServicesDep,
    issuing: IssuingDep,
    verifier: VerifierDep,
    caller: MaybeIssueCaller,
    body: Annotated[JointProofRequest | None, Body()] = None,
) -> JointProofReply:
    """Add an awarding body's proof: with a co-awarding issuer's API key and no `proof`, this
    service signs the draft with that issuer's key; a `proof` made elsewhere over the draft
    (with or without a key) is verified against its awarding body's DID. The last proof
    releases the credential."""
    proof = body.proof if body is not None else None
    if proof is not None:
        view = await joint.add_foreign_proof(
            session,
            services.sessionmaker,
            verifier,
            joint_id,
            proof,
            actor=caller.actor if caller else "proof-import",
            caller=caller.issuer if caller else None,
        )
    elif caller is None:
        raise Unauthorized("sign with a co-awarding issuer's API key, or send a proof")
    else:
        view = await joint.sign_here(session, issuing, joint_id, caller.issuer, actor=caller.actor)
    return JointProofReply(
        state="complete" if view.row.state == joint.COMPLETE else "awaiting-proofs",
        missing=view.missing,
    )


@router.get(
    "/joint-credentials/{joint_id}",
    response_model_exclude_none=True,
    responses={404: {"description": "Unknown id, or the caller is not an awarding body"}},
)
async def read_joint_credential(
    joint_id: str, session: SessionDep, caller: ReadCaller
) -> JointCredentialReply:
    """The joint credential's state, for any of its awarding issuers; when complete, the
    credential with one proof per awarding body."""
    return joint_reply(await joint.read(session, joint_id, caller.issuer))
