"""The controlled vocabularies of the micro-credential body, public and cacheable.

``GET /vocabularies`` lists the schemes; ``GET /vocabularies/{scheme}`` gives each concept of
one scheme with its URI, notation, label and the short names the request body accepts for it
(:mod:`app.credentials.vocabularies`). The data ships with the package and changes only with a
release, so each reply is built once per process and carries a strong ``ETag`` (304 on
``If-None-Match``) and a day of ``Cache-Control``.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Annotated, Any, cast, get_args

import orjson
from fastapi import APIRouter, Header, Response

from app.api.schemas.vocabularies import (
    VocabularyConcept,
    VocabularyListReply,
    VocabularyReply,
    VocabularySummary,
)
from app.credentials.vocabularies import SchemeKey, vocabularies
from app.problems import VOCABULARY_NOT_FOUND, Problem

router = APIRouter(tags=["public"])

SCHEME_KEYS: tuple[SchemeKey, ...] = get_args(SchemeKey)
MAX_AGE = 86_400


class VocabularyNotFound(Problem):
    type = VOCABULARY_NOT_FOUND
    title, status = "Unknown vocabulary", 404


def _vocabulary(key: SchemeKey) -> VocabularyReply:
    scheme = vocabularies().scheme(key)
    return VocabularyReply(
        scheme=key,
        conceptScheme=scheme.uri,
        description=scheme.description,
        concepts=[
            VocabularyConcept(
                id=concept.id,
                notation=concept.notation,
                prefLabel={"en": concept.pref_label},
                shortName=scheme.short_name_of(concept),
                aliases=list(scheme.aliases_of(concept)),
            )
            for concept in scheme
        ],
    )


def _catalogue() -> VocabularyListReply:
    return VocabularyListReply(
        vocabularies=[
            VocabularySummary(
                scheme=key,
                conceptScheme=vocabularies().scheme(key).uri,
                description=vocabularies().scheme(key).description,
                concepts=len(vocabularies().scheme(key).concepts),
                href=f"/vocabularies/{key}",
            )
            for key in SCHEME_KEYS
        ]
    )


@lru_cache(maxsize=len(SCHEME_KEYS) + 1)
def _body(key: str | None) -> tuple[bytes, str]:
    """The reply bytes of a scheme (``None``: the list) and their strong ETag."""
    model = _catalogue() if key is None else _vocabulary(cast(SchemeKey, key))
    body = orjson.dumps(model.model_dump())
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _reply(key: str | None, if_none_match: str | None) -> Response:
    body, etag = _body(key)
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={MAX_AGE}"}
    if if_none_match is not None and (
        if_none_match.strip() == "*" or etag in {tag.strip() for tag in if_none_match.split(",")}
    ):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]
_CACHED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified (If-None-Match)"},
}


@router.get("/vocabularies", response_model=VocabularyListReply, responses=_CACHED)
async def list_vocabularies(if_none_match: IfNoneMatch = None) -> Response:
    """The controlled vocabularies the micro-credential body uses, with their concept counts."""
    return _reply(None, if_none_match)


@router.get(
    "/vocabularies/{scheme}",
    response_model=VocabularyReply,
    responses={**_CACHED, 404: {"description": "Unknown vocabulary"}},
)
async def get_vocabulary(scheme: str, if_none_match: IfNoneMatch = None) -> Response:
    """Every concept of one vocabulary: URI, notation, label and the short names accepted.

    Schemes: `eqf`, `assessment`, `learning-assessment` (modes), `learning-setting`,
    `accreditation` (quality assurance), `supervision-verification`, `country`, `language`,
    `education-credit`, `isced-f` and the other EDC lists named by `GET /vocabularies`."""
    if scheme not in SCHEME_KEYS:
        raise VocabularyNotFound(
            f"no vocabulary {scheme[:100]!r}; the schemes are {', '.join(SCHEME_KEYS)}"
        )
    return _reply(scheme, if_none_match)
