"""The verifier judges what was signed: no JSON spelling of a signed credential's RDF changes its
verdict or its claims (issue: trust).

With ``eddsa-rdfc-2022`` the proof covers the RDF, so a full IRI, a compact IRI, an alias from an
appended context, two unprotected terms swapped by an inline context, ``@graph`` or ``@id``
keep the signature valid. Each attack of the attack run is shown refused here; then hypothesis
re-spells real signed credentials (EDC, Open Badge, VC 1.1 and 2.0, both cryptosuites; revoked,
suspended, expired and not-yet-valid ones too) thousands of times, and every variant gets the
original's verdict with the original's claims, or a refusal.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import anyio
import anyio.from_thread
import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import Settings
from app.crypto.dataintegrity import DataIntegrity
from app.jsonld.form import PinnedForm
from app.services.verification import NotACredential, Verification, Verifier
from tests.api.test_fuzz_verifier import FUZZ_SETTINGS, signed_content
from tests.conftest import problem_of
from tests.factories import issuer_with_key, microcredential_body, vc2_credential

pytestmark = pytest.mark.anyio

CRED = "https://www.w3.org/2018/credentials#"
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
FOAF = "http://xmlns.com/foaf/0.1/"
NOT_PINNED_FORM = "urn:microcred:problem:NOT_PINNED_FORM"
#: Re-spelled credentials verified per run.
VARIANTS = 2500


@pytest.fixture(name="settings")
def settings_without_rate_limits(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"rate_limit_per_key_per_minute": 0, "rate_limit_public_per_minute": 0}
    )


async def _issue(client: httpx.AsyncClient, auth: dict[str, str], path: str, body: Any) -> Any:
    response = await client.post(path, json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()["verifiableCredential"]


async def _revoke(
    client: httpx.AsyncClient, auth: dict[str, str], credential: Any, purpose: str = "revocation"
) -> None:
    body = {
        "credentialId": credential["id"],
        "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": purpose},
        "status": True,
    }
    response = await client.post("/credentials/status", json=body, headers=auth)
    assert response.status_code == 200, response.text


async def _verify(client: httpx.AsyncClient, credential: Any) -> tuple[int, dict[str, Any]]:
    response = await client.post("/credentials/verify", json={"verifiableCredential": credential})
    body: dict[str, Any] = response.json()
    return response.status_code, body


def _types(reply: dict[str, Any]) -> list[str]:
    return [error["type"] for error in reply["errors"]]


# -- the attacks of the attack run, one by one ---------------------------------------------------


async def test_a_revoked_credential_stays_revoked_under_any_spelling_of_its_status(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    credential = await _issue(
        client, auth, "/credentials/issue", {"credential": vc2_credential(issuer["did"])}
    )
    await _revoke(client, auth, credential)
    status, reply = await _verify(client, credential)
    assert status == 422 and reply["results"]["credentialStatus"]["revoked"] is True

    full_iri = {k: v for k, v in credential.items() if k != "credentialStatus"}
    full_iri[CRED + "credentialStatus"] = credential["credentialStatus"]
    alias = {k: v for k, v in credential.items() if k != "credentialStatus"}
    alias["@context"] = [*credential["@context"], {"st": CRED + "credentialStatus"}]
    alias["st"] = credential["credentialStatus"]
    graph = {
        "@context": credential["@context"],
        "@graph": [{k: v for k, v in credential.items() if k != "@context"}],
    }
    for variant in (full_iri, alias):
        status, reply = await _verify(client, variant)
        assert status == 422, reply
        assert _types(reply) == [NOT_PINNED_FORM], reply["errors"]
    # Wrapped in @graph it has no type a reader sees: not a credential at all.
    response = await client.post("/credentials/verify", json={"verifiableCredential": graph})
    assert response.status_code == 400
    assert problem_of(response)["type"].endswith("#PARSING_ERROR")


async def test_an_expired_credential_stays_expired_with_its_date_as_a_typed_iri(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    expired = vc2_credential(issuer["did"], validUntil="2026-02-01T00:00:00Z")
    credential = await _issue(client, auth, "/credentials/issue", {"credential": expired})
    status, reply = await _verify(client, credential)
    assert status == 422 and "urn:microcred:problem:CREDENTIAL_EXPIRED" in _types(reply)
    variant = {k: v for k, v in credential.items() if k != "validUntil"}
    variant[CRED + "validUntil"] = {"@value": credential["validUntil"], "@type": XSD_DATETIME}
    status, reply = await _verify(client, variant)
    assert status == 422 and _types(reply) == [NOT_PINNED_FORM]
    assert reply["errors"][0]["pointer"] == "/verifiableCredential/" + (
        CRED + "validUntil"
    ).replace("/", "~1")


async def test_swapping_two_unprotected_edc_terms_by_an_inline_context_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    credential = await _issue(client, auth, "/microcredentials", microcredential_body("edc"))
    status, reply = await _verify(client, credential)
    assert status == 200, reply["errors"]
    swapped = copy.deepcopy(credential)
    swapped["@context"] = [
        *credential["@context"],
        {"givenName": FOAF + "familyName", "familyName": FOAF + "givenName"},
    ]
    subject = swapped["credentialSubject"]
    subject["givenName"], subject["familyName"] = subject["familyName"], subject["givenName"]
    status, reply = await _verify(client, swapped)
    assert status == 422 and _types(reply) == [NOT_PINNED_FORM]
    assert "inline @context" in reply["errors"][0]["detail"]


async def test_a_credential_under_the_full_iri_of_verifiable_credential_is_refused(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    """The presentation's own proof is not the point: a verifier that skipped the hidden
    credential would report the presentation without it."""
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    credential = await _issue(
        client, auth, "/credentials/issue", {"credential": vc2_credential(issuer["did"])}
    )
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        CRED + "verifiableCredential": [credential],
    }
    response = await client.post(
        "/presentations/verify", json={"verifiablePresentation": presentation}
    )
    assert response.status_code == 422
    reply = response.json()
    assert [e["type"] for e in reply["errors"]] == [NOT_PINNED_FORM]


async def test_the_issue_endpoint_refuses_a_status_under_its_full_iri(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    entry = {
        "id": "https://elsewhere.example/status/1#5",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "5",
        "statusListCredential": "https://elsewhere.example/status/1",
    }
    credential = vc2_credential(issuer["did"])
    credential[CRED + "credentialStatus"] = entry
    response = await client.post(
        "/credentials/issue", json={"credential": credential}, headers=auth
    )
    assert response.status_code == 422, response.text
    problem = problem_of(response)
    assert problem["type"] == NOT_PINNED_FORM
    assert problem["errors"][0]["pointer"].startswith("/credential/https:~1~1www.w3.org")


async def test_duplicate_member_names_are_refused(client: httpx.AsyncClient) -> None:
    """Two readers of ``{"a": 1, "a": 2}`` disagree (first or last wins): neither is taken."""
    body = (
        b'{"verifiableCredential": {"@context": ["https://www.w3.org/ns/credentials/v2"],'
        b' "type": ["VerifiableCredential"], "credentialStatus": {"id": "urn:x"},'
        b' "credentialStatus": {"id": "urn:y"}}}'
    )
    response = await client.post(
        "/credentials/verify", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "credentialStatus" in problem_of(response)["detail"]


# -- the differential test -----------------------------------------------------------------------


def _term_iris(app: FastAPI, document: dict[str, Any]) -> dict[str, str]:
    """The top-level terms of the document's contexts and their IRIs (a pinned reading)."""
    form = PinnedForm(app.state.services.document_loader)
    urls = [url for url in document["@context"] if isinstance(url, str)]
    iris: dict[str, str] = {}
    for url in urls:
        iris.update(form._context(url).iris)
    return iris


Respell = Callable[[dict[str, Any], st.DataObject, dict[str, str]], None]


def _pick_node(document: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """The document or one of its nested node objects (not a value object)."""
    nodes: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "@value" not in value:
                nodes.append(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    chosen: dict[str, Any] = data.draw(st.sampled_from(nodes))
    return chosen


def _member(node: dict[str, Any], data: st.DataObject) -> str | None:
    keys = [key for key in node if not key.startswith("@")]
    return data.draw(st.sampled_from(keys)) if keys else None


def full_iri(document: dict[str, Any], data: st.DataObject, iris: dict[str, str]) -> None:
    node = _pick_node(document, data)
    key = _member(node, data)
    if key is not None and key in iris and not iris[key].startswith("@"):
        node[iris[key]] = node.pop(key)


def compact_iri(document: dict[str, Any], data: st.DataObject, iris: dict[str, str]) -> None:
    node = _pick_node(document, data)
    key = _member(node, data)
    if key is None or key not in iris or iris[key].startswith("@"):
        return
    iri = iris[key]
    cut = max(iri.rfind("#"), iri.rfind("/")) + 1
    document["@context"] = [*document["@context"], {"pfx": iri[:cut]}]
    node["pfx:" + iri[cut:]] = node.pop(key)


def alias(document: dict[str, Any], data: st.DataObject, iris: dict[str, str]) -> None:
    node = _pick_node(document, data)
    key = _member(node, data)
    if key is None or key not in iris or iris[key].startswith("@"):
        return
    document["@context"] = [*document["@context"], {"aliasTerm": {"@id": iris[key]}}]
    node["aliasTerm"] = node.pop(key)


def graph(document: dict[str, Any], data: st.DataObject, iris: dict[str, str]) -> None:
    body = {k: document.pop(k) for k in list(document) if k != "@context"}
    document["@graph"] = [body]


def keywords(document: dict[str, Any], data: st.DataObject, iris: dict[str, str]) -> None:
    node = _pick_node(document, data)
    for term, keyword in (("id", "@id"), ("type", "@type")):
        if term in node and data.draw(st.booleans()):
            node[keyword] = node.pop(term)


def array(document: dict[str, Any], data: st.DataObject, iris: dict[str, str]) -> None:
    node = _pick_node(document, data)
    key = _member(node, data)
    if key is not None and not isinstance(node[key], list):
        node[key] = [node[key]]


def value_object(document: dict[str, Any], data: st.DataObject, iris: dict[str, str]) -> None:
    node = _pick_node(document, data)
    key = _member(node, data)
    if key is not None and isinstance(node[key], str):
        node[key] = {"@value": node[key], "@type": XSD_DATETIME}


def swap(document: dict[str, Any], data: st.DataObject, iris: dict[str, str]) -> None:
    """Two terms of one node swapped by an appended inline context, their values swapped."""
    node = _pick_node(document, data)
    keys = [k for k in node if k in iris and not iris[k].startswith("@")]
    if len(keys) < 2:
        return
    first, second = data.draw(st.permutations(keys))[:2]
    document["@context"] = [
        *document["@context"],
        {first: {"@id": iris[second]}, second: {"@id": iris[first]}},
    ]
    node[first], node[second] = node[second], node[first]


def reorder(document: dict[str, Any], data: st.DataObject, iris: dict[str, str]) -> None:
    node = _pick_node(document, data)
    items = list(node.items())
    random.Random(data.draw(st.integers(0, 2**16))).shuffle(items)
    node.clear()
    node.update(items)


RESPELLINGS: dict[str, Respell] = {
    "full_iri": full_iri,
    "compact_iri": compact_iri,
    "alias": alias,
    "graph": graph,
    "keywords": keywords,
    "array": array,
    "value_object": value_object,
    "swap": swap,
    "reorder": reorder,
}


def _reading(value: Any) -> Any:
    """The claims as a reader sees them: key order and one-item arrays do not matter."""
    if isinstance(value, dict):
        return {key: _reading(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        items = [_reading(item) for item in value]
        return items[0] if len(items) == 1 else items
    return value


def _verdict(result: Verification) -> dict[str, Any]:
    results = result.results
    return {
        "verified": result.verified,
        "errors": sorted(error.type for error in result.errors),
        "revoked": results.get("credentialStatus", {}).get("revoked"),
        "validUntil": results.get("validUntil"),
        "validFrom": results.get("validFrom"),
        "issuer": results.get("proof", {}).get("issuer"),
        "parts": [
            (part["id"], part["digestMatches"], part["verified"], part["revoked"])
            for part in results.get("parts") or []
        ],
    }


async def test_no_respelling_changes_a_verdict_or_a_claim(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    did = issuer["did"]
    vc11 = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": {"id": did},
        "issuanceDate": "2026-01-01T00:00:00Z",
        "expirationDate": "2099-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner"},
    }
    jcs = {"cryptosuite": "eddsa-jcs-2022"}
    requests: list[tuple[str, Any, str | None]] = [
        ("/credentials/issue", {"credential": vc2_credential(did)}, None),
        ("/credentials/issue", {"credential": vc2_credential(did)}, "revoke"),
        ("/credentials/issue", {"credential": vc2_credential(did), "options": jcs}, "revoke"),
        (
            "/credentials/issue",
            {"credential": vc2_credential(did, validUntil="2026-02-01T00:00:00Z")},
            None,
        ),
        (
            "/credentials/issue",
            {"credential": vc2_credential(did, validFrom="2099-01-01T00:00:00Z")},
            None,
        ),
        ("/credentials/issue", {"credential": vc11}, None),
        ("/credentials/issue", {"credential": vc11}, "revoke"),
        ("/microcredentials", microcredential_body("edc"), None),
        ("/microcredentials", microcredential_body("edc"), "revoke"),
        ("/microcredentials", microcredential_body("obv3"), "revoke"),
        ("/microcredentials", microcredential_body("obv3", cryptosuite="eddsa-jcs-2022"), None),
    ]
    originals = []
    for path, body, then in requests:
        credential = await _issue(client, auth, path, body)
        if then == "revoke":
            await _revoke(client, auth, credential)
        originals.append(credential)
    # Stacks (issue 20), an EDC and an Open Badge, one of whose parts is revoked after issuing:
    # the parts a verifier reads are those the proof covers, in every spelling.
    parts = [
        await _issue(client, auth, "/microcredentials", microcredential_body(format))
        for format in ("edc", "obv3")
    ]
    for format in ("edc", "obv3"):
        stack = {"parts": [part["id"] for part in parts]}
        body = microcredential_body(format, workload={"ects": 4}, stack=stack)
        originals.append(await _issue(client, auth, "/microcredentials", body))
    await _revoke(client, auth, parts[1])
    # A suspended one, of an issuer whose credentials carry a suspension entry too.
    suspending, suspending_auth = await issuer_with_key(
        client, admin_headers, random_slug + "-s", suspensionEnabled=True
    )
    suspended = await _issue(
        client,
        suspending_auth,
        "/credentials/issue",
        {"credential": vc2_credential(suspending["did"])},
    )
    await _revoke(client, suspending_auth, suspended, "suspension")
    originals.append(suspended)

    verifier: Verifier = app.state.services.verifier
    di: DataIntegrity = app.state.services.data_integrity
    now = datetime.now(UTC)

    def verify(document: dict[str, Any], within: str | None) -> Verification | None:
        """The credential's result, directly or inside a presentation under the member
        ``within``; None for a refusal before any check (a 400, a presentation refused)."""
        try:
            if within is None:
                return anyio.from_thread.run(lambda: verifier.verify_credential(document, now=now))
            presentation = {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiablePresentation"],
                within: [document],
            }
            checked = anyio.from_thread.run(
                lambda: verifier.verify_presentation(
                    presentation, challenge=None, domain=None, now=now
                )
            )
        except NotACredential:
            return None
        return checked.credentials[0] if checked.credentials else None

    verdicts = [
        _verdict(await verifier.verify_credential(original, now=now)) for original in originals
    ]
    for original, verdict in zip(originals, verdicts, strict=True):  # the same inside one
        presentation = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [original],
        }
        checked = await verifier.verify_presentation(
            presentation, challenge=None, domain=None, now=now
        )
        assert _verdict(checked.credentials[0]) == verdict
    assert [v["verified"] for v in verdicts] == [
        True, False, False, False, False, True, False, True, False, False, True, True, True,
        False,
    ]  # fmt: skip
    for stacked in verdicts[-3:-1]:  # each part read and checked: the second one revoked
        assert [part[1:] for part in stacked["parts"]] == [(True, True, False), (True, False, True)]
    assert "urn:microcred:problem:CREDENTIAL_SUSPENDED" in verdicts[-1]["errors"]
    signed = [signed_content(di, original) for original in originals]
    iris = [_term_iris(app, original) for original in originals]
    seen = {"same signed data": 0, "same data refused": 0, "verified": 0, "in a presentation": 0}

    @settings(FUZZ_SETTINGS, max_examples=VARIANTS)
    @given(
        which=st.integers(0, len(originals) - 1),
        kinds=st.lists(st.sampled_from(sorted(RESPELLINGS)), min_size=1, max_size=3),
        within=st.sampled_from([None, None, "verifiableCredential", CRED + "verifiableCredential"]),
        data=st.data(),
    )
    def respelled(which: int, kinds: list[str], within: str | None, data: st.DataObject) -> None:
        original = originals[which]
        variant = copy.deepcopy(original)
        for kind in kinds:
            RESPELLINGS[kind](variant, data, iris[which])
        json.dumps(variant)  # still plain JSON
        result = verify(variant, within)
        seen["in a presentation"] += within is not None and result is not None
        same = signed_content(di, variant) == signed[which]
        seen["same signed data"] += same
        if result is None or not result.verified:
            seen["same data refused"] += same
            return
        seen["verified"] += 1
        # Verified: exactly the original's verdict and claims, whatever the spelling.
        assert verdicts[which]["verified"], (kinds, "a refused credential verified re-spelled")
        assert _verdict(result) == verdicts[which], kinds
        assert _reading(variant) == _reading(original), (kinds, "other claims verified")

    await anyio.to_thread.run_sync(respelled)
    print("respellings:", seen)
    # The run met real attacks (variants whose signed data is the original's) and answers.
    assert seen["same signed data"] > VARIANTS // 4, seen
    assert seen["same data refused"] > VARIANTS // 10, seen
    assert seen["verified"] > 0, seen
    assert seen["in a presentation"] > VARIANTS // 20, seen
