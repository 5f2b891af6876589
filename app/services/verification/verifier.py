"""The verifier: composes the checks of this package over one credential or presentation.

A credential is first taken in its one JSON reading (:func:`datamodel.check_form`); only then
do the data model, proofs and issuer, validity period, status, schema and EU profile checks run,
each adding its result and problems to one :class:`Verification`. A presentation's proof must
serve ``authentication``, carry the expected challenge and domain and be made by the holder;
each embedded credential is then verified as above.

Work is bounded: at most ``MAX_PROOFS`` proofs per document, :data:`MAX_CREDENTIALS`
credentials per presentation, ``MAX_STATUS_ENTRIES`` status entries per credential and
``MAX_REMOTE_FETCHES`` documents fetched per request. Database reads use short sessions of
their own, so no transaction stays open while a remote server is waited for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.credentials.stack import read_parts
from app.credentials.vcapi import issuer_id
from app.crypto.dataintegrity import DataIntegrity, ProofResult
from app.did.web import DidWebResolver
from app.jsonld import OfflineDocumentLoader
from app.jsonld.form import PinnedForm
from app.jsonld.values import as_list
from app.problems import PARSING_ERROR, RANGE_ERROR
from app.services.offload import Offload, WorkerSpec, offload_for
from app.services.verification.challenge import check_challenge
from app.services.verification.controllers import Controllers, Run, controller_dids
from app.services.verification.datamodel import (
    check_data_model,
    check_form,
    check_presentation_data_model,
    ensure_credential,
    ensure_presentation,
)
from app.services.verification.parts import HeldParts, PartsBudget, check_parts
from app.services.verification.profile import (
    check_eu_profile,
    check_schema,
    edc_shapes,
    schemas_to_check,
)
from app.services.verification.proofs import (
    ASSERTION,
    AUTHENTICATION,
    check_awarding_bodies,
    check_holder,
    check_issuer,
    proof_results,
    verify_proofs,
)
from app.services.verification.results import (
    NotACredential,
    PresentationVerification,
    Verification,
    problem,
)
from app.services.verification.sdjwt import SdJwtVerifier
from app.services.verification.status import StatusCheck
from app.services.verification.trust import OwnList, TrustCheck, TrustSource, registry_source
from app.services.verification.validity import check_validity

MAX_CREDENTIALS = 50


class Verifier:
    """Verifies credentials and presentations; one per process (it owns the did:web cache)."""

    def __init__(
        self,
        *,
        data_integrity: DataIntegrity,
        loader: OfflineDocumentLoader,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: httpx.AsyncClient,
        did_web: DidWebResolver,
        public_url: str,
        allow_private_network: bool,
        http_timeout: float,
        http_max_bytes: int,
        form: PinnedForm | None = None,
        trust_registries: Sequence[TrustSource] = (),
        trust_required: bool = False,
        offload: Offload | None = None,
    ) -> None:
        self._di = data_integrity
        self._loader = loader
        self._offload = offload or Offload(WorkerSpec(str(loader.directory)), workers=0)
        self._form = form or PinnedForm(loader)
        self._sessionmaker = sessionmaker
        self._controllers = Controllers(sessionmaker, did_web, public_url)
        self._status = StatusCheck(
            data_integrity=data_integrity,
            form=self._form,
            controllers=self._controllers,
            sessionmaker=sessionmaker,
            client=client,
            public_url=public_url,
            allow_private_network=allow_private_network,
            http_timeout=http_timeout,
            http_max_bytes=http_max_bytes,
            offload=self._offload,
        )
        self._trust = TrustCheck(
            [OwnList(sessionmaker), *trust_registries], required=trust_required
        )
        self.sd_jwt = SdJwtVerifier(
            controllers=self._controllers,
            sessionmaker=sessionmaker,
            client=client,
            public_url=public_url,
            allow_private_network=allow_private_network,
            http_timeout=http_timeout,
            http_max_bytes=http_max_bytes,
            trust=self._trust,
        )
        self._held = HeldParts(sessionmaker)

    async def verify_credential(
        self,
        credential: Mapping[str, Any],
        *,
        challenge: str | None = None,
        domain: str | None = None,
        now: datetime,
        trust_required: bool | None = None,
    ) -> Verification:
        """Verify one credential (raises :class:`NotACredential` only for non-credentials).

        ``trust_required`` (None: the deployment's default) makes an issuer nobody vouches for
        an error rather than a warning."""
        ensure_credential(credential)
        report = await self._offload.run(partial(check_form, self._form, credential))
        if not report.verified:
            return report
        run = Run(now)
        await self._controllers.resolve(run, controller_dids([credential]))
        return await self._credential(
            run, credential, report, challenge=challenge, domain=domain, trust=trust_required
        )

    async def verify_proof_of(
        self, draft: Mapping[str, Any], proof: Mapping[str, Any], *, now: datetime
    ) -> ProofResult:
        """One proof made over ``draft`` on its own (a joint credential's awarding body's,
        made elsewhere): its method resolved as every proof's is (database, did:key, did:web)."""
        document = {**draft, "proof": dict(proof)}
        run = Run(now)
        await self._controllers.resolve(run, controller_dids([document]))
        result = await self._offload.run(
            partial(verify_proofs, self._di, run, document, purpose=ASSERTION)
        )
        return result.proofs[0]

    async def _credential(
        self,
        run: Run,
        credential: Mapping[str, Any],
        report: Verification,
        *,
        challenge: str | None = None,
        domain: str | None = None,
        trust: bool | None = None,
        budget: PartsBudget | None = None,
        depth: int = 0,
    ) -> Verification:
        version = check_data_model(credential, report, self._loader.contents)
        issuer = issuer_id(credential)
        proofs = await self._offload.run(
            partial(
                verify_proofs,
                self._di,
                run,
                credential,
                purpose=ASSERTION,
                challenge=challenge,
                domain=domain,
            )
        )
        report.results["proof"] = proof_results(run, credential, proofs, report)
        report.results["proof"]["issuer"] = check_issuer(issuer, proofs, report)
        joint = check_awarding_bodies(credential, proofs, report)
        if joint is not None:
            report.results["awardingBodies"] = joint
        valid_from, valid_until = check_validity(credential, version, run.now, report)
        report.results["validFrom"] = valid_from
        report.results["validUntil"] = valid_until
        report.results["credentialStatus"] = await self._status.check(
            run, credential, issuer, report
        )
        wanted = schemas_to_check(credential)
        shacl = (
            await self._offload.run(
                partial(edc_shapes, credential, self._loader, self._di.canonicalizer)
            )
            if wanted.edc
            else None
        )
        report.results["credentialSchema"] = check_schema(wanted, shacl, report)
        report.results["euMicroCredential"] = check_eu_profile(credential, report)
        report.results["issuerTrust"] = await self._trust.check(
            run, credential, issuer, report, required=trust
        )
        refs = read_parts(credential)
        if refs:
            budget = budget or PartsBudget()

            async def verify_part(part: Mapping[str, Any]) -> Verification:
                return await self._part(run, part, trust, budget, depth + 1)

            report.results["parts"] = await check_parts(
                refs, report, self._held, verify_part, budget, depth
            )
        return report

    async def _part(
        self,
        run: Run,
        part: Mapping[str, Any],
        trust: bool | None,
        budget: PartsBudget,
        depth: int,
    ) -> Verification:
        """A part of a stack this service holds, verified as a credential of its own."""
        report = await self._offload.run(partial(check_form, self._form, part))
        if not report.verified:
            return report
        await self._controllers.resolve(run, controller_dids([part]))
        return await self._credential(run, part, report, trust=trust, budget=budget, depth=depth)

    async def verify_presentation(
        self,
        presentation: Mapping[str, Any],
        *,
        challenge: str | None,
        domain: str | None,
        now: datetime,
        trust_required: bool | None = None,
    ) -> PresentationVerification:
        """Verify the presentation's proof and holder, then every credential it carries."""
        ensure_presentation(presentation)
        report = await self._offload.run(partial(check_form, self._form, presentation))
        if not report.verified:
            return PresentationVerification(report, [])
        run = Run(now)
        items = as_list(presentation.get("verifiableCredential"))
        if len(items) > MAX_CREDENTIALS:
            report.errors.append(
                problem(
                    RANGE_ERROR,
                    f"{len(items)} credentials; at most {MAX_CREDENTIALS} are verified",
                    "/verifiableCredential",
                )
            )
            return PresentationVerification(report, [])
        check_presentation_data_model(presentation, report)
        signed = [presentation, *(item for item in items if isinstance(item, Mapping))]
        await self._controllers.resolve(run, controller_dids(signed))
        proofs = await self._offload.run(
            partial(
                verify_proofs,
                self._di,
                run,
                presentation,
                purpose=AUTHENTICATION,
                challenge=challenge,
                domain=domain,
            )
        )
        report.results["proof"] = proof_results(run, presentation, proofs, report)
        report.results["holder"] = check_holder(presentation, proofs, report)
        report.results["challenge"] = await check_challenge(
            self._sessionmaker, challenge, proofs, run.now, report
        )
        credentials = []
        for item in items:
            try:
                credential = ensure_credential(item)
            except NotACredential as exc:
                failed = Verification()
                failed.errors.append(problem(PARSING_ERROR, exc.detail or exc.title))
                credentials.append(failed)
                continue
            checked = Verification(results={"form": {"verified": True}})  # with the presentation
            credentials.append(
                await self._credential(run, credential, checked, trust=trust_required)
            )
        listed = isinstance(presentation.get("verifiableCredential"), list)
        return PresentationVerification(report, credentials, listed)


def build_verifier(
    settings: Settings,
    *,
    data_integrity: DataIntegrity,
    loader: OfflineDocumentLoader,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    form: PinnedForm | None = None,
    offload: Offload | None = None,
) -> Verifier:
    did_web = DidWebResolver(
        client,
        max_bytes=settings.http_max_bytes,
        timeout=settings.http_timeout_seconds,
        allow_private=settings.allow_private_network,
        cache_ttl=settings.did_web_cache_seconds,
        scheme=settings.did_web_scheme,
    )
    return Verifier(
        data_integrity=data_integrity,
        loader=loader,
        sessionmaker=sessionmaker,
        client=client,
        did_web=did_web,
        public_url=settings.public_url,
        allow_private_network=settings.allow_private_network,
        http_timeout=settings.http_timeout_seconds,
        http_max_bytes=settings.http_max_bytes,
        form=form,
        trust_registries=[
            registry_source(
                config,
                client,
                allow_private=settings.allow_private_network,
                timeout=settings.http_timeout_seconds,
                max_bytes=settings.http_max_bytes,
            )
            for config in settings.trust_registries
        ],
        trust_required=settings.trust_required,
        offload=offload or offload_for(settings),
    )


def challenge_ttl(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.challenge_ttl_seconds)
