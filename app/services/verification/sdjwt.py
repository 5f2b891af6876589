"""Verifying SD-JWT VC presentations (``dc+sd-jwt``): issuer signature, disclosures, key binding,
validity and Token Status List status.

The issuer's key is the ``kid`` of the issuer-signed JWT, a DID URL whose DID is ``iss``,
resolved like a Data Integrity verification method (:mod:`.controllers`: our issuers from the
database, ``did:key`` offline, ``did:web`` over the guarded fetch). A credential with ``cnf``
must come with a key-binding JWT for the verifier's ``options.domain`` (audience) and
``options.challenge`` (nonce); our own single-use challenge is consumed once the KB-JWT is shown
to carry it. Status is read from the database for our token lists, else the list token is
fetched and its signature checked against the same issuer.

The reply's ``credential`` holds only the claims the holder disclosed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.crypto import jws
from app.crypto.dataintegrity import VerifyResult
from app.crypto.errors import InvalidVerificationMethodError
from app.crypto.keys import PublicKey
from app.db.models import Issuer, StatusEntry, StatusList
from app.net import RemoteFetchError, fetch_bytes
from app.problems import (
    CREDENTIAL_EXPIRED,
    CREDENTIAL_NOT_YET_VALID,
    CREDENTIAL_REVOKED,
    CREDENTIAL_SUSPENDED,
    SD_JWT_PROBLEMS,
    TOKEN_STATUS_LIST_ERROR,
    ProblemDetails,
)
from app.sdjwt import core
from app.services.verification.challenge import check_challenge
from app.services.verification.controllers import Controllers, Run, controller_did, method_resolver
from app.services.verification.results import (
    NotACredential,
    Verification,
    problem,
)
from app.services.verification.trust import TrustCheck
from app.status import tokenstatus

SD_JWT_TYPES = ("dc+sd-jwt", "vc+sd-jwt")
STATUS_ERROR = TOKEN_STATUS_LIST_ERROR
_TITLES = {
    core.MalformedSdJwt.code: "Malformed SD-JWT",
    core.InvalidIssuerSignature.code: "Issuer signature invalid",
    core.InvalidDisclosure.code: "Disclosure invalid",
    core.InvalidKeyBinding.code: "Key binding invalid",
}


def _named(error: core.SdJwtError, pointer: str = "") -> ProblemDetails:
    return ProblemDetails(
        SD_JWT_PROBLEMS[error.code], _TITLES[error.code], detail=str(error), pointer=pointer
    )


def _status_problem(detail: str) -> ProblemDetails:
    return ProblemDetails(STATUS_ERROR, "Token status list unusable", detail=detail, pointer="")


def _moment(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
        except (OverflowError, ValueError, OSError):  # beyond the years datetime holds
            return None
    return None


class SdJwtVerifier:
    """Verifies SD-JWT VC presentations; one per process, beside the JSON-LD verifier."""

    def __init__(
        self,
        *,
        controllers: Controllers,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: httpx.AsyncClient,
        public_url: str,
        allow_private_network: bool,
        http_timeout: float,
        http_max_bytes: int,
        trust: TrustCheck,
    ) -> None:
        self._controllers = controllers
        self._trust = trust
        self._sessionmaker = sessionmaker
        self._client = client
        self._our_lists = f"{public_url}/token-status-lists/"
        self._allow_private = allow_private_network
        self._timeout = http_timeout
        self._max_bytes = http_max_bytes

    async def _issuer_key(self, run: Run, kid: Any, iss: Any) -> tuple[PublicKey, str]:
        if not isinstance(kid, str) or "#" not in kid or not kid.startswith("did:"):
            raise core.InvalidIssuerSignature("the issuer JWT's kid is not a DID URL")
        did = controller_did(kid)
        if did != iss:
            raise core.InvalidIssuerSignature(f"kid {kid} is not a key of the issuer {iss!r}")
        await self._controllers.resolve(run, [did])
        try:
            method = method_resolver(run)(kid, "assertionMethod")
        except InvalidVerificationMethodError as exc:
            raise core.InvalidIssuerSignature(f"the issuer key cannot be used: {exc}") from exc
        return method.public_key, run.controllers[did].source

    async def verify(
        self,
        presentation: str,
        *,
        audience: str | None,
        nonce: str | None,
        now: datetime,
        trust_required: bool | None = None,
    ) -> tuple[Verification, dict[str, Any] | None]:
        """The report and the disclosed claims (None when they cannot be trusted).

        ``results.issuerTrust`` is asked only of a signature that verified, about the ``iss``
        it covers; the name compared with the registered one is the signed ``issuer_name``."""
        try:
            parsed = core.parse(presentation)
            header, unverified = core.unverified_issuer_part(parsed)
        except core.SdJwtError as exc:
            raise NotACredential(f"not an SD-JWT: {exc}") from exc
        report = Verification()
        results = report.results
        results["form"] = {"verified": None}
        kid, iss = header.get("kid"), unverified.get("iss")
        proof: dict[str, Any] = {
            "type": "SD-JWT",
            "verificationMethod": kid,
            "controller": controller_did(kid) if isinstance(kid, str) else None,
            "verified": False,
        }
        results["proof"] = {
            "verified": False,
            "proofs": [proof],
            "issuer": {
                "id": iss if isinstance(iss, str) else None,
                "controllers": [],
                "matches": None,
            },
        }
        sd_result: dict[str, Any] = {
            "vct": unverified.get("vct"),
            "disclosed": [],
            "disclosures": {"verified": False},
            "keyBinding": {"verified": None, "bound": "cnf" in unverified},
        }
        results["sdJwt"] = sd_result
        if header.get("typ") not in SD_JWT_TYPES:
            error = core.MalformedSdJwt(f"typ {header.get('typ')!r} is not dc+sd-jwt")
            report.errors.append(_named(error))
            return report, None
        run = Run(now)
        try:
            key, source = await self._issuer_key(run, kid, iss)
            proof["resolvedFrom"] = source
            payload = core.check_issuer_signature(parsed, key)
        except core.SdJwtError as exc:
            report.errors.append(_named(exc))
            return report, None
        proof["verified"] = True
        results["proof"].update(verified=True)
        results["proof"]["issuer"].update(controllers=[proof["controller"]], matches=True)
        try:
            claims = core.disclosed_claims(payload, parsed.disclosures)
        except core.SdJwtError as exc:
            report.errors.append(_named(exc))
            return report, None
        sd_result["disclosures"]["verified"] = True
        sd_result["disclosed"] = sorted(
            {d.name for d in map(core.Disclosure.decode, parsed.disclosures) if d.name}
        )
        await self._key_binding(parsed, claims, audience, nonce, now, report)
        self._validity(claims, now, report)
        results["credentialStatus"] = await self._status(run, claims, report)
        shown = {"issuer": {"id": iss, "name": claims.get("issuer_name")}}
        results["issuerTrust"] = await self._trust.check(
            run, shown, iss, report, required=trust_required
        )
        return report, claims

    async def _key_binding(
        self,
        parsed: core.Parsed,
        claims: Mapping[str, Any],
        audience: str | None,
        nonce: str | None,
        now: datetime,
        report: Verification,
    ) -> None:
        result = report.results["sdJwt"]["keyBinding"]
        try:
            holder = core.holder_key_of(claims)
            if holder is None:
                if parsed.kb_jwt is not None:
                    raise core.InvalidKeyBinding("a key-binding JWT, but the SD-JWT has no cnf")
                return
            if audience is None or nonce is None:
                raise core.InvalidKeyBinding(
                    "a holder-bound SD-JWT needs options.domain (the KB-JWT's aud) and "
                    "options.challenge (its nonce)"
                )
            policy = core.KeyBindingPolicy(audience=audience, nonce=nonce, now=now)
            core.check_key_binding(parsed, holder, policy)
        except core.SdJwtError as exc:
            result["verified"] = False
            report.errors.append(_named(exc))
            return
        result["verified"] = True
        # Our single-use challenge is spent the way a Data Integrity presentation's is (the
        # KB-JWT has been shown to carry it).
        checked = await check_challenge(
            self._sessionmaker, nonce, VerifyResult(verified=True), now, report
        )
        result["verified"] = checked["verified"] is not False

    def _validity(self, claims: Mapping[str, Any], now: datetime, report: Verification) -> None:
        stamp = now.timestamp()
        nbf, exp = claims.get("nbf"), claims.get("exp")
        not_before = nbf is not None and _moment(nbf) is not None and stamp < nbf
        report.results["validFrom"] = {
            "verified": None if nbf is None else not not_before,
            "value": _moment(nbf),
        }
        expired = exp is not None and _moment(exp) is not None and stamp >= exp
        report.results["validUntil"] = {
            "verified": None if exp is None else not expired,
            "value": _moment(exp),
        }
        for name, value in (("nbf", nbf), ("exp", exp)):
            if value is not None and _moment(value) is None:
                report.errors.append(_named(core.MalformedSdJwt(f"{name} is not a NumericDate")))
        if not_before:
            report.errors.append(problem(CREDENTIAL_NOT_YET_VALID, "nbf is in the future"))
        if expired:
            report.errors.append(problem(CREDENTIAL_EXPIRED, "the credential has expired (exp)"))

    async def _status(
        self, run: Run, claims: Mapping[str, Any], report: Verification
    ) -> dict[str, Any]:
        result: dict[str, Any] = {
            "verified": None,
            "revoked": False,
            "suspended": False,
            "entries": [],
        }
        if "status" not in claims:
            return result
        shown: dict[str, Any] = {"statusPurpose": "token-status-list"}
        try:
            uri, index = tokenstatus.parse_reference(claims["status"])
            shown.update(statusListIndex=index, statusListCredential=uri)
            if uri.startswith(self._our_lists):
                shown["source"] = "database"
                value = await self._our_status(uri, index, claims.get("iss"))
            else:
                shown["source"] = "remote"
                value = await self._remote_status(run, uri, index, claims.get("iss"))
        except (tokenstatus.TokenStatusError, RemoteFetchError, jws.JwsError) as exc:
            report.errors.append(_status_problem(str(exc)))
            result["verified"] = False
            result["entries"].append({**shown, "set": None, "verified": False})
            return result
        result["entries"].append({**shown, "set": value != 0, "verified": value == 0})
        result["verified"] = value == 0
        if value == tokenstatus.INVALID:
            result["revoked"] = True
            report.errors.append(problem(CREDENTIAL_REVOKED, "the credential has been revoked"))
        elif value == tokenstatus.SUSPENDED:
            result["suspended"] = True
            report.errors.append(problem(CREDENTIAL_SUSPENDED, "the credential is suspended"))
        elif value != tokenstatus.VALID:
            report.errors.append(_status_problem(f"status value {value} is not valid"))
        return result

    async def _our_status(self, uri: str, index: int, issuer: Any) -> int:
        list_id = uri[len(self._our_lists) :]
        async with self._sessionmaker() as session:
            status_list = await session.get(StatusList, list_id) if list_id else None
            if status_list is None or status_list.kind != "token":
                raise tokenstatus.TokenStatusError(f"{uri} is not a token status list here")
            if index >= status_list.size:
                raise tokenstatus.TokenStatusError(f"idx {index} is outside the list")
            owner = await session.get(Issuer, status_list.issuer_id)
            if owner is None or owner.did != issuer:
                raise tokenstatus.TokenStatusError(f"{uri} is another issuer's status list")
            entry = await session.get(StatusEntry, (list_id, index))
        if entry is None:
            return tokenstatus.VALID
        if entry.is_set:
            return tokenstatus.INVALID
        return tokenstatus.SUSPENDED if entry.suspended else tokenstatus.VALID

    async def _remote_status(self, run: Run, uri: str, index: int, issuer: Any) -> int:
        if not (uri.startswith("https://") or (self._allow_private and uri.startswith("http://"))):
            raise tokenstatus.TokenStatusError(f"{uri!r} is not an https URL")
        run.count_fetch(uri)
        body = await fetch_bytes(
            self._client,
            uri,
            max_bytes=self._max_bytes,
            timeout=self._timeout,
            allow_private=self._allow_private,
            accept=tokenstatus.MEDIA_TYPE,
        )
        token = body.decode("ascii", errors="replace").strip()
        header, _ = jws.unverified(token)
        if header.get("typ") != tokenstatus.TOKEN_TYPE:
            raise tokenstatus.TokenStatusError("the status list token's typ is not statuslist+jwt")
        try:
            key, _ = await self._issuer_key(run, header.get("kid"), issuer)
        except core.SdJwtError as exc:
            raise tokenstatus.TokenStatusError(f"status list token: {exc}") from exc
        _, payload = jws.verify(token, key)
        claims = jws.json_object(payload, "status list token")
        if claims.get("sub") != uri:
            raise tokenstatus.TokenStatusError("the status list token's sub is not its URI")
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp <= run.now.timestamp():
            raise tokenstatus.TokenStatusError("the status list token has expired")
        return tokenstatus.TokenStatusList.decode(claims.get("status_list")).get(index)
