"""The value types of the micro-credential body (:mod:`app.credentials.microcredential`):
bounds, validators and the annotated types they make (language maps, URIs, e-mail, logos, ESCO
skills, EU vocabulary concepts). Each validator raises ``ValueError`` with the reason, which the
HTTP layer reports at the value's JSON Pointer.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from app.credentials.vocabularies import SchemeKey, UnknownConceptError, vocabularies

#: Language maps hold at most this many languages (the EU has 24 official languages).
MAX_LANGUAGES = 24
MAX_LEARNING_OUTCOMES = 100
MAX_ESCO_SKILLS_PER_OUTCOME = 20
MAX_AWARDING_BODIES = 10
MAX_PART_OF = 20
MAX_ECTS = Decimal(120)
MAX_HOURS = Decimal(3600)

ESCO_SKILL_PREFIX = "http://data.europa.eu/esco/skill/"
ESCO_SKILLS_SCHEME = "http://data.europa.eu/esco/concept-scheme/skills"

URI_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+")
_HTTP_URL = re.compile(r"https?://[^\s<>\"{}|\\^`]+")
_EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+")
_ESCO_SKILL = re.compile(re.escape(ESCO_SKILL_PREFIX) + r"[0-9A-Za-z-]{8,64}")
_LANGUAGE_KEY = re.compile(r"[a-z]{2}")


def check_language_key(code: str) -> str:
    if not _LANGUAGE_KEY.fullmatch(code):
        raise ValueError(f"language keys are 2-letter lowercase ISO 639-1 codes, not {code!r}")
    if code not in vocabularies().language_codes:
        accepted = ", ".join(sorted(vocabularies().language_codes))
        raise ValueError(f"language {code!r} is not one this service accepts ({accepted})")
    return code


def check_uri(value: str) -> str:
    if not URI_PATTERN.fullmatch(value):
        raise ValueError("must be an absolute URI (a DID, urn:… or https://…)")
    return value


def check_http_url(value: str) -> str:
    if not _HTTP_URL.fullmatch(value):
        raise ValueError("must be an http(s) URL")
    return value


_IMAGE_DATA_URI = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/]+={0,2}")
#: A logo given as a ``data:`` URI is at most this long (about 75 KB of image).
MAX_LOGO_LENGTH = 100_000


def check_logo(value: str) -> str:
    if not (_HTTP_URL.fullmatch(value) or _IMAGE_DATA_URI.fullmatch(value)):
        raise ValueError(
            "must be an http(s) URL of an image or a data:image/<png|jpeg|gif|webp|svg+xml>;"
            "base64,… URI"
        )
    return value


def _email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("must be an e-mail address")
    return value


def _esco_skill(value: str) -> str:
    if not _ESCO_SKILL.fullmatch(value):
        raise ValueError(
            f"must be an ESCO skill URI ({ESCO_SKILL_PREFIX}<id>, scheme {ESCO_SKILLS_SCHEME})"
        )
    return value


def _concept_of(key: SchemeKey) -> AfterValidator:
    """A validator that turns a URI or short name into the concept URI of scheme ``key``."""

    def check(value: str) -> str:
        try:
            return vocabularies().concept(key, value).id
        except UnknownConceptError as exc:
            raise ValueError(str(exc)) from None

    return AfterValidator(check)


def _country(value: str) -> str:
    """Normalise a country to its alpha-3 code in the EU country table."""
    try:
        return vocabularies().concept("country", value).notation
    except UnknownConceptError as exc:
        raise ValueError(str(exc)) from None


def _eqf_level(value: Any) -> Any:
    """Accept the EQF concept URI or short name as well as the integer level."""
    if isinstance(value, bool):
        raise ValueError("the EQF level is an integer from 1 to 8")
    if isinstance(value, str) and not value.strip().isdigit():
        try:
            return int(vocabularies().concept("eqf", value).notation)
        except UnknownConceptError as exc:
            raise ValueError(str(exc)) from None
    return value


def text_constraint(max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


def _language_key_schema(schema: dict[str, Any]) -> None:
    """The language keys' JSON schema lists the accepted codes (read when a schema is made)."""
    schema["enum"] = sorted(vocabularies().language_codes)


#: See ``GET /vocabularies/language`` for the EU language concept of each code.
LanguageCode = Annotated[
    str, AfterValidator(check_language_key), Field(json_schema_extra=_language_key_schema)
]
ShortText = Annotated[str, text_constraint(500)]
LongText = Annotated[str, text_constraint(4000)]
#: ``{"en": "…"}``: titles and names (≤ 500 characters per language).
TitleMap = Annotated[dict[LanguageCode, ShortText], Field(min_length=1, max_length=MAX_LANGUAGES)]
#: ``{"en": "…"}``: descriptions and notes (≤ 4000 characters per language).
TextMap = Annotated[dict[LanguageCode, LongText], Field(min_length=1, max_length=MAX_LANGUAGES)]
Uri = Annotated[str, text_constraint(2048), AfterValidator(check_uri)]
HttpUrl = Annotated[str, text_constraint(2048), AfterValidator(check_http_url)]
Email = Annotated[str, text_constraint(254), AfterValidator(_email)]
#: An image: an http(s) URL or a base64 ``data:image/…`` URI.
Logo = Annotated[str, text_constraint(MAX_LOGO_LENGTH), AfterValidator(check_logo)]
PersonName = Annotated[str, text_constraint(200)]
Country = Annotated[str, text_constraint(100), AfterValidator(_country)]
EscoSkill = Annotated[str, text_constraint(200), AfterValidator(_esco_skill)]
ConceptRef = Annotated[str, text_constraint(200)]
AssessmentType = Annotated[ConceptRef, _concept_of("assessment")]
LearningMode = Annotated[ConceptRef, _concept_of("learning-assessment")]
LearningSetting = Annotated[ConceptRef, _concept_of("learning-setting")]
QualityAssuranceType = Annotated[ConceptRef, _concept_of("accreditation")]
CredentialProfileType = Annotated[ConceptRef, _concept_of("credential")]
LearningOpportunityType = Annotated[ConceptRef, _concept_of("learning-opportunity")]
SubjectArea = Annotated[ConceptRef, _concept_of("isced-f")]
LearningActivityType = Annotated[ConceptRef, _concept_of("learning-activity")]
SupervisionType = Annotated[ConceptRef, _concept_of("supervision-verification")]
# The range before the validator, so that the JSON schema says minimum / maximum.
EqfLevel = Annotated[int, Field(ge=1, le=8), BeforeValidator(_eqf_level)]
QfEheaCycle = Literal["short-cycle", "first", "second", "third"]


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=4000)
