"""The guarded fetch, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import ipaddress
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.net import (
    BlockedAddressError,
    FetchTimeoutError,
    InvalidUrlError,
    RemoteFetchError,
    RemoteStatusError,
    ResponseTooLargeError,
    checked_addresses,
    fetch_json,
    is_blocked_address,
)
from tests.loopback import LoopbackServer

LIMITS: dict[str, Any] = {"max_bytes": 64 * 1024, "timeout": 5.0}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as local:
        yield local


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


# -- the address check --------------------------------------------------------------------------

BLOCKED = [
    "127.0.0.1",
    "127.5.6.7",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
    "2001:db8::1",  # documentation
]
PUBLIC = [
    "93.184.215.14",
    "8.8.8.8",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_are_blocked(address: str) -> None:
    assert is_blocked_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_not_blocked(address: str) -> None:
    assert not is_blocked_address(ipaddress.ip_address(address))


@pytest.mark.anyio
async def test_a_name_resolving_to_loopback_is_blocked() -> None:
    with pytest.raises(BlockedAddressError):
        await checked_addresses("localhost", 80, allow_private=False)
    addresses = await checked_addresses("localhost", 80, allow_private=True)
    assert all(address.is_loopback for address in addresses)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "2130706433",  # 127.0.0.1 written as one number: resolves to loopback
    ],
)
async def test_loopback_urls_are_refused_before_connecting(
    server: LoopbackServer, host: str
) -> None:
    server.serve("/doc", _json({"ok": True}))
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(BlockedAddressError):
            await fetch_json(client, server.url("/doc", host), allow_private=False, **LIMITS)
    assert server.requests["/doc"] == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/doc",
        "http://192.168.0.10:8080/doc",
        "http://169.254.169.254/latest/meta-data/",
        "https://[fc00::1]/did.json",
        "http://[fe80::1]/",
    ],
)
async def test_private_urls_are_refused(url: str) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(BlockedAddressError):
            await fetch_json(client, url, allow_private=False, **LIMITS)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/did.json",
        "file:///etc/passwd",
        "/relative/did.json",
        "http:///no-host",
        "https://user:secret@example.com/did.json",
        "http://exa mple.com/",
    ],
)
async def test_urls_that_are_not_plain_http_are_refused(url: str) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(InvalidUrlError):
            await fetch_json(client, url, allow_private=True, **LIMITS)


# -- fetching from a real server ----------------------------------------------------------------


@pytest.mark.anyio
async def test_allowed_private_fetch_returns_json(server: LoopbackServer) -> None:
    document = {"id": "did:web:example", "n": [1, 2, 3]}
    server.serve("/doc", _json(document), headers={"Content-Type": "application/json"})
    async with httpx.AsyncClient(trust_env=False) as client:
        assert (
            await fetch_json(client, server.url("/doc"), allow_private=True, **LIMITS) == document
        )
    assert server.requests["/doc"] == 1
    sent = server.request_headers[0]
    assert sent["accept-encoding"] == "identity"
    assert "application/json" in sent["accept"]


@pytest.mark.anyio
async def test_http_connects_to_the_checked_address_with_the_original_host(
    server: LoopbackServer,
) -> None:
    server.serve("/doc", _json({"ok": True}))
    seen: list[httpx.URL] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request.url)

    async with httpx.AsyncClient(trust_env=False, event_hooks={"request": [record]}) as client:
        url = server.url("/doc", host="localhost")
        assert await fetch_json(client, url, allow_private=True, **LIMITS) == {"ok": True}
    # The client was handed the IP that was checked, not the name (no second resolution) ...
    assert [url.host for url in seen] == ["127.0.0.1"]
    # ... and the server still saw the name the URL gave.
    assert server.request_headers[0]["host"] == f"localhost:{server.port}"


@pytest.mark.anyio
async def test_non_2xx_is_an_error_with_its_status(server: LoopbackServer) -> None:
    server.serve("/gone", _json({"error": "gone"}), status=410)
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(RemoteStatusError) as caught:
            await fetch_json(client, server.url("/gone"), allow_private=True, **LIMITS)
        assert caught.value.status_code == 410
        with pytest.raises(RemoteStatusError) as caught:
            await fetch_json(client, server.url("/missing"), allow_private=True, **LIMITS)
        assert caught.value.status_code == 404


@pytest.mark.anyio
@pytest.mark.parametrize("body", [b"<html>not json</html>", b"", b'{"truncated": ', b"\xff\xfe{"])
async def test_a_body_that_is_not_json_is_an_error(server: LoopbackServer, body: bytes) -> None:
    server.serve("/doc", body)
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(RemoteFetchError, match="did not return JSON"):
            await fetch_json(client, server.url("/doc"), allow_private=True, **LIMITS)


@pytest.mark.anyio
async def test_declared_oversize_body_is_refused(server: LoopbackServer) -> None:
    server.serve("/big", _json({"pad": "x" * 100_000}))
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(ResponseTooLargeError):
            await fetch_json(client, server.url("/big"), allow_private=True, **LIMITS)


@pytest.mark.anyio
async def test_undeclared_oversize_body_is_cut_off_while_streaming(server: LoopbackServer) -> None:
    server.serve("/big", _json({"pad": "x" * 100_000}), send_length=False)
    server.serve("/small", _json({"pad": "x" * 1000}), send_length=False)
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(ResponseTooLargeError):
            await fetch_json(client, server.url("/big"), allow_private=True, **LIMITS)
        small = await fetch_json(client, server.url("/small"), allow_private=True, **LIMITS)
    assert small == {"pad": "x" * 1000}


@pytest.mark.anyio
async def test_a_compressed_body_is_refused(server: LoopbackServer) -> None:
    # We ask for identity; a gzip body would be inflated before any size check could bound it.
    bomb = gzip.compress(b" " * 10_000_000)
    server.serve("/gz", bomb, headers={"Content-Encoding": "gzip"})
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(RemoteFetchError, match="content-encoding"):
            await fetch_json(client, server.url("/gz"), allow_private=True, **LIMITS)


@pytest.mark.anyio
async def test_a_slow_server_times_out(server: LoopbackServer) -> None:
    server.serve("/slow", _json({"late": True}), delay=10)
    started = time.monotonic()
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(FetchTimeoutError):
            await fetch_json(
                client, server.url("/slow"), allow_private=True, max_bytes=1024, timeout=0.3
            )
    assert time.monotonic() - started < 3


@pytest.mark.anyio
async def test_redirects_are_not_followed_by_default(server: LoopbackServer) -> None:
    server.serve("/moved", b"", status=302, headers={"Location": "/target"})
    server.serve("/target", _json({"moved": True}))
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(RemoteStatusError) as caught:
            await fetch_json(client, server.url("/moved"), allow_private=True, **LIMITS)
        assert caught.value.status_code == 302
        assert server.requests["/target"] == 0
        followed = await fetch_json(
            client, server.url("/moved"), allow_private=True, max_redirects=1, **LIMITS
        )
    assert followed == {"moved": True}
    assert server.requests["/target"] == 1


@pytest.mark.anyio
async def test_redirect_hops_are_checked_like_the_first_request(server: LoopbackServer) -> None:
    server.serve("/to-ftp", b"", status=301, headers={"Location": "ftp://example.com/x"})
    server.serve("/loop", b"", status=302, headers={"Location": "/loop"})
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(InvalidUrlError):
            await fetch_json(
                client, server.url("/to-ftp"), allow_private=True, max_redirects=3, **LIMITS
            )
        with pytest.raises(RemoteStatusError):
            await fetch_json(
                client, server.url("/loop"), allow_private=True, max_redirects=3, **LIMITS
            )
    assert server.requests["/loop"] == 4


@pytest.mark.anyio
async def test_connection_refused_is_a_fetch_error(server: LoopbackServer) -> None:
    url = server.url("/doc")
    server.close()
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(RemoteFetchError):
            await fetch_json(client, url, allow_private=True, **LIMITS)
