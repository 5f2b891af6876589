"""The EU micro-credential request body (``API.md``, "The micro-credential body") and the issuer.

:class:`MicroCredentialIn` is the one model both credential shapes are built from
(:func:`app.credentials.edc.build_edc`, :func:`app.credentials.obv3.build_obv3`).

Validation reports every fault at once, each with its location, so the HTTP layer can turn
pydantic's errors into JSON Pointers:

* every mandatory element of the Council Recommendation (2022/C 243/02, Annex I) that the
  request carries is a required field, so a missing one is exactly one ``missing`` error at its
  own path (``/learner``, ``/title``, ``/awardedOn``, ``/learningOutcomes``, ``/workload``,
  ``/assessment``, ``/participation``, ``/qualityAssurance``); the issuer's country and the
  default awarding body come from :class:`IssuerProfile`;
* controlled values are checked by field validators against the right EU vocabulary and
  normalised to the concept URI; the error names the scheme that was expected;
* strings, lists and language maps are bounded; unknown fields are refused at every level.

Controlled values accept a concept URI or a short name (see :mod:`app.credentials.vocabularies`):

=====================  =====================================  ==================================
field                  scheme                                 short names, for example
=====================  =====================================  ==================================
``eqfLevel``           EQF ``…/snb/eqf/25831c2``              ``6`` (an integer), or the URI
``assessment.type``    assessment ``…/snb/assessment``        ``artefact-assessment``
``assessment.mode``,   modes ``…/snb/learning-assessment``    ``online``, ``blended``,
``participation.mode``                                        ``presential``
``participation.       learning setting                       ``formal``, ``non-formal``
setting``              ``…/snb/learning-setting``
``qualityAssurance.    accreditation ``…/snb/accreditation``  ``program-quality-assurance``
type``
``supervision``        ``…/snb/supervision-verification``     ``unsupervised-without-id-
                                                              verification``
``country`` fields     EU country table                       ``IRL`` (alpha-3), ``IE``
=====================  =====================================  ==================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
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

_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+")
_HTTP_URL = re.compile(r"https?://[^\s<>\"{}|\\^`]+")
_EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+")
_ESCO_SKILL = re.compile(re.escape(ESCO_SKILL_PREFIX) + r"[0-9A-Za-z-]{8,64}")
_LANGUAGE_KEY = re.compile(r"[a-z]{2}")


def _language_key(code: str) -> str:
    if not _LANGUAGE_KEY.fullmatch(code):
        raise ValueError(f"language keys are 2-letter lowercase ISO 639-1 codes, not {code!r}")
    if code not in vocabularies().language_codes:
        accepted = ", ".join(sorted(vocabularies().language_codes))
        raise ValueError(f"language {code!r} is not one this service accepts ({accepted})")
    return code


def _uri(value: str) -> str:
    if not _URI.fullmatch(value):
        raise ValueError("must be an absolute URI (a DID, urn:… or https://…)")
    return value


def _http_url(value: str) -> str:
    if not _HTTP_URL.fullmatch(value):
        raise ValueError("must be an http(s) URL")
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


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


LanguageCode = Annotated[str, AfterValidator(_language_key)]
ShortText = Annotated[str, _text(500)]
LongText = Annotated[str, _text(4000)]
#: ``{"en": "…"}``: titles and names (≤ 500 characters per language).
TitleMap = Annotated[dict[LanguageCode, ShortText], Field(min_length=1, max_length=MAX_LANGUAGES)]
#: ``{"en": "…"}``: descriptions and notes (≤ 4000 characters per language).
TextMap = Annotated[dict[LanguageCode, LongText], Field(min_length=1, max_length=MAX_LANGUAGES)]
Uri = Annotated[str, _text(2048), AfterValidator(_uri)]
HttpUrl = Annotated[str, _text(2048), AfterValidator(_http_url)]
Email = Annotated[str, _text(254), AfterValidator(_email)]
PersonName = Annotated[str, _text(200)]
Country = Annotated[str, _text(100), AfterValidator(_country)]
EscoSkill = Annotated[str, _text(200), AfterValidator(_esco_skill)]
ConceptRef = Annotated[str, _text(200)]
AssessmentType = Annotated[ConceptRef, _concept_of("assessment")]
LearningMode = Annotated[ConceptRef, _concept_of("learning-assessment")]
LearningSetting = Annotated[ConceptRef, _concept_of("learning-setting")]
QualityAssuranceType = Annotated[ConceptRef, _concept_of("accreditation")]
SupervisionType = Annotated[ConceptRef, _concept_of("supervision-verification")]
EqfLevel = Annotated[int, BeforeValidator(_eqf_level), Field(ge=1, le=8)]
QfEheaCycle = Literal["short-cycle", "first", "second", "third"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=4000)


class LearnerIdentifier(_Model):
    scheme: Annotated[str, _text(100)]
    value: Annotated[str, _text(200)]


class Learner(_Model):
    """Element M1: at least one of ``id``, ``identifier``, ``email`` identifies the learner."""

    id: Uri | None = None
    givenName: PersonName | None = None
    familyName: PersonName | None = None
    dateOfBirth: date | None = Field(default=None, ge=date(1900, 1, 1))
    identifier: LearnerIdentifier | None = None
    email: Email | None = None

    @model_validator(mode="after")
    def _identified(self) -> Learner:
        if self.id is None and self.identifier is None and self.email is None:
            raise ValueError("the learner needs at least one of id, identifier, email")
        return self

    @property
    def full_name(self) -> str | None:
        parts = [p for p in (self.givenName, self.familyName) if p]
        return " ".join(parts) or None


class OrganisationIn(_Model):
    """An awarding body or a quality-assurance agency."""

    id: Uri | None = None
    name: TitleMap
    country: Country
    legalIdentifier: Annotated[str, _text(100)] | None = None
    homepage: HttpUrl | None = None


class LearningOutcomeIn(_Model):
    """Element M6; ``escoSkill`` (one) and ``escoSkills`` (several) link ESCO skills."""

    title: TitleMap
    escoSkill: EscoSkill | None = None
    escoSkills: Annotated[list[EscoSkill], Field(max_length=MAX_ESCO_SKILLS_PER_OUTCOME)] = []

    @property
    def esco_skills(self) -> list[str]:
        """``escoSkill`` then ``escoSkills``, without repeats."""
        skills = ([self.escoSkill] if self.escoSkill else []) + list(self.escoSkills)
        return list(dict.fromkeys(skills))


class Workload(_Model):
    """Element M7: ECTS credits and/or notional hours (at least one)."""

    ects: Annotated[Decimal, Field(gt=0, le=MAX_ECTS, decimal_places=2)] | None = None
    hours: Annotated[Decimal, Field(gt=0, le=MAX_HOURS, decimal_places=2)] | None = None

    @model_validator(mode="after")
    def _some_workload(self) -> Workload:
        if self.ects is None and self.hours is None:
            raise ValueError("the workload needs ects, hours or both")
        return self


class AssessmentIn(_Model):
    """Element M9: the type of assessment (``type`` required); ``mode`` is its mode."""

    type: AssessmentType
    title: TitleMap | None = None
    mode: LearningMode | None = None
    gradingScheme: TitleMap | None = None


class ParticipationIn(_Model):
    """Element M10: form of participation (``mode`` required) and learning setting."""

    mode: LearningMode
    setting: LearningSetting | None = None


class QualityAssuranceIn(_Model):
    """Element M11: the type of quality assurance; the agency defaults to the awarding body."""

    type: QualityAssuranceType
    title: TitleMap | None = None
    agency: OrganisationIn | None = None
    url: HttpUrl | None = None


class PartOfIn(_Model):
    title: TitleMap
    url: HttpUrl | None = None


class StackabilityIn(_Model):
    """Element O4: stand-alone or integrated, and what it stacks towards."""

    standalone: bool
    partOf: Annotated[list[PartOfIn], Field(max_length=MAX_PART_OF)] = []


class MicroCredentialIn(_Model):
    """The body of ``POST /microcredentials`` (``API.md``)."""

    format: Literal["edc", "obv3", "sd-jwt"]
    cryptosuite: Literal["eddsa-rdfc-2022", "eddsa-jcs-2022"] | None = None
    #: ``sd-jwt`` only: the wallet's public key (an OKP Ed25519 JWK) the credential is bound to
    holderJwk: Annotated[dict[str, str], Field(max_length=8)] | None = None
    learner: Learner
    title: TitleMap
    description: TextMap | None = None
    awardingBodies: (
        Annotated[list[OrganisationIn], Field(min_length=1, max_length=MAX_AWARDING_BODIES)] | None
    ) = None
    awardedOn: date = Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))
    learningOutcomes: Annotated[
        list[LearningOutcomeIn], Field(min_length=1, max_length=MAX_LEARNING_OUTCOMES)
    ]
    workload: Workload
    eqfLevel: EqfLevel | None = None
    qfEheaCycle: QfEheaCycle | None = None
    assessment: AssessmentIn
    participation: ParticipationIn
    qualityAssurance: QualityAssuranceIn
    prerequisites: TextMap | None = None
    supervision: SupervisionType | None = None
    grade: Annotated[str, _text(100)] | None = None
    stackability: StackabilityIn | None = None
    furtherInformation: TextMap | None = None
    validUntil: AwareDatetime | None = None

    @field_validator("holderJwk")
    @classmethod
    def _public_ed25519(cls, value: dict[str, str] | None, info: ValidationInfo) -> Any:
        if value is None:
            return value
        if info.data.get("format") != "sd-jwt":
            raise ValueError("holderJwk goes with format sd-jwt only")
        from app.crypto.jws import JwsError, public_jwk, public_key_from_jwk

        try:
            return public_jwk(public_key_from_jwk(value))
        except JwsError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _sd_jwt_has_no_cryptosuite(self) -> MicroCredentialIn:
        if self.format == "sd-jwt" and self.cryptosuite is not None:
            raise ValueError("an sd-jwt credential is signed EdDSA as a JWS: no cryptosuite")
        return self

    @field_validator("validUntil")
    @classmethod
    def _after_award(cls, value: AwareDatetime | None, info: ValidationInfo) -> Any:
        awarded = info.data.get("awardedOn")
        if value is not None and isinstance(awarded, date) and value.date() <= awarded:
            raise ValueError("validUntil must be after awardedOn")
        return value

    @property
    def primary_language(self) -> str:
        """The first language of ``title``: the language a single-language output uses."""
        return next(iter(self.title))


def pick(texts: Mapping[str, str], language: str) -> str:
    """The text in ``language``, else the first one of the map."""
    return texts.get(language) or next(iter(texts.values()))


@dataclass(frozen=True)
class IssuerProfile:
    """The issuing university, as registered with the service (``POST /admin/issuers``)."""

    did: str
    name: Mapping[str, str]
    country: str
    """ISO 3166-1 alpha-3, e.g. ``"IRL"`` (a code of the EU country table)."""
    legal_identifier: str
    """Legal identifier (e.g. VAT number); the EDC's ``issuer.eIDASIdentifier.notation``."""
    homepage: str | None = None
    colour: str | None = None
    """The issuer's colour on its certificates (``#rrggbb``); a default blue when None."""

    def __post_init__(self) -> None:
        if not _URI.fullmatch(self.did):
            raise ValueError(f"issuer DID {self.did!r} is not an absolute URI")
        if not self.name or not all(isinstance(v, str) and v.strip() for v in self.name.values()):
            raise ValueError("issuer name must be a non-empty language map")
        for language in self.name:
            _language_key(language)
        if not re.fullmatch(r"[A-Z0-9]{3}", self.country) or (
            vocabularies().scheme("country").get(self.country) is None
        ):
            raise ValueError(f"issuer country {self.country!r} is not an alpha-3 code")
        if not self.legal_identifier.strip():
            raise ValueError("issuer legal identifier must not be empty")
        if self.homepage is not None:
            _http_url(self.homepage)
        if self.colour is not None and not re.fullmatch(r"#[0-9a-fA-F]{6}", self.colour):
            raise ValueError(f"issuer colour {self.colour!r} is not #rrggbb")


@dataclass(frozen=True)
class AwardingBody:
    """An awarding body resolved against the issuer (``key`` keeps node ids stable)."""

    key: str
    id: str | None
    name: Mapping[str, str]
    country: str
    legal_identifier: str | None
    homepage: str | None
    is_issuer: bool = field(default=False)


def issuer_body(issuer: IssuerProfile) -> AwardingBody:
    return AwardingBody(
        key="issuer",
        id=issuer.did,
        name=issuer.name,
        country=issuer.country,
        legal_identifier=issuer.legal_identifier,
        homepage=issuer.homepage,
        is_issuer=True,
    )


def organisation_body(organisation: OrganisationIn, key: str) -> AwardingBody:
    return AwardingBody(
        key=key,
        id=organisation.id,
        name=organisation.name,
        country=organisation.country,
        legal_identifier=organisation.legalIdentifier,
        homepage=organisation.homepage,
    )


def awarding_bodies(mc: MicroCredentialIn, issuer: IssuerProfile) -> list[AwardingBody]:
    """Element M4: the request's awarding bodies, or the issuer when it names none.

    A body whose ``id`` is the issuer's DID is the issuer (one node, the issuer's data).
    """
    if not mc.awardingBodies:
        return [issuer_body(issuer)]
    bodies = []
    for index, organisation in enumerate(mc.awardingBodies):
        if organisation.id == issuer.did:
            bodies.append(issuer_body(issuer))
        else:
            bodies.append(organisation_body(organisation, f"body-{index}"))
    return bodies


def format_decimal(value: Decimal) -> str:
    """``Decimal("2.50")`` → ``"2.5"``, ``Decimal("60")`` → ``"60"`` (no exponent)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
