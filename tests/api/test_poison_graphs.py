"""Poison graphs (blank nodes too symmetric for RDFC-1.0) are refused quickly, as 4xx problems or
failed verification results with a named problem, on issuing and on verifying."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.credentials.microcredential import (
    ESCO_SKILL_PREFIX,
    MAX_ESCO_SKILLS_PER_OUTCOME,
    MAX_LEARNING_OUTCOMES,
)
from app.crypto.keys import KeyPair
from app.jsonld.poison import DEFAULT_MAX_WORK, WORK_PER_QUAD
from app.problems import MALFORMED_VALUE_ERROR
from tests.api.test_verify import did_key_method, sign, verify, verify_presentation
from tests.conftest import problem_of
from tests.factories import (
    clique_credential,
    issuer_with_key,
    microcredential_body,
    vc2_credential,
)

pytestmark = pytest.mark.anyio

#: A security bound with margin: a refusal takes some 10 to 90 ms here, end to end (the
#: canonicalizers alone refuse within the 1 s of tests/unit/test_poison.py), but one request of a
#: full run on a machine loaded by three other runs took 1.25 s; unguarded, the credential alone
#: keeps pyoxigraph busy for 67 s (and pyld for hours).
REFUSED_WITHIN = 2.0
PROOF_TRANSFORMATION_ERROR = "https://w3id.org/security#PROOF_TRANSFORMATION_ERROR"
TOO_SYMMETRIC = re.compile(
    r"the document's blank nodes are too symmetric to canonicalize within the work limit "
    r"\(more than (\d+) units of N-degree hashing\)"
)


def with_borrowed_proof(app: FastAPI, poison: dict[str, Any]) -> dict[str, Any]:
    """``poison`` with the proof of a small credential signed by a fresh did:key (signing the
    poison itself is refused)."""
    pair = KeyPair.generate()
    did, method_id = did_key_method(pair)
    signed = sign(app, vc2_credential(did), pair, method_id)
    return {**poison, "issuer": did, "proof": signed["proof"]}


@pytest.mark.parametrize("to_pyld", [False, True], ids=["fast path", "pyld"])
async def test_verifying_a_clique_credential_fails_quickly(
    app: FastAPI, client: httpx.AsyncClient, to_pyld: bool
) -> None:
    credential = with_borrowed_proof(app, clique_credential(9, to_pyld=to_pyld))
    started = time.perf_counter()
    status, reply = await verify(client, credential)
    elapsed = time.perf_counter() - started
    assert status == 422
    # besides the subjects' blank node ids, which are no URLs (VC DM 2.0 4.4)
    [error] = [e for e in reply["errors"] if e["type"] != MALFORMED_VALUE_ERROR]
    assert (error["type"], error["pointer"]) == (
        PROOF_TRANSFORMATION_ERROR,
        "/verifiableCredential/proof",
    )
    limit = TOO_SYMMETRIC.fullmatch(error["detail"])
    assert limit is not None, error["detail"]
    # 84 quads name a blank node: 72 edges, 9 credentialSubject, type, issuer, validFrom
    assert int(limit.group(1)) == DEFAULT_MAX_WORK + WORK_PER_QUAD * 84
    assert elapsed < REFUSED_WITHIN


async def test_verifying_a_presentation_of_a_clique_credential_fails_quickly(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    credential = with_borrowed_proof(app, clique_credential(9))
    pair = KeyPair.generate()
    did, method_id = did_key_method(pair)
    small = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": did,
    }
    proof = sign(app, small, pair, method_id, proof_purpose="authentication")["proof"]
    presentation = {**small, "verifiableCredential": [credential], "proof": proof}
    started = time.perf_counter()
    status, reply = await verify_presentation(client, presentation)
    elapsed = time.perf_counter() - started
    assert status == 422
    # besides the subjects' blank node ids, which are no URLs (VC DM 2.0 4.4)
    problems = [p for p in reply["errors"] if p["type"] != MALFORMED_VALUE_ERROR]
    assert {problem["type"] for problem in problems} == {PROOF_TRANSFORMATION_ERROR}
    assert all(TOO_SYMMETRIC.fullmatch(problem["detail"]) for problem in problems)
    assert elapsed < REFUSED_WITHIN


@pytest.mark.parametrize("to_pyld", [False, True], ids=["fast path", "pyld"])
async def test_issuing_a_clique_credential_is_a_422_problem(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    to_pyld: bool,
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    credential = clique_credential(9, issuer["did"], to_pyld=to_pyld, nested=True)
    started = time.perf_counter()
    response = await client.post(
        "/credentials/issue", json={"credential": credential}, headers=auth
    )
    elapsed = time.perf_counter() - started
    problem = problem_of(response)
    assert response.status_code == 422
    assert problem["type"] == PROOF_TRANSFORMATION_ERROR
    assert TOO_SYMMETRIC.fullmatch(problem["detail"]), problem["detail"]
    assert elapsed < REFUSED_WITHIN


@pytest.mark.parametrize("format", ["edc", "obv3"])
async def test_the_most_repetitive_microcredential_is_issued(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str, format: str
) -> None:
    """Identical learning outcomes, as many as allowed, may give blank nodes
    with equal first-degree hashes: cheap N-degree hashing, well inside the work limit."""
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    body = microcredential_body(format)
    outcome = {**body["learningOutcomes"][0], "escoSkill": None}
    outcome["escoSkills"] = [
        f"{ESCO_SKILL_PREFIX}{uuid.UUID(int=n)}" for n in range(MAX_ESCO_SKILLS_PER_OUTCOME - 1)
    ]  # all 20 would give an Open Badge of 2,020 blank nodes, beyond the 2,000 allowed
    body["learningOutcomes"] = [outcome] * MAX_LEARNING_OUTCOMES
    response = await client.post("/microcredentials", json=body, headers=auth)
    assert response.status_code == 201, response.text
