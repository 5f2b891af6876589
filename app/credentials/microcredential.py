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
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.credentials.fieldtypes import (
    ESCO_SKILL_PREFIX,
    ESCO_SKILLS_SCHEME,
    MAX_AWARDING_BODIES,
    MAX_ECTS,
    MAX_ESCO_SKILLS_PER_OUTCOME,
    MAX_HOURS,
    MAX_LANGUAGES,
    MAX_LEARNING_OUTCOMES,
    MAX_PART_OF,
    URI_PATTERN,
    AssessmentType,
    Country,
    CredentialProfileType,
    Email,
    EqfLevel,
    EscoSkill,
    HttpUrl,
    InputModel,
    LanguageCode,
    LearningActivityType,
    LearningMode,
    LearningOpportunityType,
    LearningSetting,
    Logo,
    PersonName,
    QfEheaCycle,
    QualityAssuranceType,
    SubjectArea,
    SupervisionType,
    TextMap,
    TitleMap,
    Uri,
    check_http_url,
    check_language_key,
    check_logo,
    text_constraint,
)
from app.credentials.vocabularies import SCHEME_DESCRIPTIONS, SchemeKey, vocabularies

#: What other modules import from here (value types: :mod:`app.credentials.fieldtypes`).
__all__ = [
    "AssessmentIn",
    "AwardingBody",
    "ESCO_SKILLS_SCHEME",
    "ESCO_SKILL_PREFIX",
    "EscoSkillIn",
    "IssuerProfile",
    "LanguageCode",
    "Learner",
    "LearnerIdentifier",
    "LearningActivityIn",
    "LearningOutcomeIn",
    "MAX_ESCO_SKILLS_PER_OUTCOME",
    "MAX_LANGUAGES",
    "MAX_LEARNING_OUTCOMES",
    "MAX_STACK_PARTS",
    "MicroCredentialIn",
    "NqfLevelIn",
    "OrganisationIn",
    "PartOfIn",
    "ParticipationIn",
    "QDR_SCHEME",
    "QualityAssuranceIn",
    "StackIn",
    "StackabilityIn",
    "Workload",
    "awarding_bodies",
    "format_decimal",
    "issuer_body",
    "issuing_body",
    "organisation_body",
    "pick",
]


_LANGUAGE_MAP = (
    "A language map: each key is an ISO 639-1 code (`en`, `ga`; see GET /vocabularies/language), "
    "each value the text in that language; the first entry is the main language."
)


def _vocabulary(key: SchemeKey) -> str:
    """The description sentence that links a controlled field to its vocabulary endpoint."""
    return (
        f"A concept of {SCHEME_DESCRIPTIONS[key]}: see GET /vocabularies/{key} for the values "
        "accepted (concept URI, notation or short name); stored as the concept URI."
    )


class LearnerIdentifier(InputModel):
    """An identifier the institution gives the learner (a student number, a national id)."""

    scheme: Annotated[str, text_constraint(100)] = Field(
        description="What kind of identifier `value` is, in your own words: `student-number`, "
        "`national-id`, …",
        examples=["student-number"],
    )
    value: Annotated[str, text_constraint(200)] = Field(
        description="The identifier itself, as your records hold it.", examples=["S1234567"]
    )


class Learner(InputModel):
    """Element M1: at least one of ``id``, ``identifier``, ``email`` identifies the learner."""

    id: Uri | None = Field(
        default=None,
        description="The learner's DID (from their wallet): the credential is bound to it. Leave "
        "it out when the credential goes to the wallet through an offer.",
    )
    givenName: PersonName | None = Field(
        default=None, description="The learner's given name(s), as on the certificate."
    )
    familyName: PersonName | None = Field(
        default=None, description="The learner's family name(s), as on the certificate."
    )
    dateOfBirth: date | None = Field(
        default=None,
        ge=date(1900, 1, 1),
        description="The learner's date of birth (YYYY-MM-DD), to tell apart learners who share "
        "a name.",
    )
    identifier: LearnerIdentifier | None = Field(
        default=None, description="An identifier from your records, such as a student number."
    )
    email: Email | None = Field(default=None, description="The learner's e-mail address.")

    @model_validator(mode="after")
    def _identified(self) -> Learner:
        if self.id is None and self.identifier is None and self.email is None:
            raise ValueError("the learner needs at least one of id, identifier, email")
        return self

    @property
    def full_name(self) -> str | None:
        parts = [p for p in (self.givenName, self.familyName) if p]
        return " ".join(parts) or None


class OrganisationIn(InputModel):
    """An awarding body or a quality-assurance agency."""

    id: Uri | None = Field(
        default=None,
        description="The organisation's DID or URI, if it has one; the issuer's own DID makes "
        "the issuer an awarding body.",
    )
    name: TitleMap = Field(description="The organisation's name. " + _LANGUAGE_MAP)
    country: Country = Field(
        description="The country where the organisation is established: ISO 3166-1 alpha-3 "
        "(`IRL`) or alpha-2 (`IE`). See GET /vocabularies/country.",
        examples=["IRL"],
    )
    legalIdentifier: Annotated[str, text_constraint(100)] | None = Field(
        default=None,
        description="The organisation's legal identifier (VAT or company registration number).",
    )
    homepage: HttpUrl | None = Field(default=None, description="The organisation's website.")
    logo: Logo | None = Field(
        default=None,
        description="The organisation's logo: an http(s) URL or a base64 data:image URI "
        "(EDC: the organisation's logo; Open Badges: the image of the issuer's or the "
        "achievement creator's profile and of the achievement)",
    )


class EscoSkillIn(InputModel):
    """An ESCO skill with its label, as ESCO publishes it."""

    id: EscoSkill = Field(description="The ESCO skill URI (http://data.europa.eu/esco/skill/…)")
    label: TitleMap = Field(
        description="The skill's preferred label per language (EDC: relatedESCOSkill "
        "prefLabel; Open Badges: the alignment's targetName)"
    )


class LearningOutcomeIn(InputModel):
    """Element M6; ``escoSkill`` (one) and ``escoSkills`` (several) link ESCO skills."""

    title: TitleMap = Field(
        description="What the learner knows or can do, as one statement. " + _LANGUAGE_MAP
    )
    escoSkill: EscoSkill | None = Field(
        default=None,
        description="The ESCO skill this outcome matches: its URI "
        f"(`{ESCO_SKILL_PREFIX}<id>`, from the ESCO classification).",
    )
    escoSkills: Annotated[
        list[EscoSkill | EscoSkillIn], Field(max_length=MAX_ESCO_SKILLS_PER_OUTCOME)
    ] = Field(
        default=[],
        description="ESCO skills: each a URI, or {id, label} to carry the skill's label too",
    )

    @property
    def esco_skills(self) -> list[str]:
        """``escoSkill`` then ``escoSkills``, without repeats."""
        skills = ([self.escoSkill] if self.escoSkill else []) + [
            skill if isinstance(skill, str) else skill.id for skill in self.escoSkills
        ]
        return list(dict.fromkeys(skills))

    @property
    def esco_labels(self) -> dict[str, dict[str, str]]:
        """The labels given for the skills, by skill URI."""
        return {
            skill.id: dict(skill.label) for skill in self.escoSkills if not isinstance(skill, str)
        }


class Workload(InputModel):
    """Element M7: ECTS credits and/or notional hours (at least one)."""

    ects: Annotated[Decimal, Field(gt=0, le=MAX_ECTS, decimal_places=2)] | None = Field(
        default=None,
        description="ECTS credits (European Credit Transfer System), up to two decimals.",
    )
    hours: Annotated[Decimal, Field(gt=0, le=MAX_HOURS, decimal_places=2)] | None = Field(
        default=None,
        description="Notional learning hours: the time a typical learner needs, all activities "
        "counted.",
    )

    @model_validator(mode="after")
    def _some_workload(self) -> Workload:
        if self.ects is None and self.hours is None:
            raise ValueError("the workload needs ects, hours or both")
        return self


class AssessmentIn(InputModel):
    """Element M9: the type of assessment (``type`` required); ``mode`` is its mode."""

    type: AssessmentType = Field(
        description="How the learning was assessed. " + _vocabulary("assessment"),
        examples=["artefact-assessment"],
    )
    title: TitleMap | None = Field(
        default=None, description="The name of the assessment. " + _LANGUAGE_MAP
    )
    mode: LearningMode | None = Field(
        default=None,
        description="How the assessment took place (online, presential, blended). "
        + _vocabulary("learning-assessment"),
    )
    gradingScheme: TitleMap | None = Field(
        default=None,
        description="How grades are given, in words (`Pass/fail`, `A to F`). " + _LANGUAGE_MAP,
    )


class ParticipationIn(InputModel):
    """Element M10: form of participation (``mode`` required) and learning setting."""

    mode: LearningMode = Field(
        description="How the learner took part (online, presential, blended). "
        + _vocabulary("learning-assessment"),
        examples=["online"],
    )
    setting: LearningSetting | None = Field(
        default=None,
        description="Formal or non-formal learning. " + _vocabulary("learning-setting"),
        examples=["non-formal"],
    )


class QualityAssuranceIn(InputModel):
    """Element M11: the type of quality assurance; the agency defaults to the awarding body."""

    type: QualityAssuranceType = Field(
        description="The kind of quality assurance behind the course. "
        + _vocabulary("accreditation"),
        examples=["program-quality-assurance"],
    )
    title: TitleMap | None = Field(
        default=None,
        description="The quality-assurance decision or process, in words. " + _LANGUAGE_MAP,
    )
    agency: OrganisationIn | None = Field(
        default=None,
        description="The quality-assurance agency; the (first) awarding body when left out.",
    )
    url: HttpUrl | None = Field(
        default=None, description="Where the quality-assurance decision or report is published."
    )


class LearningActivityIn(InputModel):
    """The learning activity the learner took part in (ELM ``LearningActivity``)."""

    title: TitleMap | None = Field(
        default=None, description="The activity's title; by default the credential's title"
    )
    description: TextMap | None = Field(default=None, description="What the activity was")
    startDate: AwareDatetime | None = Field(
        default=None, description="When it began (EDC: temporal.startDate)"
    )
    endDate: AwareDatetime | None = Field(
        default=None, description="When it ended (EDC: temporal.endDate)"
    )
    languages: Annotated[list[LanguageCode], Field(max_length=MAX_LANGUAGES)] = Field(
        default=[],
        description="Languages of instruction, ISO 639-1 (EDC: the specification's language)",
    )
    mode: LearningMode | None = Field(
        default=None,
        description="Mode of learning (online, blended, presential; a learning-assessment "
        "concept URI or its short name)",
    )
    hours: Annotated[Decimal, Field(gt=0, le=MAX_HOURS, decimal_places=2)] | None = Field(
        default=None, description="Its volume of learning in hours (EDC: volumeOfLearning)"
    )
    type: LearningActivityType | None = Field(
        default=None,
        description="The type of activity (…/snb/learning-activity, e.g. e-learning-coursework)",
    )
    directedBy: Annotated[list[OrganisationIn], Field(max_length=MAX_AWARDING_BODIES)] = Field(
        default=[], description="Organisations that directed the activity"
    )

    @model_validator(mode="after")
    def _in_order(self) -> LearningActivityIn:
        if self.startDate and self.endDate and self.endDate < self.startDate:
            raise ValueError("the learning activity's endDate is before its startDate")
        return self


QDR_SCHEME = "http://data.europa.eu/snb/qdr/25831c2"
_QDR_CONCEPT = re.compile(r"http://data\.europa\.eu/snb/qdr/[A-Za-z0-9_-]{1,64}")


def _qdr_concept(value: str) -> str:
    if not _QDR_CONCEPT.fullmatch(value):
        raise ValueError(
            "must be a concept URI of the NQF levels (http://data.europa.eu/snb/qdr/…)"
        )
    return value


class NqfLevelIn(InputModel):
    """A level of a national qualifications framework (scheme ``…/snb/qdr/25831c2``)."""

    id: Annotated[str, text_constraint(200), AfterValidator(_qdr_concept)] = Field(
        description="The level's concept URI, e.g. http://data.europa.eu/snb/qdr/c_c392e7a2"
    )
    label: TitleMap = Field(description='Its label, e.g. {"en": "RQF Level 6"}')


class PartOfIn(InputModel):
    """A larger award (a degree, a programme) this micro-credential counts towards."""

    title: TitleMap = Field(description="The name of the larger award. " + _LANGUAGE_MAP)
    url: HttpUrl | None = Field(default=None, description="The web page of the larger award.")


class StackabilityIn(InputModel):
    """Element O4: stand-alone or integrated, and what it stacks towards."""

    standalone: bool = Field(
        description="true when the micro-credential stands on its own; false when it is "
        "integrated in a larger award."
    )
    partOf: Annotated[list[PartOfIn], Field(max_length=MAX_PART_OF)] = Field(
        default=[],
        description=f"The larger awards it counts or stacks towards (at most {MAX_PART_OF}).",
    )


#: At most this many parts per stack (each is verified before issuing).
MAX_STACK_PARTS = 20


class StackIn(InputModel):
    """The earlier credentials a stacked credential is awarded for (``API.md``, "Stacks")."""

    parts: Annotated[
        list[Annotated[str, text_constraint(2048)] | dict[str, Any]],
        Field(min_length=1, max_length=MAX_STACK_PARTS),
    ] = Field(
        description="The parts, each the id of a credential this service holds (its `id` or "
        "its VC `id`, of any issuer here) or a whole signed credential (EDC, Open Badge or "
        "other VC). Each is verified first (signature, status, validity) and must be the "
        f"same learner's; at most {MAX_STACK_PARTS}."
    )


class MicroCredentialIn(InputModel):
    """The body of ``POST /microcredentials`` (``API.md``)."""

    format: Literal["edc", "obv3", "sd-jwt"] = Field(
        description="The credential to make: `edc`, a Europass Digital Credential (ELM v3); "
        "`obv3`, an Open Badge 3.0; or `sd-jwt`, an SD-JWT VC for the EU Digital Identity "
        "Wallet (not from courses; wallets usually receive it through OpenID4VCI)."
    )
    cryptosuite: Literal["eddsa-rdfc-2022", "eddsa-jcs-2022"] | None = Field(
        default=None,
        description="How the credential is signed; leave it out for `eddsa-rdfc-2022`, which "
        "every verifier of Data Integrity proofs accepts.",
    )
    holderJwk: Annotated[dict[str, str], Field(max_length=8)] | None = Field(
        default=None,
        description="`sd-jwt` only: the wallet's public key (an OKP Ed25519 JWK) the credential "
        "is bound to (`cnf`); without it the SD-JWT VC is not bound to a holder.",
    )
    learner: Learner = Field(
        description="The person who earned the credential (element M1): at least one of `id`, "
        "`identifier`, `email`."
    )
    title: TitleMap = Field(
        description="The title of the micro-credential (element M2). " + _LANGUAGE_MAP
    )
    description: TextMap | None = Field(
        default=None, description="What the course covers, in a few sentences. " + _LANGUAGE_MAP
    )
    awardingBodies: (
        Annotated[list[OrganisationIn], Field(min_length=1, max_length=MAX_AWARDING_BODIES)] | None
    ) = Field(
        default=None,
        description="Who awards the micro-credential (element M4); the issuing institution when "
        f"left out. At most {MAX_AWARDING_BODIES}.",
    )
    awardedOn: date = Field(
        ge=date(1900, 1, 1),
        le=date(2999, 12, 31),
        description="The date the micro-credential was awarded (element M5), YYYY-MM-DD.",
    )
    learningOutcomes: Annotated[
        list[LearningOutcomeIn], Field(min_length=1, max_length=MAX_LEARNING_OUTCOMES)
    ] = Field(
        description="What the learner knows and can do after the course (element M6), one "
        f"entry per outcome (at most {MAX_LEARNING_OUTCOMES})."
    )
    workload: Workload = Field(
        description="The notional workload (element M7): ECTS credits, hours or both."
    )
    eqfLevel: EqfLevel | None = Field(
        default=None,
        description="The level of the learning in the European Qualifications Framework "
        "(element M8), an integer from 1 to 8; the level's concept URI or short name "
        "(`level-6`) is accepted too. See GET /vocabularies/eqf. Leave it out when no level "
        "applies.",
        examples=[6],
    )
    qfEheaCycle: QfEheaCycle | None = Field(
        default=None,
        description="The cycle in the Qualifications Framework of the European Higher "
        "Education Area (element M8), for higher-education courses.",
    )
    assessment: AssessmentIn = Field(description="The type of assessment (element M9).")
    participation: ParticipationIn = Field(
        description="The form of participation in the course (element M10)."
    )
    qualityAssurance: QualityAssuranceIn = Field(
        description="The type of quality assurance behind the course (element M11)."
    )
    prerequisites: TextMap | None = Field(
        default=None,
        description="What a learner needed before enrolling (optional element O1). "
        + _LANGUAGE_MAP,
    )
    supervision: SupervisionType | None = Field(
        default=None,
        description="Whether the assessment was supervised and the learner's identity checked "
        "(optional element O2). " + _vocabulary("supervision-verification"),
    )
    grade: Annotated[str, text_constraint(100)] | None = Field(
        default=None,
        description="The learner's grade as your grading scheme writes it (`Pass`, `A`, `72%`; "
        "optional element O3).",
    )
    stackability: StackabilityIn | None = Field(
        default=None,
        description="Whether it stands alone or counts towards a larger award (optional "
        "element O4).",
    )
    furtherInformation: TextMap | None = Field(
        default=None,
        description="Anything else a reader of the credential should know (optional element "
        "O5). " + _LANGUAGE_MAP,
    )
    validUntil: AwareDatetime | None = Field(
        default=None,
        description="When the credential stops being valid, with a time zone "
        "(`2031-06-30T00:00:00Z`); leave it out when it does not expire. After `awardedOn`.",
    )
    learningActivity: LearningActivityIn | None = Field(
        default=None,
        description="The learning activity taken part in: dates, languages of instruction, "
        "mode (EDC: hasClaim.influencedBy; Open Badges: activityStartDate/activityEndDate)",
    )
    assessingOrganisations: (
        Annotated[list[OrganisationIn], Field(min_length=1, max_length=MAX_AWARDING_BODIES)] | None
    ) = Field(
        default=None,
        description="Organisations that assessed the learner (EDC: the assessment's "
        "assessedBy); needs a grade, since ELM records an assessment only with its grade",
    )
    credentialProfile: CredentialProfileType | None = Field(
        default=None,
        description="The EDC credential profile (a concept of …/snb/credential/25831c2 or its "
        "short name, e.g. generic); by default Generic",
    )
    qualificationType: LearningOpportunityType | None = Field(
        default=None,
        description="The type of learning opportunity (…/snb/learning-opportunity, e.g. "
        "short-learning-programme; EDC: the qualification's dcType)",
    )
    subjectAreas: Annotated[list[SubjectArea], Field(max_length=MAX_AWARDING_BODIES)] = Field(
        default=[],
        description="Subject areas as ISCED-F 2013 fields (…/snb/isced-f/<code> or the code; "
        "EDC: thematicArea; Open Badges: fieldOfStudy)",
    )
    nqfLevel: NqfLevelIn | None = Field(
        default=None,
        description="The national qualifications framework level (EDC: nqfLevel; Open Badges: "
        "an alignment)",
    )
    certificateNumber: Annotated[str, text_constraint(100)] | None = Field(
        default=None,
        description="The certificate's number (EDC: the credential's identifier, scheme "
        "'Certificate number')",
    )
    mandateStatement: Annotated[str, text_constraint(4000)] | None = Field(
        default=None,
        description="When the issuer seals on behalf of awarding bodies it is not one of: the "
        "statement of its mandate (EDC: an evidence of type Mandate); refused when the issuer "
        "is an awarding body",
    )

    stack: StackIn | None = Field(
        default=None,
        description="A stacked credential: the earlier micro-credentials (of this issuer or "
        "others) it is awarded for. Recorded with their digests (EDC: the achievement's "
        "`hasPart`; Open Badges: `evidence`); `edc` and `obv3` only. Workload: a unit left out "
        "of `workload` is the sum of the parts' when every part states it; a unit given must "
        "be at least that sum.",
    )

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
        if self.format == "sd-jwt" and self.stack is not None:
            raise ValueError("a stack is issued as an edc or obv3 credential, not sd-jwt")
        return self

    @field_validator("validUntil")
    @classmethod
    def _after_award(cls, value: AwareDatetime | None, info: ValidationInfo) -> Any:
        awarded = info.data.get("awardedOn")
        if value is not None and isinstance(awarded, date) and value.date() <= awarded:
            raise ValueError("validUntil must be after awardedOn")
        return value

    @model_validator(mode="after")
    def _assessed_with_a_grade(self) -> MicroCredentialIn:
        if self.assessingOrganisations and not self.grade:
            raise ValueError("assessingOrganisations needs a grade (ELM assessments have one)")
        return self

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
    logo: bytes | None = None
    """The issuer's logo on its certificates: a PNG checked on upload (``app.credentials.logos``).
    """
    logo_uri: str | None = None
    """The issuer's logo as an http(s) URL or a ``data:image/…`` URI (Open Badges' ``image``,
    an EDC's logo when a data URI), or None."""

    def __post_init__(self) -> None:
        if not URI_PATTERN.fullmatch(self.did):
            raise ValueError(f"issuer DID {self.did!r} is not an absolute URI")
        if not self.name or not all(isinstance(v, str) and v.strip() for v in self.name.values()):
            raise ValueError("issuer name must be a non-empty language map")
        for language in self.name:
            check_language_key(language)
        if not re.fullmatch(r"[A-Z0-9]{3}", self.country) or (
            vocabularies().scheme("country").get(self.country) is None
        ):
            raise ValueError(f"issuer country {self.country!r} is not an alpha-3 code")
        if not self.legal_identifier.strip():
            raise ValueError("issuer legal identifier must not be empty")
        if self.homepage is not None:
            check_http_url(self.homepage)
        if self.colour is not None and not re.fullmatch(r"#[0-9a-fA-F]{6}", self.colour):
            raise ValueError(f"issuer colour {self.colour!r} is not #rrggbb")
        if self.logo_uri is not None:
            check_logo(self.logo_uri)


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
    logo: str | None = None


def issuer_body(issuer: IssuerProfile, logo: str | None = None) -> AwardingBody:
    """The issuer as an awarding body; ``logo`` (a request's) replaces the issuer's own."""
    return AwardingBody(
        key="issuer",
        id=issuer.did,
        name=issuer.name,
        country=issuer.country,
        legal_identifier=issuer.legal_identifier,
        homepage=issuer.homepage,
        is_issuer=True,
        logo=logo or issuer.logo_uri,
    )


def organisation_body(organisation: OrganisationIn, key: str) -> AwardingBody:
    return AwardingBody(
        key=key,
        id=organisation.id,
        name=organisation.name,
        country=organisation.country,
        legal_identifier=organisation.legalIdentifier,
        homepage=organisation.homepage,
        logo=organisation.logo,
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
            bodies.append(issuer_body(issuer, organisation.logo))
        else:
            bodies.append(organisation_body(organisation, f"body-{index}"))
    return bodies


def issuing_body(mc: MicroCredentialIn, issuer: IssuerProfile) -> AwardingBody:
    """The issuer as a body of the credential: with the logo a request gives it as an awarding
    body, else its own."""
    for body in awarding_bodies(mc, issuer):
        if body.is_issuer:
            return body
    return issuer_body(issuer)


def format_decimal(value: Decimal) -> str:
    """``Decimal("2.50")`` → ``"2.5"``, ``Decimal("60")`` → ``"60"`` (no exponent)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
