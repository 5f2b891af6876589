"""did:web (https://w3c-ccg.github.io/did-method-web/): DID ↔ URL and a guarded, caching resolver.

``did:web:example.com`` → ``https://example.com/.well-known/did.json``;
``did:web:example.com:issuers:uni`` → ``https://example.com/issuers/uni/did.json``;
a port is written ``%3A``: ``did:web:127.0.0.1%3A8000:issuers:uni`` →
``https://127.0.0.1:8000/issuers/uni/did.json``.

The did:web specification says the domain should not be an IP address; this module accepts IPv4
literals anyway because local and test deployments use them (``MICROCRED_PUBLIC_URL`` of
``http://127.0.0.1:8000``). Whether such an address may be *fetched* is the fetch guard's
decision (``allow_private``). IPv6 literals are not representable and are refused.
"""

from __future__ import annotations

import copy
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import httpx

from app.crypto.dataintegrity import VerificationMethod
from app.crypto.errors import InvalidVerificationMethodError
from app.crypto.resolvers import method_from_document
from app.did.key import InvalidDid
from app.net import RemoteFetchError, fetch_json

DID_WEB_PREFIX = "did:web:"
WELL_KNOWN_PATH = "/.well-known/did.json"
DOCUMENT_NAME = "did.json"

# One segment of the method-specific id: DID Core idchar (ALPHA / DIGIT / "." / "-" / "_") or
# pct-encoded octets.
_SEGMENT = re.compile(r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+", re.ASCII)
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", re.ASCII)
_IDCHAR = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


class InvalidDidWeb(InvalidDid):
    """Not a did:web this module can turn into a URL (or a URL that is not a did:web location)."""


class DidDocumentError(ValueError):
    """The fetched document is not the DID document of the DID that was resolved."""


def _check_host(host: str, port: str | None, what: str) -> None:
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in host.split(".")):
        raise InvalidDidWeb(f"{what}: {host!r} is not a domain name")
    if port is not None and (not port.isdigit() or not 0 < int(port) < 65536):
        raise InvalidDidWeb(f"{what}: {port!r} is not a port")


def _check_path_segment(segment: str, what: str) -> None:
    if unquote(segment) in (".", ".."):
        raise InvalidDidWeb(f"{what}: the path segment {segment!r} is not allowed")


def did_web_to_url(did: str, *, scheme: str = "https") -> str:
    """The URL of the DID document of ``did`` (did:web "Read (Resolve)", steps 1–5).

    ``scheme="http"`` is for loopback tests and closed networks only: the method itself is https.
    """
    if scheme not in ("https", "http"):
        raise ValueError("scheme must be 'https' or 'http'")
    if not isinstance(did, str) or not did.startswith(DID_WEB_PREFIX):
        raise InvalidDidWeb(f"{did!r} is not a did:web DID")
    segments = did[len(DID_WEB_PREFIX) :].split(":")
    if not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise InvalidDidWeb(f"{did!r} is not a DID (bad or empty segment, or a DID URL)")
    domain, path = segments[0], segments[1:]
    # Only the port's colon may be percent-encoded in the domain.
    host, has_port, port = domain.replace("%3a", "%3A").partition("%3A")
    _check_host(host, port if has_port else None, did)
    for segment in path:
        _check_path_segment(segment, did)
    authority = f"{host.lower()}:{port}" if port else host.lower()
    if not path:
        return f"{scheme}://{authority}{WELL_KNOWN_PATH}"
    return f"{scheme}://{authority}/{'/'.join(path)}/{DOCUMENT_NAME}"


def _encode_segment(segment: str) -> str:
    """Percent-encode everything that is not a DID idchar (UTF-8 octets)."""
    return "".join(
        char if char in _IDCHAR else "".join(f"%{octet:02X}" for octet in char.encode())
        for char in segment
    )


def _did_from_parts(host: str, port: int | None, segments: list[str], what: str) -> str:
    if not host or ":" in host:
        raise InvalidDidWeb(f"{what}: did:web needs a domain name (IPv6 literals do not fit)")
    _check_host(host, None if port is None else str(port), what)
    did = DID_WEB_PREFIX + host.lower()
    if port is not None:
        did += f"%3A{port}"
    for segment in segments:
        if segment in ("", ".", ".."):
            raise InvalidDidWeb(f"{what}: empty, '.' or '..' path segments are not allowed")
        did += ":" + _encode_segment(segment)
    return did


def _plain_http_url(url: str) -> httpx.URL:
    """``url`` parsed, when it is http(s) without credentials, query or fragment."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InvalidDidWeb(f"{url!r} is not a URL") from exc
    if parsed.scheme not in ("https", "http") or parsed.query or parsed.fragment:
        raise InvalidDidWeb(f"{url!r} is not an http(s) URL without query or fragment")
    if parsed.userinfo:
        raise InvalidDidWeb(f"{url!r} carries credentials")
    return parsed


def url_to_did_web(url: str) -> str:
    """The did:web whose DID document is at ``url`` (``…/.well-known/did.json``, ``…/did.json``).

    Default ports (443 for https, 80 for http) are left out of the DID.
    """
    parsed = _plain_http_url(url)
    raw_path = parsed.raw_path.decode("ascii")
    if raw_path == WELL_KNOWN_PATH:
        segments: list[str] = []
    elif raw_path.endswith("/" + DOCUMENT_NAME) and raw_path != "/" + DOCUMENT_NAME:
        segments = [unquote(s) for s in raw_path[1 : -len(DOCUMENT_NAME) - 1].split("/")]
    else:
        raise InvalidDidWeb(f"{url!r} is not a did:web document location")
    return _did_from_parts(parsed.host, parsed.port, segments, url)


def did_web_for(public_url: str, *path_segments: str) -> str:
    """The did:web for a DID document served under ``public_url`` at ``path_segments``.

    ``did_web_for("http://127.0.0.1:8000", "issuers", "uni-zed")`` →
    ``did:web:127.0.0.1%3A8000:issuers:uni-zed``; a path in ``public_url``
    (``https://example.edu/credentials``) comes first. Default ports are left out.
    """
    parsed = _plain_http_url(public_url)
    base = [unquote(s) for s in parsed.raw_path.decode("ascii").split("/") if s]
    return _did_from_parts(parsed.host, parsed.port, [*base, *path_segments], public_url)


class DidWebResolver:
    """Resolve did:web DIDs over an injected :class:`httpx.AsyncClient`, with a bounded TTL cache.

    ``resolve`` raises :class:`InvalidDidWeb` for a DID it cannot turn into a URL,
    :class:`app.net.RemoteFetchError` (or a subclass: blocked address, too large, timeout, HTTP
    status) when the document cannot be fetched, and :class:`DidDocumentError` when what was
    fetched is not this DID's document. ``resolve_method`` turns each of those into an
    :class:`InvalidVerificationMethodError` (the original is its ``__cause__``).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_bytes: int,
        timeout: float,
        allow_private: bool,
        cache_ttl: float,
        scheme: str = "https",
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if scheme not in ("https", "http"):
            raise ValueError("scheme must be 'https' or 'http'")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._client = client
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._allow_private = allow_private
        self._cache_ttl = cache_ttl
        self._scheme = scheme
        self._max_entries = max_entries
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    def _cached(self, did: str) -> dict[str, Any] | None:
        entry = self._cache.get(did)
        if entry is None:
            return None
        expires_at, document = entry
        if expires_at <= self._clock():
            del self._cache[did]
            return None
        self._cache.move_to_end(did)
        return document

    def _store(self, did: str, document: dict[str, Any]) -> None:
        if self._cache_ttl <= 0:
            return
        self._cache[did] = (self._clock() + self._cache_ttl, document)
        self._cache.move_to_end(did)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)

    async def resolve(self, did: str) -> dict[str, Any]:
        """The DID document of ``did`` (a copy: callers may change it)."""
        cached = self._cached(did)
        if cached is not None:
            return copy.deepcopy(cached)
        url = did_web_to_url(did, scheme=self._scheme)
        document = await fetch_json(
            self._client,
            url,
            max_bytes=self._max_bytes,
            timeout=self._timeout,
            allow_private=self._allow_private,
        )
        if not isinstance(document, dict):
            raise DidDocumentError(f"{url} is not a JSON object")
        if document.get("id") != did:
            # did:web "Read": the document's id must be the DID that was resolved.
            raise DidDocumentError(f"the document at {url} is not the DID document of {did}")
        self._store(did, document)
        return copy.deepcopy(document)

    async def resolve_method(self, method_id: str, purpose: str) -> VerificationMethod:
        """The verification method ``method_id`` (``did:web:…#key``), authorized for ``purpose``."""
        did, hash_sign, fragment = method_id.partition("#")
        if not did.startswith(DID_WEB_PREFIX) or not hash_sign or not fragment:
            raise InvalidVerificationMethodError(
                f"{method_id} is not a did:web verification method (did:web:…#fragment)"
            )
        try:
            document = await self.resolve(did)
        except (InvalidDid, RemoteFetchError, DidDocumentError) as exc:
            raise InvalidVerificationMethodError(f"cannot resolve {did}: {exc}") from exc
        try:
            return method_from_document(document, method_id, purpose)
        except (TypeError, AttributeError, ValueError) as exc:
            # A document of the right id whose members have unexpected shapes.
            raise InvalidVerificationMethodError(
                f"{did}'s DID document cannot be read for {method_id}"
            ) from exc
