"""``credentialStatus``: every Bitstring Status List entry validated (the spec's validate
algorithm per entry). Our own lists are read from the database (no list credential needed);
others are fetched under the guards of :mod:`app.net`, once per request, and taken only with a
verified proof of the credential's issuer, in their one JSON reading."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, cast

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.credentials.vcapi import issuer_id
from app.crypto.dataintegrity import DataIntegrity
from app.db.models import Issuer, StatusEntry, StatusList
from app.jsonld import JsonLdProcessingError
from app.jsonld.form import PinnedForm
from app.jsonld.values import as_list
from app.net import RemoteFetchError, fetch_json
from app.problems import (
    CREDENTIAL_REVOKED,
    CREDENTIAL_STATUS_SET,
    CREDENTIAL_SUSPENDED,
    RANGE_ERROR,
)
from app.services.offload import Offload
from app.services.verification.controllers import Controllers, Run, controller_dids
from app.services.verification.proofs import ASSERTION, controllers_of, verify_proofs
from app.services.verification.results import (
    StatusEntryResult,
    StatusResults,
    Verification,
    from_error,
    problem,
)
from app.status.bitstring import (
    ENTRY_TYPE,
    StatusListError,
    StatusRangeError,
    StatusRetrievalError,
    StatusVerificationError,
    check_entry,
    check_status,
)

MAX_STATUS_ENTRIES = 8
_FAILING_PURPOSES = frozenset({"revocation", "suspension"})


class StatusCheck:
    """Checks the status entries of credentials (one per process)."""

    def __init__(
        self,
        *,
        data_integrity: DataIntegrity,
        form: PinnedForm,
        controllers: Controllers,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: httpx.AsyncClient,
        public_url: str,
        allow_private_network: bool,
        http_timeout: float,
        http_max_bytes: int,
        offload: Offload,
    ) -> None:
        self._di = data_integrity
        self._offload = offload
        self._form = form
        self._controllers = controllers
        self._sessionmaker = sessionmaker
        self._client = client
        self._our_lists = f"{public_url}/status-lists/"
        self._allow_private = allow_private_network
        self._timeout = http_timeout
        self._max_bytes = http_max_bytes

    async def check(
        self,
        run: Run,
        credential: Mapping[str, Any],
        issuer: str | None,
        report: Verification,
    ) -> StatusResults:
        """Bitstring Status List validation of every entry (the validate algorithm per entry)."""
        raw = credential.get("credentialStatus")
        result: StatusResults = {
            "verified": None,
            "revoked": False,
            "suspended": False,
            "entries": [],
        }
        entries = as_list(raw)
        if not entries:
            return result
        if len(entries) > MAX_STATUS_ENTRIES:
            report.errors.append(
                problem(
                    RANGE_ERROR,
                    f"{len(entries)} status entries; at most {MAX_STATUS_ENTRIES} are checked",
                    "/credentialStatus",
                )
            )
            result["verified"] = False
            return result
        for index, entry in enumerate(entries):
            pointer = f"/credentialStatus/{index}" if isinstance(raw, list) else "/credentialStatus"
            shown: dict[str, Any] = (
                {
                    key: entry.get(key)
                    for key in ("statusPurpose", "statusListIndex", "statusListCredential")
                }
                if isinstance(entry, Mapping)
                else {}
            )
            try:
                if isinstance(entry, Mapping) and entry.get("type") != ENTRY_TYPE:
                    raise StatusVerificationError(
                        f"credentialStatus of type {entry.get('type')!r} is not supported "
                        f"(only {ENTRY_TYPE})"
                    )
                list_url, list_index, purpose = check_entry(entry)
                reason = None
                if list_url.startswith(self._our_lists):
                    shown["source"] = "database"
                    is_set, reason = await self._our_bit(list_url, list_index, purpose, issuer)
                else:
                    shown["source"] = "remote"
                    listed = await self._remote_list(run, list_url, issuer)
                    is_set = check_status(entry, listed, now=run.now)
            except StatusListError as exc:
                report.errors.append(from_error(exc, pointer))
                result["entries"].append(
                    cast(StatusEntryResult, {**shown, "set": None, "verified": False})
                )
                continue
            fails = is_set and purpose in _FAILING_PURPOSES
            if is_set and reason:
                # The issuer's reason, from the same row of this service's records as the bit
                # itself (never from the presented document): README, "Status reasons".
                shown["reason"] = reason
            result["entries"].append(
                cast(StatusEntryResult, {**shown, "set": is_set, "verified": not fails})
            )
            if not is_set:
                continue
            because = f" (the issuer's reason: {reason})" if reason else ""
            if purpose == "revocation":
                result["revoked"] = True
                report.errors.append(
                    problem(
                        CREDENTIAL_REVOKED, "the credential has been revoked" + because, pointer
                    )
                )
            elif purpose == "suspension":
                result["suspended"] = True
                report.errors.append(
                    problem(CREDENTIAL_SUSPENDED, "the credential is suspended" + because, pointer)
                )
            else:
                report.warnings.append(
                    problem(CREDENTIAL_STATUS_SET, f"the {purpose!r} status is set", pointer)
                )
        result["verified"] = all(e["verified"] for e in result["entries"])
        return result

    async def _our_bit(
        self, list_url: str, index: int, purpose: str, issuer: str | None
    ) -> tuple[bool, str | None]:
        """A status bit of one of our lists, read from the database (no list credential needed),
        and the issuer's reason for its last change."""
        list_id = list_url[len(self._our_lists) :]
        async with self._sessionmaker() as session:
            status_list = await session.get(StatusList, list_id) if list_id else None
            if status_list is None:
                raise StatusRetrievalError(f"{list_url} is not a status list of this service")
            if status_list.purpose != purpose:
                raise StatusVerificationError(
                    f"statusPurpose {purpose!r} is not the purpose of {list_url}"
                )
            if index >= status_list.size:
                raise StatusRangeError(
                    f"index {index} is outside a list of {status_list.size} entries"
                )
            owner = await session.get(Issuer, status_list.issuer_id)
            if owner is None or owner.did != issuer:
                raise StatusVerificationError(
                    f"{list_url} is the status list of another issuer than the credential's"
                )
            entry = await session.get(StatusEntry, (list_id, index))
            if entry is None:
                return False, None
            return entry.is_set, entry.reason

    async def _remote_list(self, run: Run, url: str, issuer: str | None) -> dict[str, Any]:
        """Fetch a status list credential (once per request) and verify its proof and issuer."""
        if url not in run.status_lists:
            try:
                run.status_lists[url] = await self._fetch_list(run, url, issuer)
            except StatusListError as exc:
                run.status_lists[url] = exc
        listed = run.status_lists[url]
        if isinstance(listed, StatusListError):
            raise type(listed)(listed.detail)
        return listed

    async def _fetch_list(self, run: Run, url: str, issuer: str | None) -> dict[str, Any]:
        if not (url.startswith("https://") or (self._allow_private and url.startswith("http://"))):
            raise StatusRetrievalError(f"{url!r} is not an https URL")
        try:
            run.count_fetch(url)
            document = await fetch_json(
                self._client,
                url,
                max_bytes=self._max_bytes,
                timeout=self._timeout,
                allow_private=self._allow_private,
            )
        except RemoteFetchError as exc:
            raise StatusRetrievalError(f"cannot retrieve {url}: {exc.detail}") from exc
        if not isinstance(document, dict):
            raise StatusVerificationError(f"{url} is not a status list credential")
        try:
            self._form.check(document)
        except JsonLdProcessingError as exc:
            raise StatusVerificationError(f"{url} is not in its one JSON reading: {exc}") from exc
        await self._controllers.resolve(run, controller_dids([document]))
        proofs = await self._offload.run(
            partial(verify_proofs, self._di, run, document, purpose=ASSERTION)
        )
        if not proofs.verified:
            reasons = "; ".join(error.detail for error in proofs.errors)
            raise StatusVerificationError(f"the proof of {url} does not verify: {reasons}")
        list_issuer = issuer_id(document)
        if list_issuer != issuer:
            raise StatusVerificationError(
                f"{url} is issued by {list_issuer!r}, not by the credential's issuer"
            )
        if list_issuer is not None and list_issuer.startswith("did:"):
            if list_issuer not in controllers_of(proofs):
                raise StatusVerificationError(f"{url} is not signed by its issuer's key")
        return document
