"""The public catalogue: ``GET /catalogue``, ``/catalogue/{slug}`` and one course version,
``/catalogue/{slug}/courses/{id}/{v}`` (the page its credentials link to).

``Accept: application/ld+json`` answers JSON-LD (ELM learning opportunities,
:mod:`app.credentials.catalogue`); anything else the HTML page, whose filters (EQF level, ECTS,
language, mode, subject) are query parameters of a plain GET form, so they work without
JavaScript. Both read the same filtered list from :mod:`app.services.catalogue`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from app import jsontext
from app.api.deps import SessionDep, services_of
from app.credentials.catalogue import catalogue, catalogue_entry
from app.credentials.fieldtypes import MAX_ECTS
from app.credentials.microcredential import format_decimal
from app.credentials.vocabularies import UnknownConceptError, vocabularies
from app.problems import MalformedValue, NotFound
from app.services import catalogue as catalogue_service
from app.services.issuance import Issuing, issuer_profile
from app.web.i18n import negotiate
from app.web.pages import page
from app.web.reading import text_in

router = APIRouter(tags=["catalogue"])

JSON_LD = "application/ld+json"
Param = Annotated[str | None, Query(max_length=200)]


class CatalogueNotFound(NotFound):
    title = "Not in the catalogue"


def _wants_json_ld(request: Request) -> bool:
    return JSON_LD in request.headers.get("accept", "")


def _base_url(request: Request) -> str:
    issuing: Issuing = services_of(request).issuing
    return issuing.policy.public_url


def _concept(key: Any, value: str, name: str) -> str:
    try:
        return vocabularies().concept(key, value).id
    except UnknownConceptError as exc:
        raise MalformedValue(f"{name}: {exc}") from None


def _ects(value: str | None, name: str) -> Decimal | None:
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise MalformedValue(f"{name} must be a number of ECTS credits") from None
    if not number.is_finite() or number < 0 or number > MAX_ECTS:
        raise MalformedValue(f"{name} must be between 0 and {MAX_ECTS}")
    return number


def _filters(
    eqf: str | None,
    ects_min: str | None,
    ects_max: str | None,
    language: str | None,
    mode: str | None,
    subject: str | None,
) -> catalogue_service.Filters:
    """The filters from the query (an empty value, as a form sends it, is no filter)."""
    level = None
    if eqf:
        if not eqf.isdigit() or not 1 <= int(eqf) <= 8:
            raise MalformedValue("eqf must be an EQF level from 1 to 8")
        level = int(eqf)
    if language and language not in vocabularies().language_codes:
        raise MalformedValue(f"language {language!r} is not a 2-letter code this service knows")
    return catalogue_service.Filters(
        eqf=level,
        ects_min=_ects(ects_min, "ectsMin"),
        ects_max=_ects(ects_max, "ectsMax"),
        language=language or None,
        mode=_concept("learning-assessment", mode, "mode") if mode else None,
        subject=_concept("isced-f", subject, "subject") if subject else None,
    )


def _json_ld(document: dict[str, Any]) -> Response:
    return Response(
        jsontext.dumps_bytes(document),
        media_type=JSON_LD,
        headers={"vary": "Accept", "cache-control": "public, max-age=300"},
    )


def _label(uri: str) -> str:
    concept = vocabularies().by_uri(uri)
    return concept.pref_label if concept is not None else uri


def _card(entry: catalogue_service.Entry, language: str) -> dict[str, Any]:
    """What the page shows of one course version."""
    model = entry.model
    return {
        "url": f"/catalogue/{entry.issuer.slug}/courses/{entry.course.id}/{entry.prepared.version}",
        "title": text_in(dict(model.title), language),
        "description": text_in(dict(model.description), language) if model.description else None,
        "provider": text_in(dict(entry.issuer.name), language),
        "eqf": model.eqfLevel,
        "ects": format_decimal(model.workload.ects) if model.workload.ects else None,
        "hours": format_decimal(model.workload.hours) if model.workload.hours else None,
        "mode": _label(model.participation.mode),
        "languages": [
            vocabularies().language(code).pref_label
            for code in catalogue_service.languages_of(model)
        ],
        "subjects": [_label(uri) for uri in model.subjects],
        "outcomes": [text_in(dict(o.title), language) for o in model.learningOutcomes],
        "assessment": _label(model.assessment.type),
        "quality": _label(model.qualityAssurance.type),
        "prerequisites": text_in(dict(model.prerequisites), language)
        if model.prerequisites
        else None,
        "version": entry.prepared.version,
    }


async def _listing(
    request: Request, session: SessionDep, slug: str | None, filters: catalogue_service.Filters
) -> Response:
    base = _base_url(request)
    if slug is not None and await catalogue_service.issuer_by_slug(session, slug) is None:
        raise CatalogueNotFound(f"no issuer {slug!r}")
    every = await catalogue_service.published(session, base, catalogue_service.Filters(), slug)
    shown = [entry for entry in every if filters.keeps(entry.model)]
    if _wants_json_ld(request):
        return _json_ld(catalogue([entry.json_ld() for entry in shown]))
    language = negotiate(request.headers.get("accept-language"))
    facets = catalogue_service.facets(every)
    choices = {
        "languages": [
            (code, vocabularies().language(code).pref_label) for code in facets["languages"]
        ],
        "modes": [(uri, _label(uri)) for uri in facets["modes"]],
        "subjects": [(uri, _label(uri)) for uri in facets["subjects"]],
    }
    chosen = {
        "eqf": filters.eqf,
        "ectsMin": format_decimal(filters.ects_min) if filters.ects_min is not None else "",
        "ectsMax": format_decimal(filters.ects_max) if filters.ects_max is not None else "",
        "language": filters.language or "",
        "mode": filters.mode or "",
        "subject": filters.subject or "",
    }
    response = page(
        request,
        "catalogue.html",
        action=request.url.path,
        courses=[_card(entry, language) for entry in shown],
        total=len(every),
        choices=choices,
        chosen=chosen,
    )
    response.headers["vary"] = "Accept, Accept-Language"
    return response


@router.get(
    "/catalogue",
    responses={200: {"content": {JSON_LD: {}, "text/html": {}}}},
    response_class=Response,
)
async def catalogue_all(
    request: Request,
    session: SessionDep,
    eqf: Param = None,
    ectsMin: Param = None,
    ectsMax: Param = None,
    language: Param = None,
    mode: Param = None,
    subject: Param = None,
) -> Response:
    """Published courses of every issuer: ELM learning opportunities (JSON-LD, for
    `Accept: application/ld+json`) or the HTML page; filtered by EQF level, ECTS range,
    language, mode (short name or concept URI) and subject (ISCED-F code or URI)."""
    filters = _filters(eqf, ectsMin, ectsMax, language, mode, subject)
    return await _listing(request, session, None, filters)


@router.get(
    "/catalogue/{slug}",
    responses={200: {"content": {JSON_LD: {}, "text/html": {}}}, 404: {}},
    response_class=Response,
)
async def catalogue_of_issuer(
    slug: str,
    request: Request,
    session: SessionDep,
    eqf: Param = None,
    ectsMin: Param = None,
    ectsMax: Param = None,
    language: Param = None,
    mode: Param = None,
    subject: Param = None,
) -> Response:
    """One issuer's published courses (as `GET /catalogue`)."""
    filters = _filters(eqf, ectsMin, ectsMax, language, mode, subject)
    return await _listing(request, session, slug, filters)


@router.get(
    "/catalogue/{slug}/courses/{course_id}/{version}",
    responses={200: {"content": {JSON_LD: {}, "text/html": {}}}, 404: {}},
    response_class=Response,
)
async def course_version(
    slug: str,
    course_id: str,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
    request: Request,
    session: SessionDep,
) -> Response:
    """One course version: the page its credentials link to (JSON-LD or HTML)."""
    entry = await catalogue_service.version_page(
        session, _base_url(request), slug, course_id, version
    )
    if entry is None:
        raise CatalogueNotFound(f"no public course {course_id!r} version {version} of {slug!r}")
    if _wants_json_ld(request):
        return _json_ld(
            catalogue_entry(entry.model, issuer_profile(entry.issuer), entry.prepared.url)
        )
    language = negotiate(request.headers.get("accept-language"))
    response = page(
        request,
        "course.html",
        course=_card(entry, language),
        current=entry.course.current_version,
        listed=entry.course.published,
        slug=slug,
    )
    response.headers["vary"] = "Accept, Accept-Language"
    if not (entry.course.published and version == entry.course.current_version):
        response.headers["x-robots-tag"] = "noindex"
    return response
