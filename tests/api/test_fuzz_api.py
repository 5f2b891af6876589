"""Property-based fuzzing of the whole API from ``openapi.yaml`` (schemathesis + hypothesis).

Every operation of the committed schema gets schema-valid requests (positive), schema-violating
ones (negative), the schema's own examples and, for the issuing and verifying operations, bodies
known to succeed. They are sent in-process to the app on a migrated database holding a real
issuer: admin operations carry the admin token and the others a real API key (unless the case is
about a missing or malformed ``Authorization`` header), and half the cases name that issuer, one
of its credentials and its status list in the path, so handlers run beyond 401 and 404.

No reply may be a 5xx, every reply must match the schema (status code, content type, headers,
body) and a schema-violating request must be refused. Bounded and reproducible: a fixed number of
examples per operation and mode, derandomized (the seed derives from the test), no example
database. Every distinct failure is collected (with a curl command that reproduces it) before the
test fails, so one run shows them all.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.config import Settings
from tests.conftest import problem_of
from tests.factories import issuer_with_key, microcredential_body, vc2_credential

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "http://testserver"
#: Generated cases per operation and generation mode (positive, negative, schema examples).
EXAMPLES = 25
#: Cases per known-good body (only headers and the like vary; each may sign a credential).
SEEDED = 3
#: The slug the schema's examples name, so that they issue for real.
SLUG = "uni-zed"
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
FUZZ_SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # failures are collected, not shrunk
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

Send = Callable[[dict[str, Any]], httpx.Response]
Operation = APIOperation[Any, Any, Any, Any]
AnyCase = Case[Any]


@pytest.fixture(name="settings")
def settings_without_rate_limits(settings: Settings) -> Settings:
    """Without rate limits: a few hundred public requests a run would otherwise meet 429s."""
    return settings.model_copy(
        update={"rate_limit_per_key_per_minute": 0, "rate_limit_public_per_minute": 0}
    )


@dataclass
class Target:
    """What the fuzzed requests act on, and what they found wrong."""

    admin: str
    api_key: str
    path_values: dict[str, str]
    seeds: dict[str, list[Any]]
    statuses: dict[str, set[int]] = field(default_factory=dict)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)


async def _issue(
    client: httpx.AsyncClient, auth: dict[str, str], did: str, cryptosuite: str
) -> httpx.Response:
    body = {"credential": vc2_credential(did), "options": {"cryptosuite": cryptosuite}}
    response = await client.post("/credentials/issue", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response


async def _target(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> Target:
    issuer, auth = await issuer_with_key(client, admin_headers, SLUG)
    rdfc = await _issue(client, auth, issuer["did"], "eddsa-rdfc-2022")
    jcs = (await _issue(client, auth, issuer["did"], "eddsa-jcs-2022")).json()
    vc = rdfc.json()["verifiableCredential"]
    credential_id = rdfc.headers["Location"].rsplit("/", 1)[1]
    tampered = copy.deepcopy(vc)
    tampered["credentialSubject"]["alumniOf"] = "University of Elsewhere"
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [vc],
    }
    return Target(
        admin=admin_headers["Authorization"],
        api_key=auth["Authorization"],
        path_values={
            "slug": SLUG,
            "credential_id": credential_id,
            "list_id": vc["credentialStatus"]["statusListCredential"].rsplit("/", 1)[1],
        },
        seeds={
            "POST /microcredentials": [microcredential_body("edc"), microcredential_body("obv3")],
            "POST /microcredentials/batch": [
                {"items": [microcredential_body("obv3"), {"format": "edc"}]}
            ],
            "POST /microcredentials/offers": [microcredential_body("obv3")],
            "POST /credentials/status": [
                {
                    "credentialId": credential_id,
                    "credentialStatus": {
                        "type": "BitstringStatusListEntry",
                        "statusPurpose": "revocation",
                    },
                    "status": False,
                }
            ],
            "POST /credentials/verify": [
                {"verifiableCredential": vc},
                {"verifiableCredential": jcs["verifiableCredential"]},
                {"verifiableCredential": tampered},
            ],
            "POST /presentations/verify": [{"verifiablePresentation": presentation}],
        },
    )


def _mode(case: AnyCase, location: ParameterLocation) -> GenerationMode | None:
    """How the case generated this part of the request (None: the operation has no such part)."""
    component = case.meta.components.get(location) if case.meta is not None else None
    return component.mode if component is not None else None


def _request(case: AnyCase, target: Target, name_ours: bool) -> dict[str, Any]:
    if name_ours and _mode(case, ParameterLocation.PATH) is GenerationMode.POSITIVE:
        for name in list(case.path_parameters or {}):
            if name in target.path_values:
                case.path_parameters[name] = target.path_values[name]
    kwargs: dict[str, Any] = case.as_transport_kwargs(base_url=BASE_URL)
    # A case about a missing or malformed Authorization header keeps it as generated.
    if case.operation.security and _mode(case, ParameterLocation.HEADER) in (
        GenerationMode.POSITIVE,
        None,
    ):
        secured_admin = case.operation.path.startswith("/admin/")
        kwargs["headers"]["Authorization"] = target.admin if secured_admin else target.api_key
    return kwargs


def _explore(
    operation: Operation,
    strategy: SearchStrategy[AnyCase],
    examples: int,
    target: Target,
    send: Send,
) -> None:
    @settings(FUZZ_SETTINGS, max_examples=examples)
    @given(case=strategy, name_ours=st.booleans())
    def run(case: AnyCase, name_ours: bool) -> None:
        response = send(_request(case, target, name_ours))
        target.statuses.setdefault(operation.label, set()).add(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                target.failures.setdefault((operation.label, failure.title), str(group))

    run()


def _fuzz(schema: BaseSchema, target: Target, send: Send) -> None:
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()  # the schema does not define this operation properly
        operation = result.ok()
        runs: list[tuple[GenerationMode | None, SearchStrategy[AnyCase], int]] = [
            (mode, operation.as_strategy(mode), EXAMPLES)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
        runs += [(None, s, EXAMPLES) for s in schema.get_strategies_from_examples(operation)]
        runs += [
            (None, operation.as_strategy(body=body), SEEDED)
            for body in target.seeds.get(operation.label, [])
        ]
        for mode, strategy, examples in runs:
            try:
                _explore(operation, strategy, examples, target, send)
            except Unsatisfiable:
                # Nothing in the operation can be made invalid (e.g. only a string path
                # parameter): there is no negative case to send.
                if mode is not GenerationMode.NEGATIVE:
                    raise


def _sender(client: httpx.AsyncClient) -> Send:
    """Send a case's request from the fuzzing thread through the test's event loop."""

    def send(kwargs: dict[str, Any]) -> httpx.Response:
        headers = {name: str(value).encode("latin-1") for name, value in kwargs["headers"].items()}
        body: dict[str, Any] = {}
        if "json" in kwargs:
            body["json"] = kwargs["json"]
        elif isinstance(kwargs.get("data"), bytes | str):
            body["content"] = kwargs["data"]
        elif "data" in kwargs:
            body["data"] = kwargs["data"]
        request = partial(
            client.request,
            kwargs["method"],
            kwargs["url"],
            headers=headers,
            params=kwargs.get("params"),
            **body,
        )
        return anyio.from_thread.run(request)

    return send


async def test_no_operation_answers_5xx_or_breaks_its_schema(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    target = await _target(client, admin_headers)
    schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml")
    await anyio.to_thread.run_sync(_fuzz, schema, target, _sender(client))
    assert not target.failures, "\n\n".join(
        f"=== {operation}: {title}\n{report}"
        for (operation, title), report in sorted(target.failures.items())
    )
    # The fuzzing reached past authentication and lookups: these succeeded at least once.
    reached = {label for label, codes in target.statuses.items() if codes & {200, 201, 204}}
    assert {
        "GET /credentials/{credential_id}",
        "GET /status-lists/{list_id}",
        "POST /credentials/issue",
        "POST /microcredentials",
        "POST /microcredentials/batch",
        "POST /microcredentials/offers",
        "POST /credentials/status",
        "POST /credentials/verify",
        "POST /admin/issuers/{slug}/keys/rotate",
        "GET /issuers/{slug}/did.json",
    } <= reached, sorted(target.statuses.items())


async def test_text_the_database_cannot_store_is_refused_not_a_500(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    """Found by the fuzzing above: PostgreSQL text cannot hold U+0000 (SQLite can)."""
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    replies = [
        await client.post(
            f"/admin/issuers/{random_slug}/api-keys",
            json={"name": "records\u0000", "scopes": ["credentials:read"]},
            headers=admin_headers,
        ),
        await client.post(
            "/credentials/status",
            json={
                "credentialId": "urn:uuid:\u0000",
                "credentialStatus": {"statusPurpose": "revocation"},
                "status": True,
            },
            headers=auth,
        ),
        await client.get("/credentials/a%00b", headers=auth),
        await client.get("/admin/issuers/a%00b", headers=admin_headers),
        await client.get("/status-lists/a%00b"),
    ]
    for response in replies:
        assert response.status_code in (201, 404, 422), response.text
        if response.status_code == 422:  # PostgreSQL
            assert problem_of(response)["type"] == "urn:microcred:problem:UNSTORABLE_VALUE"
