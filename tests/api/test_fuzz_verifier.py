"""Fuzzing the verifier (``POST /credentials/verify``) with mutated credentials we issued.

Credentials of both cryptosuites (VC 2.0 and 1.1, an Open Badge and a Europass EDC
micro-credential) are mutated at random JSON paths, hypothesis choosing what to do: change,
delete or add values, change their type (string, number, list, object, null), splice huge or
unparseable numbers, unicode (NUL, combining marks, lone surrogates), nest values deeply
(within the request limits) or reorder object keys. Whatever comes out:

* the reply is never a 5xx: a result (200 verified / 422 not, the documented model) or, for
  what is no credential at all, a 400 problem;
* a credential that verifies is semantically the one we signed: the bytes its proof signs
  (canonical document and proof configuration, by its cryptosuite) and its signature are those
  of the original; so a mutation that verifies changed nothing that is signed;
* reordering keys, which changes nothing, always verifies.

Nothing goes to the network: the verifier's HTTP client answers 404 to every request (our own
issuer and lists are read from the database, never fetched).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio
import anyio.from_thread
import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from app.config import Settings
from app.crypto.dataintegrity import DataIntegrity
from app.services.verification import build_verifier
from app.services.verification.results import CredentialVerificationResult
from tests.conftest import problem_of
from tests.factories import issuer_with_key, microcredential_body, vc2_credential

CREDENTIAL_VERIFICATION_REPLY = TypeAdapter(CredentialVerificationResult)

pytestmark = pytest.mark.anyio

#: Mutated credentials per run (each is one verification request).
EXAMPLES = 400
REORDERINGS = 40
#: The request limits refuse JSON nested deeper than this (app/limits.py); stay within.
MAX_DEPTH = 48
JsonPath = tuple[str | int, ...]
Post = Callable[[bytes], httpx.Response]

FUZZ_SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(name="settings")
def settings_without_rate_limits(settings: Settings) -> Settings:
    """Without rate limits: hundreds of public verification requests would meet 429s."""
    return settings.model_copy(
        update={"rate_limit_per_key_per_minute": 0, "rate_limit_public_per_minute": 0}
    )


@pytest.fixture
async def offline_verifier(app: FastAPI) -> AsyncIterator[list[httpx.Request]]:
    """The app's verifier with an HTTP client that answers 404 to everything; the requests."""
    fetched: list[httpx.Request] = []

    def nothing_out_there(request: httpx.Request) -> httpx.Response:
        fetched.append(request)
        return httpx.Response(404)

    async with httpx.AsyncClient(transport=httpx.MockTransport(nothing_out_there)) as offline:
        services = app.state.services
        verifier = build_verifier(
            services.settings,
            data_integrity=services.data_integrity,
            loader=services.document_loader,
            sessionmaker=services.sessionmaker,
            client=offline,
        )
        app.state.services = dataclasses.replace(services, verifier=verifier)
        yield fetched


# -- what to mutate -----------------------------------------------------------------------------


async def _issued(client: httpx.AsyncClient, admin: dict[str, str], slug: str) -> list[Any]:
    """Credentials we issued: both cryptosuites, VC 2.0 and 1.1, two micro-credentials."""
    issuer, auth = await issuer_with_key(client, admin, slug)
    vc11 = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": {"id": issuer["did"]},
        "issuanceDate": "2026-01-01T00:00:00Z",
        "expirationDate": "2099-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner"},
    }
    requests: list[tuple[str, dict[str, Any]]] = [
        ("/credentials/issue", {"credential": vc2_credential(issuer["did"])}),
        (
            "/credentials/issue",
            {
                "credential": vc2_credential(issuer["did"]),
                "options": {"cryptosuite": "eddsa-jcs-2022"},
            },
        ),
        ("/credentials/issue", {"credential": vc11}),
        ("/microcredentials", microcredential_body("obv3", cryptosuite="eddsa-jcs-2022")),
        ("/microcredentials", microcredential_body("edc")),
    ]
    issued = []
    for path, body in requests:
        response = await client.post(path, json=body, headers=auth)
        assert response.status_code == 201, response.text
        issued.append(response.json()["verifiableCredential"])
    return issued


def signed_content(di: DataIntegrity, document: Any) -> tuple[str, bytes, Any] | None:
    """What the proof of ``document`` signs (by its cryptosuite) and its signature; None when
    that cannot even be computed (then it cannot be what we signed)."""
    if not isinstance(document, dict):
        return None
    proof = document.get("proof")
    if isinstance(proof, list) and len(proof) == 1:  # an Open Badge's proof is an array of one
        proof = proof[0]
    if not isinstance(proof, dict):
        return None
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    if "@context" in proof:  # eddsa-jcs-2022 signs the document under the proof's contexts
        unsecured["@context"] = proof["@context"]
    try:
        suite = di.suite_for(proof)
        return suite.name, suite.hash_data(unsecured, proof), proof.get("proofValue")
    except Exception:  # any failure to canonicalize means: not the document that was signed
        return None


def paths(value: Any, prefix: JsonPath = ()) -> list[JsonPath]:
    """Every JSON path in ``value`` (the root excluded)."""
    found: list[JsonPath] = []
    children: list[tuple[str | int, Any]] = (
        list(value.items())
        if isinstance(value, dict)
        else list(enumerate(value))
        if isinstance(value, list)
        else []
    )
    for key, child in children:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def container_paths(document: Any) -> list[JsonPath]:
    return [()] + [p for p in paths(document) if isinstance(get(document, p), dict | list)]


def get(document: Any, path: JsonPath) -> Any:
    for key in path:
        document = document[key]
    return document


def put(document: Any, path: JsonPath, value: Any) -> None:
    get(document, path[:-1])[path[-1]] = value


def remove(document: Any, path: JsonPath) -> None:
    del get(document, path[:-1])[path[-1]]


# -- values -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawNumber:
    """A JSON number token sent as written (Python cannot serialize or parse some of these)."""

    text: str


ODD_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\x00", "\u0301", "\u202e", "\u200b", "\ufeff", "\U0001f393", "\ufffd"]),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates
    ),
    max_size=24,
)
HUGE_NUMBERS = st.one_of(
    st.sampled_from(
        [2**53 + 1, 2**63, -(2**63) - 1, 2**64, 10**30, 1e308, -1e308, 5e-324, -0.0, 1.0]
    ),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    # Beyond Python's 4300-digit int parsing limit; below the smallest float; beyond the
    # largest (Python reads it as inf); the literals Python accepts beyond RFC 8259.
    st.sampled_from(
        ["1" + "0" * 5000, "0." + "0" * 400 + "1", "-0E-0", "1e999", "-1E400", "NaN", "Infinity"]
    ).map(RawNumber),
)
#: JSON Python reads but cannot write back: numbers it reads as infinities, the literals it
#: accepts beyond RFC 8259, and lone surrogates (escaped, as JSON allows them to be written).
UNWRITABLE: list[Any] = [
    *map(RawNumber, ["1e999", "-1e999", "1E400", "NaN", "Infinity", "-Infinity"]),
    "\ud800",
    "x\udfff",
]
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    HUGE_NUMBERS,
    ODD_TEXT,
    st.sampled_from(["", "did:key:z6Mk", "urn:uuid:0", "https://example.com/", "2026-13-45"]),
)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(ODD_TEXT, st.sampled_from(["@id", "@type", "id"])), children),
    ),
    max_leaves=12,
)


def other_type(value: Any, choice: int) -> Any:
    """``value`` as another JSON type: string, number, list, object or null."""
    options: list[Any] = [
        json.dumps(value, default=str) if not isinstance(value, str) else value + "x",
        len(value) if isinstance(value, str | list | dict) else 0,
        [value],
        {"@value": value} if not isinstance(value, dict | list) else {"value": value},
        None,
    ]
    options = [option for option in options if type(option) is not type(value)] or [None]
    return options[choice % len(options)]


def nested(value: Any, depth: int, as_list: bool) -> Any:
    for _ in range(depth):
        value = [value] if as_list else {"nested": value}
    return value


def reordered(value: Any, draw: Callable[[st.SearchStrategy[Any]], Any]) -> Any:
    """The same JSON with the keys of every object in another order."""
    if isinstance(value, dict):
        keys = draw(st.permutations(list(value)))
        return {key: reordered(value[key], draw) for key in keys}
    if isinstance(value, list):
        return [reordered(item, draw) for item in value]
    return value


# -- mutations ----------------------------------------------------------------------------------


MUTATIONS = ["change", "delete", "add", "retype", "number", "unicode", "nest", "reorder"]


def mutate(document: dict[str, Any], kind: str, data: st.DataObject) -> None:
    """Apply one mutation of ``kind`` to ``document`` in place, drawing what it needs."""
    draw = data.draw
    every = paths(document)
    if kind == "reorder":
        shuffled = reordered(document, draw)
        document.clear()
        document.update(shuffled)
    elif kind in ("change", "retype", "number", "nest") and every:
        path = draw(st.sampled_from(every))
        old = get(document, path)
        if kind == "change":
            new = draw(JSON_VALUES)
        elif kind == "retype":
            new = other_type(old, draw(st.integers(0, 4)))
        elif kind == "number":
            new = draw(HUGE_NUMBERS)
        else:
            # The request body and its verifiableCredential are the first two levels.
            budget = MAX_DEPTH - 3 - len(path) - depth_of(old)
            new = nested(old, draw(st.integers(1, max(1, budget))), draw(st.booleans()))
        put(document, path, new)
    elif kind == "delete" and every:
        remove(document, draw(st.sampled_from(every)))
    elif kind == "add":
        path = draw(st.sampled_from(container_paths(document)))
        target = get(document, path)
        value = draw(JSON_VALUES)
        if isinstance(target, dict):
            target[draw(st.one_of(ODD_TEXT, st.sampled_from(["id", "type", "@context"])))] = value
        else:
            target.insert(draw(st.integers(0, len(target))), value)
    elif kind == "unicode":
        strings = [p for p in every if isinstance(get(document, p), str)]
        if strings:
            path = draw(st.sampled_from(strings))
            text: str = get(document, path)
            at = draw(st.integers(0, len(text)))
            put(document, path, text[:at] + draw(ODD_TEXT) + text[at:])


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


def encode(body: Any) -> bytes:
    """JSON text of ``body`` with :class:`RawNumber` tokens spliced in as written."""
    raws: dict[str, str] = {}

    def default(value: Any) -> Any:
        if isinstance(value, RawNumber):
            token = f"@@raw-number-{len(raws)}@@"
            raws[json.dumps(token)] = value.text
            return token
        raise TypeError(type(value).__name__)

    # ensure_ascii: lone surrogates travel as \\ud800 escapes, which JSON parsers read.
    text = json.dumps(body, default=default, ensure_ascii=True)
    for placeholder, raw in raws.items():
        text = text.replace(placeholder, raw)
    return text.encode("ascii")


# -- the property -------------------------------------------------------------------------------


@dataclass
class Outcomes:
    statuses: dict[int, int] = field(default_factory=dict)

    def count(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


def check_reply(response: httpx.Response) -> dict[str, Any] | None:
    """A verification result (its body) or a 400/422 problem (None); never anything else."""
    assert response.status_code < 500, response.text
    if response.headers["content-type"].startswith("application/problem+json"):
        problem = problem_of(response)
        assert response.status_code in (400, 413, 422), response.text
        assert response.status_code != 422 or problem["type"].endswith("JSON_TOO_COMPLEX")
        return None
    assert response.status_code in (200, 422), response.text
    reply: dict[str, Any] = response.json()
    CREDENTIAL_VERIFICATION_REPLY.validate_python(reply)
    assert reply["verified"] is (response.status_code == 200)
    return reply


def _poster(client: httpx.AsyncClient) -> Post:
    def post(body: bytes) -> httpx.Response:
        request = partial(
            client.post,
            "/credentials/verify",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        return anyio.from_thread.run(request)

    return post


async def test_a_mutated_credential_verifies_only_when_nothing_signed_changed(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    offline_verifier: list[httpx.Request],
) -> None:
    originals = await _issued(client, admin_headers, random_slug)
    di: DataIntegrity = app.state.services.data_integrity
    signed = [signed_content(di, original) for original in originals]
    assert all(signed)
    post = _poster(client)
    outcomes = Outcomes()

    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
    @given(
        which=st.integers(0, len(originals) - 1),
        kinds=st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3),
        data=st.data(),
    )
    def mutated_credential(which: int, kinds: list[str], data: st.DataObject) -> None:
        document = copy.deepcopy(originals[which])
        for kind in kinds:
            mutate(document, kind, data)
        response = post(encode({"verifiableCredential": document}))
        outcomes.count(response.status_code)
        reply = check_reply(response)
        if reply is not None and reply["verified"]:
            assert signed_content(di, document) == signed[which], (
                "a credential verified although what its proof signs changed"
            )

    await anyio.to_thread.run_sync(mutated_credential)
    # The run reached both outcomes, not only 400s for documents that are no credential.
    assert outcomes.statuses.get(422, 0) > EXAMPLES // 4, outcomes.statuses
    assert outcomes.statuses.get(200, 0) > 0, outcomes.statuses
    assert all(request.url.host != "credentials.example.edu" for request in offline_verifier)


async def test_a_credential_with_its_keys_reordered_still_verifies(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    offline_verifier: list[httpx.Request],
) -> None:
    originals = await _issued(client, admin_headers, random_slug)
    post = _poster(client)

    @settings(FUZZ_SETTINGS, max_examples=REORDERINGS)
    @given(which=st.integers(0, len(originals) - 1), data=st.data())
    def reordered_credential(which: int, data: st.DataObject) -> None:
        document = reordered(originals[which], data.draw)
        reply = check_reply(post(encode({"verifiableCredential": document})))
        assert reply is not None and reply["verified"], reply

    await anyio.to_thread.run_sync(reordered_credential)
    assert not offline_verifier


async def test_json_python_cannot_write_back_is_a_400_not_a_500(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    offline_verifier: list[httpx.Request],
) -> None:
    """Found by the fuzzing above (then 500: the reply echoing the credential failed)."""
    originals = await _issued(client, admin_headers, random_slug)
    failures = []
    for value in UNWRITABLE:
        for path in [("@context",), ("credentialSubject", "id"), ("proof", "created")]:
            document = copy.deepcopy(originals[0])
            put(document, path, value)
            response = await client.post(
                "/credentials/verify",
                content=encode({"verifiableCredential": document}),
                headers={"Content-Type": "application/json"},
            )
            if response.status_code != 400:
                failures.append(f"{value!r} at /{'/'.join(map(str, path))}: {response.status_code}")
            else:
                assert problem_of(response)["type"].endswith("#PARSING_ERROR")
    assert not failures, failures
