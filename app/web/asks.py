"""The public page of a presentation request (``/ask/{id}``, the id is random and unguessable):
the QR code for the wallet, then the verdict with each check in plain words.

The page's one script (``/static/ask.js``, same origin, allowed by the page's
Content-Security-Policy) polls ``/ask/{id}/state`` and redraws; without script the page shows
the state it was served with.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from app.api.deps import ServicesDep, SessionDep, SettingsDep
from app.api.schemas.presentations import PresentationPageStateReply
from app.db.models import Issuer, PresentationRequest, utcnow
from app.sdjwt.microcredential import vct_url
from app.services import dcql, oid4vp
from app.services import issuers as issuer_service
from app.services.oid4vci import qr_png
from app.web import reading
from app.web.i18n import messages, negotiate
from app.web.pages import STATIC_DIR, page

router = APIRouter(include_in_schema=False)
#: The pages' policy, with this page's script and its polling (same origin only).
ASK_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PRIVATE = {"cache-control": "no-store", "x-robots-tag": "noindex, nofollow"}


async def _found(
    services: ServicesDep, request_id: str
) -> tuple[PresentationRequest, str | None] | None:
    """The request and the name of the organisation asking (None: the verify page asks)."""
    async with services.sessionmaker() as session:
        row = await oid4vp.public(session, request_id)
        if row is None:
            return None
        if row.issuer_id is None:
            return row, None
        issuer = await session.get(Issuer, row.issuer_id)
        name = reading.text_in(issuer.name, "en") if issuer else None
        return row, name or (issuer.slug if issuer else None)


def _verdict(row: PresentationRequest) -> bool:
    return bool(row.result and row.result.get("verified") is True)


def _worded(row: PresentationRequest, language: str) -> list[dict[str, str]]:
    """Each check with its words in ``language``."""
    t = messages(language)
    return [
        {**check, "text": t["ask_check_" + check["key"]], "stateText": t[check["state"]]}
        for check in oid4vp.plain_checks(row.result)
    ]


@router.get("/ask/{request_id}", response_class=HTMLResponse)
async def ask_page(
    request: Request, request_id: str, services: ServicesDep, settings: SettingsDep
) -> Response:
    found = await _found(services, request_id)
    if found is None:
        return page(request, "not_found.html", status=404)
    row, verifier = found
    urls = oid4vp.urls_of(settings)
    state = oid4vp.state_of(row, utcnow())
    language = negotiate(request.headers.get("accept-language"))
    t = messages(language)
    response = page(
        request,
        "ask.html",
        verifier=verifier or t["ask_public_verifier"],
        purpose=row.purpose if row.issuer_id is not None else t["ask_public_purpose"],
        state=state,
        verified=_verdict(row),
        checks=_worded(row, language) if state == oid4vp.ANSWERED else [],
        deep_link=oid4vp.deep_link(row, urls),
        qr_url=f"/ask/{row.id}/qr.png",
        state_url=f"/ask/{row.id}/state",
    )
    response.headers["content-security-policy"] = ASK_POLICY
    response.headers.update(PRIVATE)
    return response


@router.get("/ask/{request_id}/qr.png")
async def ask_qr(request_id: str, services: ServicesDep, settings: SettingsDep) -> Response:
    """The QR code of the request's deep link, as a PNG (no image from elsewhere)."""
    found = await _found(services, request_id)
    if found is None:
        return Response(status_code=404)
    link = oid4vp.deep_link(found[0], oid4vp.urls_of(settings))
    return Response(qr_png(link), media_type="image/png", headers=PRIVATE)


@router.get("/ask/{request_id}/state")
async def ask_state(request: Request, request_id: str, services: ServicesDep) -> Response:
    """The request's state and, once answered, the verdict and each check in plain words (no
    credential data: the page is public to whoever holds the link)."""
    found = await _found(services, request_id)
    if found is None:
        return JSONResponse({"state": None}, status_code=404, headers=PRIVATE)
    row = found[0]
    state = oid4vp.state_of(row, utcnow())
    answered = state == oid4vp.ANSWERED
    language = negotiate(request.headers.get("accept-language"))
    t = messages(language)
    body = PresentationPageStateReply.model_validate(
        {
            "state": state,
            "verified": _verdict(row) if answered else None,
            "verdictText": (t["ask_verified"] if _verdict(row) else t["ask_refused"])
            if answered
            else None,
            "checks": _worded(row, language) if answered else [],
        }
    )
    return JSONResponse(
        body.model_dump(mode="json"), headers={**PRIVATE, "vary": "Accept-Language"}
    )


@router.get("/static/ask.js")
async def ask_script() -> Response:
    return Response(
        (STATIC_DIR / "ask.js").read_bytes(),
        media_type="text/javascript",
        headers={"cache-control": "public, max-age=3600"},
    )


@router.post("/verify/ask")
async def ask_from_the_verify_page(
    request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """A single check from the public verify page: a request by value under the
    ``redirect_uri:`` client identifier (this page signs nothing), then its page."""
    async with request.form(max_files=0, max_fields=4) as form:
        course, wanted = form.get("course"), form.get("format")
    course = course.strip()[:300] if isinstance(course, str) and course.strip() else None
    format = wanted if wanted in dcql.FORMATS else dcql.LDP_VC
    urls = oid4vp.urls_of(settings)
    issuers_here = [issuer.slug for issuer in await issuer_service.list_issuers(session)]
    vcts = [vct_url(urls.public_url, slug) for slug in issuers_here[:50]]
    row = await oid4vp.create(
        session,
        None,
        dcql_query=dcql.build(format, vct_values=vcts, claims=None, eqf_level=None),
        constraints={"course": course} if course else {},
        purpose="verify page",
        callback=None,
        ttl=timedelta(seconds=settings.presentation_request_ttl_seconds),
        now=utcnow(),
        urls=urls,
    )
    return RedirectResponse(f"/ask/{row.id}", status_code=303)
