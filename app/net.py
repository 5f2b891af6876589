"""Guarded fetching of remote JSON documents (DID documents, status lists).

A verifier fetches URLs that come from the documents it is asked to verify, so each fetch is
limited: http(s) only, no private/loopback/link-local/... destinations unless allowed, a body
cap, one deadline for the whole operation, no redirects unless asked for (and then each hop is
checked the same way).

DNS rebinding: the host is resolved and checked here, and the HTTP client would resolve it again
when it connects, possibly to another address. For ``http`` the gap is closed: the request goes
to the checked IP addresses (tried in order) and the original host travels in the ``Host``
header. For ``https`` the request keeps the host name, because TLS needs it (SNI and certificate
verification) and pinning the IP there would let the client's connection pool reuse a connection
verified for one name for another. What remains is mitigated by certificate verification: a
rebound address only completes the handshake if it presents a valid certificate for the
attacker's own host name. A client built with ``verify=False`` loses that mitigation; do not use
one with ``allow_private=False``.
Likewise a client that goes through a proxy (``trust_env=True`` and ``HTTPS_PROXY`` set) lets the
proxy resolve the name again: build the fetching client with ``trust_env=False``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import socket
from typing import Any, NamedTuple

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_ACCEPT = (
    "application/json, application/ld+json, application/did+json, application/did+ld+json, "
    "application/vc+ld+json;q=0.9, */*;q=0.1"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# After httpx's IDNA encoding a host name is ASCII letters, digits, hyphens, dots (and, seen in
# the wild, underscores); anything else (spaces, percent signs) is not something to resolve.
_HOST_NAME = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?", re.ASCII)


class RemoteFetchError(Exception):
    """A remote document could not be fetched or is not JSON."""

    def __init__(self, detail: str, *, url: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.url = url


class InvalidUrlError(RemoteFetchError):
    """Not an absolute http(s) URL with a host."""


class BlockedAddressError(RemoteFetchError):
    """The host is, or resolves to, an address this service may not reach."""


class ResponseTooLargeError(RemoteFetchError):
    """The body (declared or received) is larger than the limit."""


class FetchTimeoutError(RemoteFetchError):
    """The whole operation did not finish in time."""


class RemoteStatusError(RemoteFetchError):
    """The server answered with a status other than 2xx (or a redirect that is not followed)."""

    def __init__(self, detail: str, *, url: str | None = None, status_code: int) -> None:
        super().__init__(detail, url=url)
        self.status_code = status_code


def _translated_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped or NAT64 (64:ff9b::/96) address actually reaches."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _tunnelled_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 endpoint of a 6to4 or Teredo address."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_blocked_address(address: IPAddress) -> bool:
    """True for anything but a public unicast address.

    IPv4-mapped and NAT64 addresses are judged by the IPv4 address they reach (Python counts the
    whole of ::ffff:0:0/96 and ::/8 as private or reserved); 6to4 and Teredo addresses must be
    public and carry a public IPv4 endpoint.
    """
    if isinstance(address, ipaddress.IPv6Address):
        translated = _translated_ipv4(address)
        if translated is not None:
            return is_blocked_address(translated)
        tunnelled = _tunnelled_ipv4(address)
        if tunnelled is not None and is_blocked_address(tunnelled):
            return True
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _parse_ip(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    except ValueError:
        return None


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, through the event loop's ``getaddrinfo``."""
    literal = _parse_ip(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RemoteFetchError(f"cannot resolve host {host!r}") from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        address = _parse_ip(str(sockaddr[0]))
        if address is None:
            raise RemoteFetchError(f"host {host!r} resolved to an unusable address")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise RemoteFetchError(f"host {host!r} has no address")
    return addresses


async def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """Resolve ``host``; refuse it when any address is blocked (unless ``allow_private``).

    Any, not all: otherwise a name with one public and one private address would pass the
    check and the client could still connect to the private one.
    """
    addresses = await resolve_host(host, port)
    if not allow_private:
        for address in addresses:
            if is_blocked_address(address):
                raise BlockedAddressError(
                    f"host {host!r} resolves to {address}, a non-public address"
                )
    return addresses


def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise InvalidUrlError(f"{url!r} is not a valid URL", url=url) from exc
    if parsed.scheme not in _DEFAULT_PORTS:
        raise InvalidUrlError(f"only http and https URLs are fetched, not {url!r}", url=url)
    if not parsed.host:
        raise InvalidUrlError(f"{url!r} has no host", url=url)
    if parsed.userinfo:
        raise InvalidUrlError("URLs with credentials are not fetched", url=url)
    if _parse_ip(parsed.host) is None and not _HOST_NAME.fullmatch(parsed.host):
        raise InvalidUrlError(f"{url!r} does not name a valid host", url=url)
    return parsed.copy_with(fragment=None)


async def _read_limited(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLargeError(f"{url} is larger than {max_bytes} bytes", url=url)
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        # We asked for identity; decoding would happen before our size check could bound it.
        raise RemoteFetchError(f"{url} was sent with content-encoding {encoding!r}", url=url)
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > max_bytes:
            raise ResponseTooLargeError(f"{url} is larger than {max_bytes} bytes", url=url)
    return bytes(body)


class Fetched(NamedTuple):
    """A 2xx answer's body and headers (callers that cache read ``Cache-Control``)."""

    body: bytes
    headers: httpx.Headers


class _Redirect:
    __slots__ = ("location", "status_code")

    def __init__(self, status_code: int, location: httpx.URL) -> None:
        self.status_code = status_code
        self.location = location


async def _fetch_once(
    client: httpx.AsyncClient,
    parsed: httpx.URL,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool,
    accept: str,
) -> Fetched | _Redirect:
    """One GET: the body and headers of a 2xx answer, or where a redirect points."""
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    addresses = await checked_addresses(parsed.host, port, allow_private=allow_private)
    headers = {"Accept": accept, "Accept-Encoding": "identity"}
    if parsed.scheme == "https":
        return await _get(client, parsed, parsed, headers, max_bytes=max_bytes, timeout=timeout)
    # http: connect to the addresses just checked, so the client cannot resolve the name again.
    headers["Host"] = parsed.netloc.decode("ascii")
    for address in addresses[:-1]:
        try:
            target = parsed.copy_with(host=str(address))
            return await _get(client, parsed, target, headers, max_bytes=max_bytes, timeout=timeout)
        except httpx.ConnectError:
            continue  # as a client resolving the name itself would: try the next address
    target = parsed.copy_with(host=str(addresses[-1]))
    return await _get(client, parsed, target, headers, max_bytes=max_bytes, timeout=timeout)


async def _get(
    client: httpx.AsyncClient,
    parsed: httpx.URL,
    target: httpx.URL,
    headers: dict[str, str],
    *,
    max_bytes: int,
    timeout: float,
) -> Fetched | _Redirect:
    url = str(parsed)
    async with client.stream(
        "GET", target, headers=headers, follow_redirects=False, timeout=timeout
    ) as response:
        if response.is_redirect:
            try:
                location = parsed.join(response.headers["location"])
            except httpx.InvalidURL as exc:
                raise InvalidUrlError(f"{url} redirects to an invalid URL", url=url) from exc
            return _Redirect(response.status_code, location)
        if not response.is_success:
            raise RemoteStatusError(
                f"{url} answered HTTP {response.status_code}",
                url=url,
                status_code=response.status_code,
            )
        return Fetched(await _read_limited(response, url, max_bytes), response.headers)


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool,
    max_redirects: int,
    accept: str,
) -> Fetched:
    parsed = _parse_url(url)
    redirects = 0
    while True:
        result = await _fetch_once(
            client,
            parsed,
            max_bytes=max_bytes,
            timeout=timeout,
            allow_private=allow_private,
            accept=accept,
        )
        if not isinstance(result, _Redirect):
            return result
        if redirects >= max_redirects:
            raise RemoteStatusError(
                f"{parsed} redirects (HTTP {result.status_code}); at most {max_redirects} followed",
                url=str(parsed),
                status_code=result.status_code,
            )
        if parsed.scheme == "https" and result.location.scheme != "https":
            raise RemoteFetchError(f"{parsed} redirects to a non-https URL", url=str(parsed))
        redirects += 1
        parsed = _parse_url(str(result.location))


async def fetch_response(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool,
    max_redirects: int = 0,
    accept: str = DEFAULT_ACCEPT,
) -> Fetched:
    """GET ``url`` under the guards in this module's docstring; the body (at most ``max_bytes``)
    and the headers."""
    try:
        async with asyncio.timeout(timeout):
            return await _fetch(
                client,
                url,
                max_bytes=max_bytes,
                timeout=timeout,
                allow_private=allow_private,
                max_redirects=max_redirects,
                accept=accept,
            )
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise FetchTimeoutError(f"fetching {url} took longer than {timeout} s", url=url) from exc
    except httpx.HTTPError as exc:
        raise RemoteFetchError(f"fetching {url} failed: {type(exc).__name__}", url=url) from exc


async def fetch_bytes(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool,
    max_redirects: int = 0,
    accept: str = DEFAULT_ACCEPT,
) -> bytes:
    """GET ``url`` under the guards in this module's docstring; the body, at most ``max_bytes``."""
    fetched = await fetch_response(
        client,
        url,
        max_bytes=max_bytes,
        timeout=timeout,
        allow_private=allow_private,
        max_redirects=max_redirects,
        accept=accept,
    )
    return fetched.body


async def fetch_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool,
    max_redirects: int = 0,
    accept: str = DEFAULT_ACCEPT,
) -> Any:
    """GET ``url`` (see :func:`fetch_bytes`) and parse the body as JSON."""
    body = await fetch_bytes(
        client,
        url,
        max_bytes=max_bytes,
        timeout=timeout,
        allow_private=allow_private,
        max_redirects=max_redirects,
        accept=accept,
    )
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise RemoteFetchError(f"{url} did not return JSON", url=url) from exc


def parse_json(fetched: Fetched, url: str) -> Any:
    """The body of ``fetched`` as JSON."""
    try:
        return json.loads(fetched.body)
    except (ValueError, RecursionError) as exc:
        raise RemoteFetchError(f"{url} did not return JSON", url=url) from exc


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    *,
    timeout: float,
    allow_private: bool,
) -> int:
    """POST the JSON ``body`` to ``url`` under the same guards as a fetch (http(s) only, the
    destination checked, no redirect followed, one deadline); the answer's status code.

    Used for callbacks a caller named (a presentation request's ``callback``): the URL is the
    caller's, so it gets no more reach than a URL found in a document."""
    parsed = _parse_url(url)
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]

    async def attempt() -> int:
        addresses = await checked_addresses(parsed.host, port, allow_private=allow_private)
        headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
        targets = [parsed]
        if parsed.scheme == "http":  # to the addresses just checked (see the docstring above)
            headers["Host"] = parsed.netloc.decode("ascii")
            targets = [parsed.copy_with(host=str(address)) for address in addresses]
        for index, target in enumerate(targets):
            try:
                response = await client.post(
                    target, content=body, headers=headers, follow_redirects=False
                )
                return response.status_code
            except httpx.ConnectError:
                if index == len(targets) - 1:
                    raise
        raise RemoteFetchError(f"{url} could not be reached", url=url)  # pragma: no cover

    try:
        return await asyncio.wait_for(attempt(), timeout)
    except TimeoutError as exc:
        raise FetchTimeoutError(f"{url} did not answer within {timeout} s", url=url) from exc
    except httpx.HTTPError as exc:
        raise RemoteFetchError(f"{url} could not be reached: {exc}", url=url) from exc
