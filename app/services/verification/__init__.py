"""Verifying credentials and presentations from any issuer, reported as results, never raised
(https://www.w3.org/TR/vc-data-model-2.0/#verification).

Every check acts on what the proof covers: a document is first taken only in its one JSON
reading (the compact form of its data under contexts the service pins, :mod:`app.jsonld.form`),
so no JSON spelling of the signed RDF can change what the checks below read. Each check is a
small unit of its own module, composed by :class:`~.verifier.Verifier`:

* :mod:`.datamodel`: a credential at all (else 400), the form, the data-model MUSTs;
* :mod:`.proofs` with :mod:`.controllers`: every proof, its method's controller, the issuer
  (or holder) bound to it;
* :mod:`.validity`: ``validFrom``/``validUntil`` (VC 1.1 ``issuanceDate``/``expirationDate``);
* :mod:`.status`: Bitstring Status List entries, ours from the database, others fetched;
* :mod:`.profile`: EDC SHACL shapes and the EU micro-credential elements;
* :mod:`.challenge`: a presentation's single-use challenge.
"""

from app.problems import ProblemDetails
from app.services.verification.results import (
    NotACredential,
    NotAPresentation,
    PresentationVerification,
    Verification,
)
from app.services.verification.verifier import Verifier, build_verifier, challenge_ttl

__all__ = [
    "NotACredential",
    "NotAPresentation",
    "PresentationVerification",
    "ProblemDetails",
    "Verification",
    "Verifier",
    "build_verifier",
    "challenge_ttl",
]
