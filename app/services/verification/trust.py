"""Issuer trust: who vouches for a credential's issuer (issue 24).

A valid proof shows that the holder of a key signed; it does not show that the signer is the
accredited body it names. This check asks the configured trust sources, most authoritative
first: the service's own list (:mod:`app.services.trust`), then each registry of
``MICROCRED_TRUST_REGISTRIES``. The verdict's ``results.issuerTrust`` says whether anyone vouches
(``trusted``), who (``sources``), under which registered legal name, and which sources could not
be asked (``unknown``: an unreachable source is never taken as vouching).

An issuer nobody vouches for is a warning, or an error when the caller (``options.trust:
"required"``) or the deployment asks for trust. A credential whose displayed issuer name is none
of the registered legal names gets a warning: anyone may call themselves "University of Zed".
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import TrustRegistry
from app.net import RemoteFetchError, RemoteStatusError, fetch_response, parse_json
from app.problems import (
    ISSUER_NAME_MISMATCH,
    ISSUER_NOT_TRUSTED,
    TRUST_SOURCE_UNAVAILABLE,
    ProblemDetails,
)
from app.services import trust as own_list
from app.services.verification.controllers import MAX_DID_LENGTH, Run
from app.services.verification.results import IssuerTrustResult, Verification, problem, problem_list

OWN_LIST = "microcred"
#: a registry's own ``max-age`` is honoured up to a day
MAX_CACHE_SECONDS = 86_400
MAX_NAMES = 50


@dataclass(frozen=True)
class Vouch:
    """A source's entry for the issuer."""

    source: str
    entry: Mapping[str, Any]
    legal_name: str | None


class SourceUnavailable(Exception):
    """The source could not be asked (unreachable, malformed): its answer is unknown."""


class TrustSource(Protocol):
    name: str

    async def lookup(self, run: Run, did: str) -> Vouch | None: ...


class OwnList:
    """The service's own trust list, read in a short session of its own."""

    name = OWN_LIST

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def lookup(self, run: Run, did: str) -> Vouch | None:
        if len(did) > MAX_DID_LENGTH:
            return None
        async with self._sessionmaker() as session:
            entry = await own_list.find_entry(session, did)
        if entry is None:
            return None
        return Vouch(self.name, own_list.entry_json(entry), entry.legal_name)


def max_age(headers: httpx.Headers) -> int:
    """Seconds a response may be reused (RFC 9111 §5.2.2.1 ``max-age`` less ``Age``); 0 when
    it says ``no-store``/``no-cache`` or nothing at all."""
    seconds = 0
    for directive in headers.get("cache-control", "").lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name in ("no-store", "no-cache"):
            return 0
        if name == "max-age" and value.strip('"').isdigit():
            seconds = int(value.strip('"'))
    age = headers.get("age", "")
    if age.isdigit():
        seconds -= int(age)
    return max(0, min(seconds, MAX_CACHE_SECONDS))


class RemoteSource:
    """What fetching registries share: the guarded fetch, and the scheme rule."""

    def __init__(
        self,
        config: TrustRegistry,
        client: httpx.AsyncClient,
        *,
        allow_private: bool,
        timeout: float,
        max_bytes: int,
    ) -> None:
        self.name = config.name
        self._url = config.url.rstrip("/") if config.kind == "ebsi" else config.url
        self._client = client
        self._allow_private = allow_private
        self._timeout = timeout
        self._max_bytes = max_bytes

    async def _fetch(self, run: Run, url: str) -> tuple[Any, int]:
        """The JSON document at ``url`` and how long it may be reused (raises RemoteFetchError)."""
        if not (url.startswith("https://") or (self._allow_private and url.startswith("http://"))):
            raise RemoteFetchError(f"{url!r} is not an https URL", url=url)
        run.count_fetch(url)
        fetched = await fetch_response(
            self._client,
            url,
            max_bytes=self._max_bytes,
            timeout=self._timeout,
            allow_private=self._allow_private,
        )
        return parse_json(fetched, url), max_age(fetched.headers)


class DccRegistry(RemoteSource):
    """A registry in the Digital Credentials Consortium's issuer-registry JSON format.

    The format, as the DCC's verifiers read it (digitalcredentials/issuer-registry-client,
    ``src/lib/RegistryCollection.ts``: ``entries: data.registry``; the published registries such
    as https://digitalcredentials.github.io/dcc-registry/registry.json)::

        {"meta": {"created": "...", "updated": "..."},
         "registry": {"did:key:z6Mk...": {"name": "Example University",
                                         "location": "Cambridge, MA, USA",
                                         "url": "https://example.edu"}}}

    A DID is vouched for when it is a key of ``registry``; ``name`` is the registered name. The
    document is cached as long as its ``Cache-Control: max-age`` allows (not at all without
    one); an expired copy is never used when the registry cannot be reached.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cached: tuple[Mapping[str, Any], datetime] | None = None
        self._lock = asyncio.Lock()

    async def _registry(self, run: Run) -> Mapping[str, Any]:
        async with self._lock:
            if self._cached is not None and run.now < self._cached[1]:
                return self._cached[0]
            try:
                document, seconds = await self._fetch(run, self._url)
            except RemoteFetchError as exc:
                raise SourceUnavailable(exc.detail) from exc
            registry = document.get("registry") if isinstance(document, dict) else None
            if not isinstance(registry, dict):
                raise SourceUnavailable(f"{self._url} has no 'registry' object (DCC format)")
            self._cached = (registry, run.now + timedelta(seconds=seconds))
            return registry

    async def lookup(self, run: Run, did: str) -> Vouch | None:
        entry = (await self._registry(run)).get(did)
        if not isinstance(entry, dict):
            return None
        name = entry.get("name")
        return Vouch(self.name, _strings(entry), name if isinstance(name, str) else None)


class EbsiRegistry(RemoteSource):
    """The EBSI Trusted Issuers Registry API: ``GET {url}/issuers/{did}``.

    200 answers ``{"did": ..., "attributes": [{"hash", "body", "issuerType", "tao",
    "rootTao"}...]}`` (https://hub.ebsi.eu/apis/pilot/trusted-issuers-registry/v5/get-issuers-did);
    404 means the DID is not registered; any other answer leaves the question open. The
    attributes' bodies are JWT-encoded accreditations; their legal name is not read here.
    """

    async def lookup(self, run: Run, did: str) -> Vouch | None:
        url = f"{self._url}/issuers/{quote(did, safe=':')}"
        try:
            document, _ = await self._fetch(run, url)
        except RemoteStatusError as exc:
            if exc.status_code == 404:
                return None
            raise SourceUnavailable(exc.detail) from exc
        except RemoteFetchError as exc:
            raise SourceUnavailable(exc.detail) from exc
        if not isinstance(document, dict) or document.get("did") != did:
            raise SourceUnavailable(f"{url} did not answer with the issuer {did}")
        attributes = document.get("attributes")
        if not isinstance(attributes, list) or not attributes:
            return None
        shown = [_strings(a) for a in attributes[:MAX_NAMES] if isinstance(a, dict)]
        return Vouch(self.name, {"did": did, "attributes": shown}, None)


def _strings(entry: Mapping[str, Any]) -> dict[str, str]:
    """An entry's string fields: what a verdict repeats of a remote document (nothing that
    cannot be written back as I-JSON, such as a ``NaN`` Python's parser lets through)."""
    return {key: value for key, value in entry.items() if isinstance(value, str)}


def registry_source(
    config: TrustRegistry,
    client: httpx.AsyncClient,
    *,
    allow_private: bool,
    timeout: float,
    max_bytes: int,
) -> TrustSource:
    kind = DccRegistry if config.kind == "dcc" else EbsiRegistry
    return kind(config, client, allow_private=allow_private, timeout=timeout, max_bytes=max_bytes)


def _names(value: Any, depth: int = 0) -> Iterator[str]:
    """The strings of a name: a string, a value object (``@value``), a language map, a list."""
    if isinstance(value, str):
        yield value
    elif depth < 3 and isinstance(value, Mapping):
        if "@value" in value:
            yield from _names(value["@value"], depth + 1)
        else:
            for item in value.values():
                yield from _names(item, depth + 1)
    elif depth < 3 and isinstance(value, list):
        for item in value[:MAX_NAMES]:
            yield from _names(item, depth + 1)


def displayed_names(credential: Mapping[str, Any]) -> set[str]:
    """The issuer names a credential shows (``issuer.name``), compared loosely."""
    issuer = credential.get("issuer")
    if not isinstance(issuer, Mapping):
        return set()
    return {_loosely(name) for name in _names(issuer.get("name"))} - {""}


def _loosely(name: str) -> str:
    return " ".join(name.split()).casefold()


class TrustCheck:
    def __init__(self, sources: Sequence[TrustSource], *, required: bool) -> None:
        self._sources = tuple(sources)
        self._required = required

    async def check(
        self,
        run: Run,
        credential: Mapping[str, Any],
        issuer: str | None,
        report: Verification,
        *,
        required: bool | None = None,
    ) -> IssuerTrustResult:
        """``results.issuerTrust``; adds its warnings (and, when required, its error)."""
        vouches: list[Vouch] = []
        unknown: list[str] = []
        found: list[ProblemDetails] = []
        if issuer is not None and issuer.startswith("did:"):
            for source in self._sources:
                try:
                    vouch = await source.lookup(run, issuer)
                except SourceUnavailable as exc:
                    unknown.append(source.name)
                    found.append(
                        problem(
                            TRUST_SOURCE_UNAVAILABLE,
                            f"{source.name}: {exc}; its answer is unknown",
                            "/issuer",
                        )
                    )
                    continue
                if vouch is not None:
                    vouches.append(vouch)
        legal_name = next((v.legal_name for v in vouches if v.legal_name), None)
        failed: ProblemDetails | None = None
        if not vouches:
            failed = problem(
                ISSUER_NOT_TRUSTED,
                f"no trust source vouches for the issuer {issuer!r}"
                + (f" ({', '.join(unknown)} could not be asked)" if unknown else ""),
                "/issuer",
            )
        else:
            shown = displayed_names(credential)
            registered = {_loosely(v.legal_name) for v in vouches if v.legal_name}
            if shown and registered and not shown & registered:
                found.append(
                    problem(
                        ISSUER_NAME_MISMATCH,
                        f"the credential names its issuer otherwise than the registered legal "
                        f"name {legal_name!r}",
                        "/issuer/name",
                    )
                )
        if failed is not None:
            must = self._required if required is None else required
            (report.errors if must else report.warnings).append(failed)
            found.insert(0, failed)
        report.warnings.extend(p for p in found if p is not failed)
        result: IssuerTrustResult = {
            "trusted": bool(vouches),
            "sources": [{"name": v.source, "entry": dict(v.entry)} for v in vouches],
            "warnings": problem_list(replace(p, pointer=None) for p in found),
        }
        if legal_name is not None:
            result["legalName"] = legal_name
        if unknown:
            result["unknown"] = unknown
        return result
