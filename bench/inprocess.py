"""In-process figures: our Data Integrity code signing and verifying the EDC micro-credential.

Also the other steps of issuing one EDC (request model, page rendering, building, SHACL), each on
its own, so the HTTP figures can be read against what one core can do without HTTP or database.
"""

from __future__ import annotations

import copy
import dataclasses
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from app.credentials.edc import build_edc
from app.credentials.examples import example_issuer, example_request
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.render import render_pages
from app.credentials.shacl import validate_edc
from app.crypto.cryptosuites import EDDSA_JCS_2022, EDDSA_RDFC_2022
from app.crypto.dataintegrity import DataIntegrity
from app.crypto.resolvers import resolve_did_key_method
from app.jsonld import OfflineDocumentLoader, OxigraphCanonicalizer
from app.jsonld.oxigraph import FastPathDeclined
from app.status.bitstring import status_entry
from bench.common import CONTEXTS_DIR, Json, timed_loop
from bench.document import STATUS_LIST_URL, Fixture

#: Short names used in the output, for the two cryptosuites.
SUITES = {"rdfc": EDDSA_RDFC_2022, "jcs": EDDSA_JCS_2022}


class BenchError(RuntimeError):
    """The benchmark cannot go on (a credential that should verify does not, a tool failed)."""


@dataclass(frozen=True)
class LoopLimits:
    """Each case runs in ``rounds`` timed rounds of ``seconds``, ours and the peer's in turn."""

    rounds: int
    seconds: float
    max_iterations: int
    warmup: int
    peer_warmup_seconds: float


@dataclass
class InProcess:
    cases: dict[str, Callable[[], object]]
    signed: dict[str, dict[str, Any]]
    problems: list[str] = dataclasses.field(default_factory=list)


class PeerRunner(Protocol):
    def ask(self, command: Json, timeout: float) -> Json: ...


def verify_document(di: DataIntegrity, document: Mapping[str, Any]) -> Json:
    """Our verdict on a credential signed by a did:key (resolved offline)."""
    try:
        result = di.verify(document, resolve_did_key_method)
    except Exception as exc:  # a verifier must not raise; report it as a failure
        return {"verified": False, "errors": [f"{type(exc).__name__}: {exc}"]}
    return {
        "verified": result.verified,
        "errors": [f"{type(error).__name__}: {error}" for error in result.errors],
    }


def tamper(document: Mapping[str, Any]) -> dict[str, Any]:
    """The same credential with one signed value changed: every verifier must refuse it."""
    changed = copy.deepcopy(dict(document))
    changed["issuanceDate"] = "2020-01-01T00:00:00Z"
    return changed


def prepare(fixture: Fixture, engines: Mapping[str, DataIntegrity]) -> InProcess:
    """Sign the fixture with each suite (and check that it verifies); the timed cases.

    ``engines`` maps a canonicalizer name to our Data Integrity core using it. eddsa-rdfc-2022
    gets a case per canonicalizer (``sign/rdfc (oxigraph)``); eddsa-jcs-2022 does not use one,
    so it is measured once, with the first engine.
    """
    cases: dict[str, Callable[[], object]] = {}
    signed: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name, suite in SUITES.items():
        for canonicalizer, di in engines.items():
            label = f"{name} ({canonicalizer})" if name == "rdfc" else name

            def sign(suite: str = suite, di: DataIntegrity = di) -> dict[str, Any]:
                return di.add_proof(
                    fixture.unsigned,
                    fixture.key,
                    fixture.verification_method,
                    created=fixture.created,
                    cryptosuite=suite,
                )

            document = sign()
            own = verify_document(di, document)
            if not own["verified"]:
                raise BenchError(f"our own {label} credential does not verify: {own['errors']}")
            signed.setdefault(name, document)
            if document["proof"]["proofValue"] != signed[name]["proof"]["proofValue"]:
                problems.append(f"our canonicalizers sign the {name} credential differently")

            def verify(document: dict[str, Any] = document, di: DataIntegrity = di) -> object:
                return di.verify(document, resolve_did_key_method)

            cases[f"sign/{label}"] = sign
            cases[f"verify/{label}"] = verify
            if name != "rdfc":
                break
    return InProcess(cases, signed, problems)


def peer_case(case: str) -> str:
    """The peer's name for one of our cases: ``sign/rdfc (oxigraph)`` -> ``sign/rdfc``."""
    return case.split(" (", 1)[0]


def oxigraph_fast_path(fixture: Fixture, di: DataIntegrity) -> Json:
    """Whether pyoxigraph (not the pyld fallback) canonicalizes the EDC and its proof options."""
    suite = di.suites[SUITES["rdfc"]]
    canonicalizer = suite.canonicalizer
    if not isinstance(canonicalizer, OxigraphCanonicalizer):
        return {}
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": SUITES["rdfc"],
        "created": "2026-01-01T00:00:00Z",
        "verificationMethod": fixture.verification_method,
        "proofPurpose": "assertionMethod",
        "@context": fixture.unsigned["@context"],
    }
    verdicts: Json = {}
    for label, document in (("document", fixture.unsigned), ("proof options", options)):
        try:
            canonicalizer.canonicalize_fast(document)
        except FastPathDeclined as declined:
            verdicts[label] = f"declined: {declined}"
        else:
            verdicts[label] = "taken"
    return verdicts


def _across_rounds(rounds: list[Json]) -> Json:
    return {
        "per_second": statistics.median(r["per_second"] for r in rounds),
        "best_per_second": max(r["per_second"] for r in rounds),
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
        "iterations": sum(r["count"] for r in rounds),
        "rounds": rounds,
    }


def compare(ours: InProcess, peer: PeerRunner | None, limits: LoopLimits) -> dict[str, Json]:
    """Every case in alternating rounds, ours and the peer's; the median of the rounds' ratios.

    Rounds next to each other in time see about the same machine, so their ratio holds even when
    other work slows both down; the rate reported for each side is the median round.
    """
    figures: dict[str, Json] = {}
    for case, operation in ours.cases.items():
        for _ in range(limits.warmup):
            operation()
        mine: list[Json] = []
        theirs: list[Json] = []
        for number in range(limits.rounds):
            steps: list[str] = ["ours", "peer"] if number % 2 == 0 else ["peer", "ours"]
            for side in steps:
                if side == "ours":
                    mine.append(
                        timed_loop(
                            operation,
                            seconds=limits.seconds,
                            max_iterations=limits.max_iterations,
                            warmup=0,
                        )
                    )
                elif peer is not None:
                    command = {
                        "op": "measure",
                        "case": peer_case(case),
                        "seconds": limits.seconds,
                        "maxIterations": limits.max_iterations,
                    }
                    round_figures = peer.ask(command, timeout=3 * limits.seconds + 60)
                    # The peer copies its input every iteration; that cost is taken out.
                    round_figures["per_second"] = round_figures["net_per_second"]
                    theirs.append(round_figures)
        result: Json = {"ours": _across_rounds(mine)}
        if theirs:
            ratios = [m["per_second"] / t["per_second"] for m, t in zip(mine, theirs, strict=True)]
            result["peer"] = _across_rounds(theirs)
            result["ratio"] = statistics.median(ratios)
            result["ratios"] = ratios
        figures[case] = result
    return figures


def issue_steps(fixture: Fixture, signed: dict[str, Any], limits: LoopLimits) -> dict[str, Json]:
    """The other work of one ``POST /microcredentials`` (format edc), step by step."""
    loader = OfflineDocumentLoader(CONTEXTS_DIR)
    request = example_request()
    micro = MicroCredentialIn.model_validate(request)
    issuer = dataclasses.replace(example_issuer(), did=fixture.did)
    pages = render_pages(micro, issuer)
    fresh_nquads = OxigraphCanonicalizer(loader, remember=0)
    # A figure per step to read the HTTP figures against, not a comparison: one short loop each.
    loop: dict[str, Any] = {
        "seconds": limits.seconds * 2,
        "max_iterations": limits.max_iterations,
        "warmup": min(limits.warmup, 2),
    }
    return {
        "step/request-model": timed_loop(lambda: MicroCredentialIn.model_validate(request), **loop),
        "step/render-pages": timed_loop(lambda: render_pages(micro, issuer), **loop),
        "step/build-edc": timed_loop(
            lambda: build_edc(
                micro,
                issuer,
                credential_id="urn:uuid:00000000-0000-4000-8000-000000000000",
                issued=fixture.created,
                status=[status_entry(STATUS_LIST_URL, 1, "revocation")],
                display_images=pages,
            ),
            **loop,
        ),
        # The document canonicalized each time (the service reuses the signer's N-Quads).
        "step/shacl": timed_loop(
            lambda: validate_edc(signed, loader, canonicalizer=fresh_nquads), **loop
        ),
    }
