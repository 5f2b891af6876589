"""did:web: DID ↔ URL, and the resolver against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app.crypto.errors import InvalidVerificationMethodError
from app.crypto.keys import KeyPair
from app.did.key import InvalidDid
from app.did.web import (
    DidDocumentError,
    DidWebResolver,
    InvalidDidWeb,
    did_web_for,
    did_web_to_url,
    url_to_did_web,
)
from app.net import BlockedAddressError, FetchTimeoutError, RemoteStatusError, ResponseTooLargeError
from tests.loopback import LoopbackServer

KEY_1 = KeyPair(bytes(range(32)))
KEY_2 = KeyPair(bytes(range(1, 33)))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- DID ↔ URL ----------------------------------------------------------------------------------

CASES = [
    ("did:web:example.com", "https://example.com/.well-known/did.json"),
    ("did:web:example.com:issuers:uni", "https://example.com/issuers/uni/did.json"),
    ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
    (
        "did:web:127.0.0.1%3A8000:issuers:uni-zed",
        "https://127.0.0.1:8000/issuers/uni-zed/did.json",
    ),
    ("did:web:localhost%3A8443", "https://localhost:8443/.well-known/did.json"),
    ("did:web:example.com:a%20b:c_d", "https://example.com/a%20b/c_d/did.json"),
]


@pytest.mark.parametrize(("did", "url"), CASES)
def test_did_to_url(did: str, url: str) -> None:
    assert did_web_to_url(did) == url


@pytest.mark.parametrize(("did", "url"), CASES)
def test_url_to_did(did: str, url: str) -> None:
    assert url_to_did_web(url) == did


def test_http_scheme_for_loopback_tests() -> None:
    did = "did:web:127.0.0.1%3A8000:issuers:uni-zed"
    assert did_web_to_url(did, scheme="http") == "http://127.0.0.1:8000/issuers/uni-zed/did.json"
    assert did_web_to_url("did:web:example.com%3a8443", scheme="http") == (
        "http://example.com:8443/.well-known/did.json"
    )
    with pytest.raises(ValueError):
        did_web_to_url(did, scheme="ftp")


@pytest.mark.parametrize(
    "did",
    [
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "did:web:",
        "did:web",
        "did:web:example.com:",  # empty path segment
        "did:web::issuers",  # empty domain
        "did:web:example.com::issuers",
        "did:web:example.com#key-1",  # a DID URL, not a DID
        "did:web:example.com:issuers?x=1",
        "did:web:example.com/issuers",
        "did:web:exa mple.com",
        "did:web:example.com%3A",  # port missing
        "did:web:example.com%3Ahttp",
        "did:web:example.com%3A70000",
        "did:web:example.com%3A80%3A81",
        "did:web:example.com%2Fevil",  # only the port's colon may be encoded in the domain
        "did:web:user%40example.com",
        "did:web:-bad-.example.com",
        "did:web:example.com:..:admin",
        "did:web:example.com:%2E%2E:admin",
        "did:web:example.com:%zz",
        "DID:web:example.com",
        "",
    ],
)
def test_invalid_dids_are_rejected(did: str) -> None:
    with pytest.raises(InvalidDidWeb) as caught:
        did_web_to_url(did)
    assert isinstance(caught.value, InvalidDid | ValueError)


@pytest.mark.parametrize(
    ("public_url", "segments", "did"),
    [
        (
            "http://127.0.0.1:8000",
            ("issuers", "uni-zed"),
            "did:web:127.0.0.1%3A8000:issuers:uni-zed",
        ),
        ("https://credentials.example.edu", (), "did:web:credentials.example.edu"),
        (
            "https://credentials.example.edu/",
            ("issuers", "uni"),
            "did:web:credentials.example.edu:issuers:uni",
        ),
        ("https://credentials.example.edu:443", ("x",), "did:web:credentials.example.edu:x"),
        ("https://Credentials.Example.EDU:8443", (), "did:web:credentials.example.edu%3A8443"),
        (
            "https://example.edu/credentials",
            ("issuers", "x"),
            "did:web:example.edu:credentials:issuers:x",
        ),
        ("https://example.edu", ("a b", "ü:~"), "did:web:example.edu:a%20b:%C3%BC%3A%7E"),
    ],
)
def test_did_web_for(public_url: str, segments: tuple[str, ...], did: str) -> None:
    assert did_web_for(public_url, *segments) == did


def test_did_web_for_round_trips_to_the_url_it_is_served_at() -> None:
    did = did_web_for("http://127.0.0.1:8000", "issuers", "uni-zed")
    assert did_web_to_url(did, scheme="http") == "http://127.0.0.1:8000/issuers/uni-zed/did.json"
    did = did_web_for("https://example.edu/base", "issuers", "a b")
    assert did_web_to_url(did) == "https://example.edu/base/issuers/a%20b/did.json"
    assert url_to_did_web(did_web_to_url(did)) == did


@pytest.mark.parametrize(
    ("public_url", "segments"),
    [
        ("ftp://example.edu", ()),
        ("http://[::1]:8000", ()),
        ("https://example.edu?x=1", ()),
        ("https://user@example.edu", ()),
        ("https://example.edu", ("",)),
        ("https://example.edu", ("..",)),
        ("not a url", ()),
    ],
)
def test_did_web_for_rejects(public_url: str, segments: tuple[str, ...]) -> None:
    with pytest.raises(InvalidDidWeb):
        did_web_for(public_url, *segments)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/",
        "https://example.com/did.json",
        "https://example.com/issuers/uni/key.json",
        "https://example.com/issuers/uni/did.json?version=2",
        "ftp://example.com/.well-known/did.json",
    ],
)
def test_url_to_did_rejects_urls_that_are_not_did_documents(url: str) -> None:
    with pytest.raises(InvalidDidWeb):
        url_to_did_web(url)


# -- resolving over HTTP ------------------------------------------------------------------------


class DidServer(LoopbackServer):
    """Serves did:web documents (as application/did+json; unknown paths are an empty 404)."""

    def __init__(self) -> None:
        super().__init__(content_type="application/did+json", not_found=b"")

    def did(self, *path: str) -> str:
        return ":".join(["did:web", f"127.0.0.1%3A{self.port}", *path])

    def publish(self, did: str, document: dict[str, Any]) -> str:
        path = "/" + did_web_to_url(did, scheme="http").split("/", 3)[3]
        self.serve_json(path, document)
        return path


@pytest.fixture
def server() -> Iterator[DidServer]:
    with DidServer() as local:
        yield local


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as http:
        yield http


def did_document(did: str) -> dict[str, Any]:
    """key-1 may sign assertions; key-2 only authenticates."""
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": f"{did}#key-1",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": KEY_1.public_key_multibase,
            },
            {
                "id": f"{did}#key-2",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": KEY_2.public_key_multibase,
            },
        ],
        "assertionMethod": [f"{did}#key-1"],
        "authentication": [f"{did}#key-2"],
    }


def resolver(client: httpx.AsyncClient, **options: Any) -> DidWebResolver:
    settings: dict[str, Any] = {
        "max_bytes": 64 * 1024,
        "timeout": 5.0,
        "allow_private": True,
        "cache_ttl": 300.0,
        "scheme": "http",
    }
    settings.update(options)
    return DidWebResolver(client, **settings)


@pytest.mark.anyio
async def test_resolves_a_did_document_from_a_loopback_server(
    server: DidServer, client: httpx.AsyncClient
) -> None:
    did = server.did("issuers", "uni-zed")
    path = server.publish(did, did_document(did))
    assert path == "/issuers/uni-zed/did.json"
    assert await resolver(client).resolve(did) == did_document(did)
    assert server.requests[path] == 1


@pytest.mark.anyio
async def test_the_well_known_location_is_used_without_a_path(
    server: DidServer, client: httpx.AsyncClient
) -> None:
    did = server.did()
    assert server.publish(did, did_document(did)) == "/.well-known/did.json"
    assert (await resolver(client).resolve(did))["id"] == did


@pytest.mark.anyio
async def test_an_authorized_method_resolves_and_an_unauthorized_one_is_refused(
    server: DidServer, client: httpx.AsyncClient
) -> None:
    did = server.did("issuers", "uni")
    server.publish(did, did_document(did))
    resolve = resolver(client)
    method = await resolve.resolve_method(f"{did}#key-1", "assertionMethod")
    assert method.id == f"{did}#key-1"
    assert method.controller == did
    assert method.public_key == KEY_1.public_key
    with pytest.raises(InvalidVerificationMethodError, match="not authorized"):
        await resolve.resolve_method(f"{did}#key-2", "assertionMethod")
    authentication = await resolve.resolve_method(f"{did}#key-2", "authentication")
    assert authentication.public_key == KEY_2.public_key
    with pytest.raises(InvalidVerificationMethodError):
        await resolve.resolve_method(f"{did}#key-3", "assertionMethod")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "method_id",
    ["did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#x", "did:web:example.com", "#k"],
)
async def test_method_ids_that_are_not_did_web_urls_are_refused(
    client: httpx.AsyncClient, method_id: str
) -> None:
    with pytest.raises(InvalidVerificationMethodError):
        await resolver(client).resolve_method(method_id, "assertionMethod")


@pytest.mark.anyio
async def test_loopback_is_refused_unless_private_networks_are_allowed(
    server: DidServer, client: httpx.AsyncClient
) -> None:
    did = server.did("issuers", "uni")
    path = server.publish(did, did_document(did))
    guarded = resolver(client, allow_private=False)
    with pytest.raises(BlockedAddressError):
        await guarded.resolve(did)
    localhost_did = did.replace("127.0.0.1", "localhost")
    with pytest.raises(BlockedAddressError):
        await guarded.resolve(localhost_did)
    with pytest.raises(InvalidVerificationMethodError) as caught:
        await guarded.resolve_method(f"{did}#key-1", "assertionMethod")
    assert isinstance(caught.value.__cause__, BlockedAddressError)
    assert server.requests[path] == 0


@pytest.mark.anyio
async def test_an_oversized_document_is_refused(
    server: DidServer, client: httpx.AsyncClient
) -> None:
    did = server.did("issuers", "big")
    server.publish(did, {**did_document(did), "padding": "x" * 10_000})
    with pytest.raises(ResponseTooLargeError):
        await resolver(client, max_bytes=4096).resolve(did)
    assert (await resolver(client, max_bytes=64 * 1024).resolve(did))["id"] == did


@pytest.mark.anyio
async def test_a_slow_server_times_out(server: DidServer, client: httpx.AsyncClient) -> None:
    did = server.did("issuers", "slow")
    path = server.publish(did, did_document(did))
    server.delay(path, 10)
    with pytest.raises(FetchTimeoutError):
        await resolver(client, timeout=0.3).resolve(did)
    with pytest.raises(InvalidVerificationMethodError) as caught:
        await resolver(client, timeout=0.3).resolve_method(f"{did}#key-1", "assertionMethod")
    assert isinstance(caught.value.__cause__, FetchTimeoutError)


@pytest.mark.anyio
async def test_a_document_for_another_did_is_refused_and_not_cached(
    server: DidServer, client: httpx.AsyncClient
) -> None:
    did = server.did("issuers", "uni")
    impostor = server.did("issuers", "other")
    path = server.publish(did, did_document(impostor))
    resolve = resolver(client)
    with pytest.raises(DidDocumentError):
        await resolve.resolve(did)
    with pytest.raises(DidDocumentError):
        await resolve.resolve(did)
    assert server.requests[path] == 2


@pytest.mark.anyio
async def test_a_document_that_is_not_an_object_is_refused(
    server: DidServer, client: httpx.AsyncClient
) -> None:
    did = server.did("issuers", "list")
    path = server.publish(did, {})
    server.serve(path, b'["not", "an", "object"]')
    with pytest.raises(DidDocumentError):
        await resolver(client).resolve(did)


@pytest.mark.anyio
async def test_a_missing_document_is_a_status_error(
    server: DidServer, client: httpx.AsyncClient
) -> None:
    with pytest.raises(RemoteStatusError) as caught:
        await resolver(client).resolve(server.did("issuers", "nobody"))
    assert caught.value.status_code == 404


@pytest.mark.anyio
async def test_a_cache_hit_does_not_call_the_server_again(
    server: DidServer, client: httpx.AsyncClient
) -> None:
    did = server.did("issuers", "uni")
    path = server.publish(did, did_document(did))
    now = [1000.0]
    resolve = resolver(client, cache_ttl=60.0, clock=lambda: now[0])
    first = await resolve.resolve(did)
    first["id"] = "changed by the caller"
    second = await resolve.resolve(did)
    method = await resolve.resolve_method(f"{did}#key-1", "assertionMethod")
    assert second["id"] == did  # the cache keeps its own copy
    assert method.public_key == KEY_1.public_key
    assert server.requests[path] == 1
    now[0] += 61
    await resolve.resolve(did)
    assert server.requests[path] == 2


@pytest.mark.anyio
async def test_a_zero_ttl_disables_the_cache(server: DidServer, client: httpx.AsyncClient) -> None:
    did = server.did("issuers", "uni")
    path = server.publish(did, did_document(did))
    resolve = resolver(client, cache_ttl=0)
    await resolve.resolve(did)
    await resolve.resolve(did)
    assert server.requests[path] == 2


@pytest.mark.anyio
async def test_the_cache_is_bounded(server: DidServer, client: httpx.AsyncClient) -> None:
    dids = [server.did("issuers", name) for name in ("a", "b", "c")]
    paths = [server.publish(did, did_document(did)) for did in dids]
    resolve = resolver(client, max_entries=2)
    for did in dids:
        await resolve.resolve(did)
    await resolve.resolve(dids[2])  # still cached
    await resolve.resolve(dids[0])  # evicted when c came in
    assert [server.requests[path] for path in paths] == [2, 1, 1]
