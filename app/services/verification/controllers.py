"""Who may have signed: the controller documents of the proofs' verification methods, resolved
before the (synchronous) Data Integrity verifier runs.

A DID of one of our issuers comes from the database (revoked keys left out, no network), other
``did:key``s are read offline, other ``did:web``s are fetched over the guarded HTTP fetch
(:mod:`app.net`) with a TTL cache. What one request has resolved and fetched is kept in its
:class:`Run` (a presentation's credentials share it), and its fetches are counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.crypto.dataintegrity import MethodResolver, VerificationMethod
from app.crypto.errors import InvalidVerificationMethodError
from app.crypto.resolvers import method_from_document
from app.db.models import Issuer
from app.did.key import InvalidDid, resolve_did_key
from app.did.web import DID_WEB_PREFIX, DidWebResolver, did_web_for
from app.jsonld.values import as_list
from app.net import RemoteFetchError
from app.services import issuers
from app.services.verification.results import ResolvedFrom
from app.status.bitstring import StatusListError

MAX_PROOFS = 10
MAX_REMOTE_FETCHES = 64
#: ``issuers.did`` is at most this long: a longer DID is nobody's here.
MAX_DID_LENGTH = 512


@dataclass(frozen=True)
class Controller:
    """A controller document resolved for this request, or why it could not be."""

    document: dict[str, Any] | None
    error: str | None = None
    revoked: frozenset[str] = frozenset()
    #: database (one of our issuers), did:key (offline), did:web (fetched), unsupported
    source: ResolvedFrom = "did:key"


@dataclass
class Run:
    """What one request has resolved and fetched so far (shared by a presentation's credentials)."""

    now: datetime
    controllers: dict[str, Controller] = field(default_factory=dict)
    status_lists: dict[str, dict[str, Any] | StatusListError] = field(default_factory=dict)
    fetches: int = 0

    def count_fetch(self, what: str) -> None:
        self.fetches += 1
        if self.fetches > MAX_REMOTE_FETCHES:
            raise RemoteFetchError(f"{what}: more than {MAX_REMOTE_FETCHES} documents to fetch")


def controller_did(method_id: str) -> str:
    return method_id.split("#", 1)[0]


def proof_method_ids(document: Mapping[str, Any]) -> Iterator[str]:
    for proof in as_list(document.get("proof"))[:MAX_PROOFS]:
        if isinstance(proof, Mapping) and isinstance(proof.get("verificationMethod"), str):
            yield proof["verificationMethod"]


def controller_dids(documents: Iterable[Mapping[str, Any]]) -> set[str]:
    """The controllers of the methods of every proof of ``documents``."""
    return {controller_did(m) for document in documents for m in proof_method_ids(document)}


class Controllers:
    """Resolves controller DIDs for a run: database, did:key, then did:web (one per process)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        did_web: DidWebResolver,
        public_url: str,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._did_web = did_web
        try:
            self._our_did_web: str | None = did_web_for(public_url)
        except InvalidDid:  # e.g. an IPv6 literal: no did:web issuer can live there
            self._our_did_web = None

    def _is_our_did_web(self, did: str) -> bool:
        ours = self._our_did_web
        return ours is not None and (did == ours or did.startswith(ours + ":"))

    async def resolve(self, run: Run, dids: Iterable[str]) -> None:
        """Resolve every controller DID not resolved yet: database, did:key, then did:web."""
        wanted = sorted({did for did in dids if did not in run.controllers})
        if not wanted:
            return
        candidates = [did for did in wanted if len(did) <= MAX_DID_LENGTH]
        async with self._sessionmaker() as session:
            query = select(Issuer).where(col(Issuer.did).in_(candidates))
            found = (await session.exec(query)).all() if candidates else []
            for issuer in found:
                keys = await issuers.keys_of(session, issuer.id or 0)
                run.controllers[issuer.did] = Controller(
                    issuers.did_document(issuer, keys),
                    revoked=frozenset(k.key_id for k in keys if k.status == issuers.REVOKED),
                    source="database",
                )
        remote: list[str] = []
        for did in wanted:
            if did in run.controllers:
                continue
            if self._is_our_did_web(did):
                error = f"{did} is not an issuer of this service"
                run.controllers[did] = Controller(None, error, source="database")
            elif did.startswith("did:key:"):
                try:
                    run.controllers[did] = Controller(resolve_did_key(did))
                except InvalidDid as exc:
                    run.controllers[did] = Controller(None, str(exc))
            elif did.startswith(DID_WEB_PREFIX):
                remote.append(did)
            else:
                error = f"{did!r} does not use a DID method this service resolves (key, web)"
                run.controllers[did] = Controller(None, error, source="unsupported")
        async with anyio.create_task_group() as group:
            for did in remote:
                group.start_soon(self._resolve_did_web, run, did)

    async def _resolve_did_web(self, run: Run, did: str) -> None:
        try:
            run.count_fetch(did)
            document = await self._did_web.resolve(did)
        except (RemoteFetchError, ValueError) as exc:
            error = f"cannot resolve {did}: {exc}"
            run.controllers[did] = Controller(None, error, source="did:web")
        else:
            run.controllers[did] = Controller(document, source="did:web")


def method_resolver(run: Run) -> MethodResolver:
    """The synchronous resolver the Data Integrity verifier calls: lookups only, no I/O."""

    def resolve(method_id: str, purpose: str) -> VerificationMethod:
        controller = run.controllers.get(controller_did(method_id))
        if controller is None or controller.document is None:
            reason = controller.error if controller else "it was not resolved"
            raise InvalidVerificationMethodError(f"cannot use {method_id}: {reason}")
        if method_id in controller.revoked:
            raise InvalidVerificationMethodError(f"{method_id} has been revoked")
        try:
            return method_from_document(controller.document, method_id, purpose)
        except (TypeError, AttributeError, ValueError) as exc:
            raise InvalidVerificationMethodError(
                f"the controller document of {method_id} cannot be read"
            ) from exc

    return resolve
