"""The front door and the verify page: thin routes over the services the API uses.

``GET /`` says what the service is and who issues here; ``GET /verify`` is a form (a file or
pasted JSON, no JavaScript) and ``POST /verify`` answers with the verdict, each check in plain
words and the credential as a person reads it, in the viewer's language (``Accept-Language``).
The verification is the one ``POST /credentials/verify`` runs (the service's one verifier).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.datastructures import UploadFile

from app.api.deps import ServicesDep, SessionDep, VerifierDep
from app.credentials import pdf_attachment
from app.db.models import utcnow
from app.limits import i_json_problem, parse_json_document
from app.observability import CREDENTIALS_VERIFIED
from app.problems import ParsingError
from app.resources import package_path
from app.services import issuance, sharing
from app.services import issuers as issuer_service
from app.services.verification import NotACredential
from app.services.verification.results import Verification
from app.web import branding, reading
from app.web.i18n import messages, negotiate

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STATIC_DIR = package_path("web", "static")
STYLESHEET = "/static/site.css"
#: No script, no frame, nothing from another host; forms post to this origin only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)

templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(package_path("web", "templates")),
        autoescape=True,
        undefined=StrictUndefined,
    )
)
router = APIRouter(include_in_schema=False)


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """``template`` in the viewer's language, with the pages' security headers."""
    language = negotiate(request.headers.get("accept-language"))
    response: HTMLResponse = templates.TemplateResponse(
        request,
        template,
        {
            "lang": language,
            "t": messages(language),
            "stylesheet": STYLESHEET,
            "brand": None,
            **values,
        },
        status_code=status,
    )
    response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY
    response.headers["x-content-type-options"] = "nosniff"
    response.headers["referrer-policy"] = "no-referrer"
    response.headers["vary"] = "Accept-Language"
    return response


@router.get("/", response_class=HTMLResponse)
async def front_page(request: Request, session: SessionDep) -> HTMLResponse:
    language = negotiate(request.headers.get("accept-language"))
    issuers = [
        reading.text_in(issuer.name, language) or issuer.slug
        for issuer in await issuer_service.list_issuers(session)
    ]
    return page(request, "index.html", issuers=issuers)


@router.get("/verify", response_class=HTMLResponse)
async def verify_form(request: Request) -> HTMLResponse:
    return page(request, "verify.html")


@router.post("/verify", response_class=HTMLResponse)
async def verify_submitted(request: Request, verifier: VerifierDep) -> HTMLResponse:
    text: bytes | str = b""
    async with request.form(max_files=1, max_fields=4) as form:
        upload, pasted = form.get("file"), form.get("json")
        if isinstance(upload, UploadFile):
            text = await upload.read(pdf_attachment.MAX_PDF_BYTES + 1)
        if not text.strip() and isinstance(pasted, str):
            text = pasted
    try:
        if isinstance(text, bytes) and text.startswith(b"%PDF-"):
            # The certificate's PDF: its attached credential.json is what is verified.
            text = await asyncio.to_thread(pdf_attachment.attached_credential, text)
        credential = parse_json_document(text)
        not_i_json = i_json_problem(credential)
        if not_i_json is not None:
            raise ParsingError(not_i_json)
        if not isinstance(credential, dict):
            raise ValueError("not a JSON object")
        result = await verifier.verify_credential(credential, now=utcnow())
    except (ValueError, ParsingError, NotACredential) as exc:
        return page(request, "verify.html", status=400, unreadable=str(exc))
    CREDENTIALS_VERIFIED.labels("credential", str(result.verified).lower()).inc()
    language = negotiate(request.headers.get("accept-language"))
    return page(
        request,
        "verify.html",
        status=200 if result.verified else 422,
        **verdict(result, credential, language),
    )


def verdict(result: Verification, credential: Mapping[str, Any], language: str) -> dict[str, Any]:
    """What the result part of a page shows: issuer trust first, the verdict, each check and
    each reason in plain words, the credential as a person reads it."""
    return {
        "result": result,
        "trust": reading.trust(result),
        "checks": reading.checks(result),
        "reasons": reading.reasons(result, messages(language)),
        "summary": reading.summary(credential, language),
    }


@router.get("/v/{credential_uuid}", response_class=HTMLResponse)
async def public_page(
    request: Request, credential_uuid: str, services: ServicesDep
) -> HTMLResponse:
    """A credential's public page (its certificate's QR code): what the certificate shows and
    its status now; never indexed. The credential is read in a short session of its own, ended
    before the verification (which reads the status lists in its own sessions)."""
    found = brand = None
    if _UUID.fullmatch(credential_uuid):
        async with services.sessionmaker() as session:
            found = await issuance.public_credential(session, credential_uuid)
            if found is not None and not await sharing.public_page_enabled(session, found):
                found = None  # switched off by its issuer: as if there were none
            if found is not None:
                brand = await branding.brand_of(session, found.issuer_id)
    if found is None:
        response = page(request, "not_found.html", status=404)
    else:
        language = negotiate(request.headers.get("accept-language"))
        result = await services.verifier.verify_credential(found.document, now=utcnow())
        response = page(
            request,
            "public.html",
            brand=brand,
            page_image=reading.page_image(found.document, language),
            **verdict(result, found.document, language),
        )
    response.headers["x-robots-tag"] = "noindex, nofollow"
    response.headers["cache-control"] = "no-store"
    return response


@router.get("/static/site.css")
async def stylesheet() -> Response:
    return Response(
        (STATIC_DIR / "site.css").read_bytes(),
        media_type="text/css",
        headers={"cache-control": "public, max-age=3600"},
    )
