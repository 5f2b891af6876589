"""An EU micro-credential as an SD-JWT VC (``dc+sd-jwt``): claims, disclosure policy, Type Metadata.

The claims come from the same :class:`~app.credentials.microcredential.MicroCredentialIn` the
JSON-LD shapes are built from, named in the JWT way (``snake_case``; the learner's name and
date of birth as the OpenID Connect claims ``given_name``, ``family_name``, ``birthdate``).

Which claims the holder may leave out is the issuer's :class:`DisclosurePolicy`. What a verifier
needs to trust the credential at all (issuer, title, level, workload, award date) is always
disclosed and no policy can make it selectable; by default the learner's personal data and the
grade are selectively disclosable and the rest of the course description is always disclosed.

The ``vct`` is ``{public_url}/vct/{issuer slug}/{kind}``; :func:`type_metadata` is the document
served there (SD-JWT VC section 6): display names in every EU language of the caption catalogue
and, per claim, its labels and whether it is selectively disclosable (``sd``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.credentials.microcredential import (
    IssuerProfile,
    MicroCredentialIn,
    awarding_bodies,
    format_decimal,
)
from app.credentials.render import EU_LANGUAGES, captions

MEDIA_TYPE = "dc+sd-jwt"
#: The one credential kind so far; the vct path names it so more kinds can follow.
MICROCREDENTIAL = "microcredential"
KINDS = (MICROCREDENTIAL,)

#: Always disclosed whatever the issuer's policy: without them the credential says nothing.
MANDATORY = frozenset(
    {"issuer_name", "issuing_country", "title", "eqf_level", "workload", "awarded_on"}
)
#: The learner's personal data.
LEARNER_CLAIMS = (
    "given_name",
    "family_name",
    "birthdate",
    "email",
    "learner_id",
    "learner_identifier",
)
#: Course claims an issuer may make selectively disclosable too.
COURSE_CLAIMS = (
    "description",
    "awarding_bodies",
    "learning_outcomes",
    "qf_ehea_cycle",
    "assessment",
    "participation",
    "quality_assurance",
    "prerequisites",
    "supervision",
    "stackability",
    "further_information",
    "grade",
)
SELECTABLE = frozenset(LEARNER_CLAIMS) | frozenset(COURSE_CLAIMS)
DEFAULT_SELECTABLE = frozenset(LEARNER_CLAIMS) | {"grade"}


class PolicyError(ValueError):
    """A disclosure policy names a claim that is mandatory or unknown."""


@dataclass(frozen=True)
class DisclosurePolicy:
    """The claims the holder may leave out (all others are always disclosed)."""

    selectable: frozenset[str] = DEFAULT_SELECTABLE

    @classmethod
    def of(cls, names: Iterable[str] | None) -> DisclosurePolicy:
        if names is None:
            return cls()
        chosen = frozenset(names)
        mandatory = sorted(chosen & MANDATORY)
        if mandatory:
            raise PolicyError(f"always disclosed, cannot be selectable: {', '.join(mandatory)}")
        unknown = sorted(chosen - SELECTABLE)
        if unknown:
            raise PolicyError(f"not claims of the micro-credential: {', '.join(unknown)}")
        return cls(chosen)


def vct_url(public_url: str, issuer_slug: str, kind: str = MICROCREDENTIAL) -> str:
    return f"{public_url.rstrip('/')}/vct/{issuer_slug}/{kind}"


def _number(value: Decimal) -> int | float:
    text = format_decimal(value)
    return int(text) if "." not in text else float(text)


def _organisation(name: Mapping[str, str], country: str, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"name": dict(name), "country": country}
    result.update({k: v for k, v in extra.items() if v is not None})
    return result


def claims(
    mc: MicroCredentialIn,
    issuer: IssuerProfile,
    *,
    vct: str,
    issued_at: datetime,
    holder_jwk: Mapping[str, Any] | None,
    status: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The SD-JWT VC claims set of ``mc`` before any is made selectively disclosable."""
    learner = mc.learner
    workload: dict[str, Any] = {}
    if mc.workload.ects is not None:
        workload["ects"] = _number(mc.workload.ects)
    if mc.workload.hours is not None:
        workload["hours"] = _number(mc.workload.hours)
    optional: dict[str, Any] = {
        "given_name": learner.givenName,
        "family_name": learner.familyName,
        "birthdate": learner.dateOfBirth.isoformat() if learner.dateOfBirth else None,
        "email": learner.email,
        "learner_id": learner.id,
        "learner_identifier": (
            learner.identifier.model_dump(mode="json") if learner.identifier else None
        ),
        "description": dict(mc.description) if mc.description else None,
        "awarding_bodies": [
            _organisation(
                body.name,
                body.country,
                id=body.id,
                legal_identifier=body.legal_identifier,
                homepage=body.homepage,
            )
            for body in awarding_bodies(mc, issuer)
        ],
        "learning_outcomes": [
            {
                "title": dict(outcome.title),
                **({"esco_skills": s} if (s := outcome.esco_skills) else {}),
            }
            for outcome in mc.learningOutcomes
        ],
        "qf_ehea_cycle": mc.qfEheaCycle,
        "assessment": mc.assessment.model_dump(mode="json", exclude_none=True),
        "participation": mc.participation.model_dump(mode="json", exclude_none=True),
        "quality_assurance": mc.qualityAssurance.model_dump(mode="json", exclude_none=True),
        "prerequisites": dict(mc.prerequisites) if mc.prerequisites else None,
        "supervision": mc.supervision,
        "stackability": (
            mc.stackability.model_dump(mode="json", exclude_none=True) if mc.stackability else None
        ),
        "further_information": dict(mc.furtherInformation) if mc.furtherInformation else None,
        "grade": mc.grade,
    }
    result: dict[str, Any] = {
        "iss": issuer.did,
        "iat": int(issued_at.timestamp()),
        "vct": vct,
        "issuer_name": dict(issuer.name),
        "issuing_country": issuer.country,
        "title": dict(mc.title),
        "eqf_level": mc.eqfLevel,
        "workload": workload,
        "awarded_on": mc.awardedOn.isoformat(),
    }
    if mc.validUntil is not None:
        result["exp"] = int(mc.validUntil.timestamp())
    if holder_jwk is not None:
        result["cnf"] = {"jwk": dict(holder_jwk)}
    if status is not None:
        result["status"] = dict(status)
    result.update({name: value for name, value in optional.items() if value is not None})
    return {name: value for name, value in result.items() if value is not None}


#: Labels of claims the caption catalogue has, by caption key.
_CAPTIONED = {
    "issuer_name": "issuer",
    "title": "heading",
    "eqf_level": "level",
    "workload": "workload",
    "awarded_on": "date_of_award",
    "awarding_bodies": "awarding_body",
    "learning_outcomes": "outcomes",
    "assessment": "assessment",
    "participation": "participation",
    "quality_assurance": "quality_assurance",
    "grade": "grade",
}
#: Labels of the other claims, in the languages given here (English for the rest).
_LABELS: dict[str, dict[str, str]] = {
    "given_name": {"en": "Given name", "de": "Vorname", "fr": "Prénom", "es": "Nombre"},
    "family_name": {"en": "Family name", "de": "Familienname", "fr": "Nom", "es": "Apellidos"},
    "birthdate": {
        "en": "Date of birth",
        "de": "Geburtsdatum",
        "fr": "Date de naissance",
        "es": "Fecha de nacimiento",
    },
    "email": {"en": "E-mail", "de": "E-Mail", "fr": "Courriel", "es": "Correo electrónico"},
    "learner_id": {"en": "Learner identifier (URI)"},
    "learner_identifier": {"en": "Learner identifier"},
    "issuing_country": {"en": "Country of the issuer", "de": "Land des Ausstellers"},
    "description": {"en": "Description", "de": "Beschreibung", "fr": "Description"},
    "qf_ehea_cycle": {"en": "QF-EHEA cycle"},
    "prerequisites": {"en": "Prerequisites", "de": "Voraussetzungen", "fr": "Prérequis"},
    "supervision": {"en": "Supervision and identity verification"},
    "stackability": {"en": "Stackability"},
    "further_information": {"en": "Further information"},
}
CLAIM_ORDER = (
    "issuer_name",
    "issuing_country",
    "title",
    "eqf_level",
    "workload",
    "awarded_on",
    *LEARNER_CLAIMS,
    *COURSE_CLAIMS,
)


def _labels(claim: str) -> list[dict[str, str]]:
    key = _CAPTIONED.get(claim)
    if key is not None:
        return [{"locale": lang, "label": captions(lang)[key]} for lang in sorted(EU_LANGUAGES)]
    return [{"locale": lang, "label": label} for lang, label in _LABELS[claim].items()]


def type_metadata(
    vct: str, issuer_name: Mapping[str, str], policy: DisclosurePolicy
) -> dict[str, Any]:
    """The SD-JWT VC Type Metadata document of ``vct`` for an issuer with ``policy``."""
    display = []
    for lang in sorted(EU_LANGUAGES):
        heading = captions(lang)["heading"]
        issuer = issuer_name.get(lang) or next(iter(issuer_name.values()))
        display.append({"locale": lang, "name": heading, "description": f"{heading} · {issuer}"})
    return {
        "vct": vct,
        "name": "EU micro-credential",
        "description": "A micro-credential per Council Recommendation 2022/C 243/02, Annex I",
        "display": display,
        "claims": [
            {
                "path": [claim],
                "display": _labels(claim),
                "sd": "allowed" if claim in policy.selectable else "never",
                "mandatory": claim in MANDATORY - {"eqf_level"},
            }
            for claim in CLAIM_ORDER
        ],
    }
