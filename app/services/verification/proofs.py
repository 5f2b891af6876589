"""The proofs and who made them: every proof of a proof set or chain (``eddsa-rdfc-2022``,
``eddsa-jcs-2022``, ``Ed25519Signature2020``) with a method its controller authorizes for the
purpose; the issuer of a credential (the holder of a presentation) must be that controller.

An issuer that is a DID and not the controller of a method that signed is an error; an issuer
that is not a DID cannot be bound to the key and is reported as a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.credentials.joint import SignedBy, awarding_body_dids, body_states, signer_did
from app.crypto.dataintegrity import DataIntegrity, ProofResult, VerifyResult
from app.crypto.errors import (
    InvalidVerificationMethodError,
    MalformedProofError,
    ProofVerificationError,
)
from app.jsonld.values import as_list, node_id
from app.problems import AWARDING_BODY_PROOF_MISSING, ISSUER_NOT_A_DID
from app.services.verification.controllers import (
    MAX_PROOFS,
    Run,
    controller_did,
    method_resolver,
)
from app.services.verification.results import (
    AwardingBodiesResult,
    HolderCheck,
    IssuerCheck,
    ProofEntry,
    ProofResults,
    ResolvedFrom,
    Verification,
    from_error,
    problem,
)

ASSERTION, AUTHENTICATION = "assertionMethod", "authentication"


def verify_proofs(
    di: DataIntegrity,
    run: Run,
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
        return di.verify(
            document,
            method_resolver(run),
            expected_purpose=purpose,
            challenge=challenge,
            domain=domain,
            now=run.now,
        )
    except (ValueError, TypeError, RecursionError) as exc:
        failed = ProofVerificationError(f"the proof cannot be processed ({type(exc).__name__})")
        return VerifyResult(False, [ProofResult({}, False, failed)])


def proof_results(
    run: Run, document: Mapping[str, Any], proofs: VerifyResult, report: Verification
) -> ProofResults:
    raw = document.get("proof")
    shown: list[ProofEntry] = []
    for index, result in enumerate(proofs.proofs):
        pointer = f"/proof/{index}" if isinstance(raw, list) else "/proof"
        if result.error is not None:
            report.errors.append(from_error(result.error, pointer))
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


def _source(run: Run, method_id: Any) -> ResolvedFrom | None:
    """Where the method's controller document came from (database, did:key, did:web)."""
    if not isinstance(method_id, str):
        return None
    controller = run.controllers.get(controller_did(method_id))
    return controller.source if controller else None


def controllers_of(proofs: VerifyResult) -> list[str]:
    return sorted(
        {r.verification_method.controller for r in proofs.proofs if r.verification_method}
    )


def check_issuer(issuer: str | None, proofs: VerifyResult, report: Verification) -> IssuerCheck:
    """The issuer must control a method that signed (NOTES: URL issuer → warning)."""
    controllers = controllers_of(proofs)
    result: IssuerCheck = {"id": issuer, "controllers": controllers, "matches": None}
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
        report.errors.append(from_error(error, "/issuer"))
    return result


def check_holder(
    presentation: Mapping[str, Any], proofs: VerifyResult, report: Verification
) -> HolderCheck:
    holder = node_id(presentation.get("holder"))
    controllers = controllers_of(proofs)
    result: HolderCheck = {"id": holder, "controllers": controllers, "bound": None}
    if holder is None or not controllers:
        return result
    result["bound"] = holder in controllers
    if not result["bound"]:
        error = InvalidVerificationMethodError(
            f"the holder {holder} is not the controller of the method that signed the "
            f"presentation (signed by {', '.join(controllers)})"
        )
        report.errors.append(from_error(error, "/holder"))
    return result


_NONE = {"missing": "no proof", "invalid": "no valid proof"}


def check_awarding_bodies(
    document: Mapping[str, Any], proofs: VerifyResult, report: Verification
) -> AwardingBodiesResult | None:
    """A joint credential (two or more awarding bodies with DIDs) is verified only when each
    awarding body controls a proof of the set that verified; None for any other credential."""
    bodies = awarding_body_dids(document)
    if len(bodies) < 2:
        return None
    signed = [
        SignedBy(
            result.verification_method.controller
            if result.verification_method is not None
            else signer_did(result.proof),
            result.verified,
        )
        for result in proofs.proofs
    ]
    states = body_states(bodies, signed)
    for did, state in states:
        if state != "verified":
            report.errors.append(
                problem(
                    AWARDING_BODY_PROOF_MISSING,
                    f"the awarding body {did} has {_NONE[state]} in the credential's proof "
                    "set: a joint credential needs every awarding body's proof",
                    "/proof",
                )
            )
    return {
        "verified": all(state == "verified" for _, state in states),
        "bodies": [{"did": did, "proof": state} for did, state in states],
    }
