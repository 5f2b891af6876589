"""Joint credentials: one credential awarded by several bodies, each signing it (a proof set).

A joint credential names its awarding bodies by DID: the EDC in
``credentialSubject.hasClaim[].awardedBy.awardingBody[].id``, the Open Badge in achievement
alignments of ``targetType`` :data:`AWARDING_BODY_TARGET` (OB 3.0 has one ``creator`` only).
A credential naming two or more awarding bodies by DID is joint: it is verified only when each
of them controls a proof that verified. Every proof of the set is made over the same unsigned
draft, independently (no ``previousProof``): https://www.w3.org/TR/vc-data-integrity/#proof-sets

:class:`JointAwardingBodyIn` is how a request (``POST /joint-credentials``) or a jointly awarded
course (``jointAwardingBodies``) names one awarding body.

Pure: no database, no web framework.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field

from app.credentials.fieldtypes import (
    Country,
    HttpUrl,
    InputModel,
    Logo,
    TitleMap,
    text_constraint,
)
from app.jsonld.values import as_list

#: The Open Badge alignment ``targetType`` naming an awarding body (``targetUrl`` its DID).
AWARDING_BODY_TARGET = "ext:AwardingBody"
#: The cryptosuites a co-awarding body may sign with.
JOINT_CRYPTOSUITES = frozenset({"eddsa-rdfc-2022", "eddsa-jcs-2022"})

ProofState = Literal["verified", "missing", "invalid"]


class JointAwardingBodyIn(InputModel):
    """An awarding body of a joint credential: an issuer of this service, or a DID elsewhere."""

    issuer: Annotated[str, text_constraint(512)] = Field(
        description="The awarding issuer: the slug or DID of an issuer of this service (its "
        "name, country and legal identifier come from its record), or the did:key or did:web "
        "of a body elsewhere (then `name` and `country` are required)."
    )
    name: TitleMap | None = Field(
        default=None, description="The body's name per language (a body elsewhere only)."
    )
    country: Country | None = Field(
        default=None,
        description="The country where the body is established, ISO 3166-1 alpha-3 or alpha-2.",
    )
    legalIdentifier: Annotated[str, text_constraint(100)] | None = Field(
        default=None, description="The body's legal identifier (VAT or registration number)."
    )
    homepage: HttpUrl | None = Field(default=None, description="The body's website.")
    logo: Logo | None = Field(
        default=None, description="The body's logo: an http(s) URL or a base64 data:image URI."
    )


def _is_did(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("did:")


def awarding_body_dids(document: Mapping[str, Any]) -> list[str]:
    """The DIDs of the awarding bodies the credential names, in order, each once."""
    found: list[str] = []
    for subject in as_list(document.get("credentialSubject")):
        if not isinstance(subject, Mapping):
            continue
        for claim in as_list(subject.get("hasClaim")):
            awarded = claim.get("awardedBy") if isinstance(claim, Mapping) else None
            if isinstance(awarded, Mapping):
                for body in as_list(awarded.get("awardingBody")):
                    if isinstance(body, Mapping) and _is_did(body.get("id")):
                        found.append(body["id"])
        achievement = subject.get("achievement")
        if isinstance(achievement, Mapping):
            for alignment in as_list(achievement.get("alignment")):
                if (
                    isinstance(alignment, Mapping)
                    and alignment.get("targetType") == AWARDING_BODY_TARGET
                    and _is_did(alignment.get("targetUrl"))
                ):
                    found.append(alignment["targetUrl"])
    return list(dict.fromkeys(found))


def signer_did(proof: Mapping[str, Any]) -> str | None:
    """The DID whose verification method the proof names (``did:…#key`` → ``did:…``)."""
    method = proof.get("verificationMethod")
    if not isinstance(method, str) or not method.startswith("did:"):
        return None
    return method.split("#", 1)[0]


@dataclass(frozen=True)
class SignedBy:
    """One proof of a set as checked: the DID that signed (when known) and whether it verified."""

    did: str | None
    verified: bool


def body_states(bodies: Sequence[str], proofs: Iterable[SignedBy]) -> list[tuple[str, ProofState]]:
    """Each awarding body's proof: ``verified`` when one of its proofs verified, ``invalid``
    when it has proofs and none verified, ``missing`` when it has none."""
    seen: dict[str, bool] = {}
    for proof in proofs:
        if proof.did is not None:
            seen[proof.did] = seen.get(proof.did, False) or proof.verified
    states: list[tuple[str, ProofState]] = []
    for did in bodies:
        if did not in seen:
            states.append((did, "missing"))
        else:
            states.append((did, "verified" if seen[did] else "invalid"))
    return states


class ProofRefused(ValueError):
    """A proof offered for a joint draft that cannot join its proof set."""


def check_offered_proof(proof: Any, missing: Sequence[str], bodies: Sequence[str]) -> str:
    """The awarding body a proof offered for a draft stands for; :class:`ProofRefused` when
    it is not a Data Integrity proof of a supported suite for ``assertionMethod``, chains to
    another proof, or is made by a body that is not awarding or has signed already."""
    if not isinstance(proof, Mapping):
        raise ProofRefused("the proof must be one JSON object")
    if proof.get("type") != "DataIntegrityProof":
        raise ProofRefused("the proof must be a DataIntegrityProof")
    if proof.get("cryptosuite") not in JOINT_CRYPTOSUITES:
        raise ProofRefused(
            f"the cryptosuite must be one of {', '.join(sorted(JOINT_CRYPTOSUITES))}"
        )
    if proof.get("proofPurpose") != "assertionMethod":
        raise ProofRefused("the proof's proofPurpose must be assertionMethod")
    if "previousProof" in proof:
        raise ProofRefused(
            "a joint credential's proofs form a set: each is made over the draft alone, "
            "without previousProof"
        )
    did = signer_did(proof)
    if did is None:
        raise ProofRefused("the proof's verificationMethod must be a DID URL")
    if did not in bodies:
        raise ProofRefused(f"{did} is not an awarding body of this credential")
    if did not in missing:
        raise ProofRefused(f"{did} has signed this credential already")
    return did


def assemble(draft: Mapping[str, Any], proofs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The credential: the draft with its proof set (always an array: several proofs)."""
    document = {key: value for key, value in draft.items() if key != "proof"}
    document["proof"] = [dict(proof) for proof in proofs]
    return document
