"""Plain functions that make test data through the public API."""

from __future__ import annotations

from typing import Any

import httpx

from app.credentials.examples import example_request
from app.services.apikeys import SCOPES


def issuer_body(default_slug: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": default_slug,
        "name": {"en": "University of Zed", "ga": "Ollscoil Zed"},
        "country": "IRL",
        "legalIdentifier": "IE1234567X",
        "homepage": "https://www.uni-zed.example",
        "didMethod": "web",
    }
    body.update(overrides)
    return body


async def make_issuer(
    client: httpx.AsyncClient, admin: dict[str, str], slug: str, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/admin/issuers", json=issuer_body(slug, **overrides), headers=admin
    )
    assert response.status_code == 201, response.text
    issuer: dict[str, Any] = response.json()
    return issuer


async def make_api_key(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    slug: str,
    scopes: tuple[str, ...] = SCOPES,
) -> dict[str, Any]:
    response = await client.post(
        f"/admin/issuers/{slug}/api-keys",
        json={"name": "records system", "scopes": list(scopes)},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    key: dict[str, Any] = response.json()
    return key


def bearer(key: dict[str, Any] | str) -> dict[str, str]:
    secret = key if isinstance(key, str) else key["key"]
    return {"Authorization": f"Bearer {secret}"}


def microcredential_body(format: str = "edc", **overrides: Any) -> dict[str, Any]:
    """The documented example request (``app.credentials.examples``) without a holder DID."""
    body = example_request(format=format, **overrides)
    if "learner" not in overrides:
        del body["learner"]["id"]
    return body


def vc2_credential(issuer_did: str, **overrides: Any) -> dict[str, Any]:
    credential: dict[str, Any] = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2",
        ],
        "type": ["VerifiableCredential", "ExampleAlumniCredential"],
        "issuer": issuer_did,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner", "alumniOf": "University of Zed"},
    }
    credential.update(overrides)
    return credential


async def issuer_with_key(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    slug: str,
    scopes: tuple[str, ...] = SCOPES,
    **overrides: Any,
) -> tuple[dict[str, Any], dict[str, str]]:
    """An issuer and the Authorization header of one of its API keys."""
    issuer = await make_issuer(client, admin, slug, **overrides)
    key = await make_api_key(client, admin, slug, scopes)
    return issuer, bearer(key)


CLIQUE_PREDICATE = "https://www.w3.org/ns/credentials/examples#p"


def clique_nquads(size: int, predicate: str = CLIQUE_PREDICATE) -> str:
    """A clique of ``size`` blank nodes: an edge from every node to every other (a poison graph)."""
    return "".join(
        f"_:n{i} <{predicate}> _:n{j} .\n" for i in range(size) for j in range(size) if i != j
    )


def clique_credential(
    size: int, issuer: str = "did:example:issuer", *, to_pyld: bool = False, nested: bool = False
) -> dict[str, Any]:
    """A VC 2.0 credential whose subjects are a clique of ``size`` blank nodes (about 2 KB at 9).

    It is in its one JSON reading (the edge ``p`` is read against the examples context's
    ``@vocab``), so it passes the form check and reaches canonicalization: pyoxigraph's fast path,
    or pyld with ``to_pyld`` (a ``null`` member, which the fast path declines). Its subjects'
    ids are blank node identifiers, which VC DM 2.0 4.4 refuses (an id is a URL): ``nested``
    puts the clique under one subject with a URL id instead, as an issuer takes it.
    """
    subjects = [
        {"id": f"_:n{i}", "p": [{"id": f"_:n{j}"} for j in range(size) if j != i]}
        for i in range(size)
    ]
    credential: dict[str, Any] = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2",
        ],
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": subjects,
    }
    if nested:
        credential["credentialSubject"] = {"id": "did:example:learner", "p": subjects}
    if to_pyld:  # on the subject when nested: a credential's name is text (VC DM 2.0 4.6)
        (credential["credentialSubject"] if nested else credential)["name"] = None
    return credential


def large_credential(issuer: str, subjects: int = 9_000, text: int = 150) -> dict[str, Any]:
    """A legitimate VC 2.0 credential near the caps: 9,000 subjects make 18,005 statements (the
    canonicalizer allows 20,000) and, signed, 1.9 MB of JSON (a request may have 2 MB)."""
    return vc2_credential(
        issuer,
        credentialSubject=[
            {"id": f"did:example:learner-{i}", "alumniOf": f"University {i} " + "x" * text}
            for i in range(subjects)
        ],
    )
