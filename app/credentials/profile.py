"""Which mandatory EU micro-credential elements a credential lacks (for the verifier).

The elements are those of the Council Recommendation on micro-credentials (2022/C 243/02,
Annex I, part I), named as in :data:`EU_ELEMENTS`. A credential is read as an EDC when its
``type`` holds ``EuropeanDigitalCredential`` and as an Open Badge when it holds
``OpenBadgeCredential`` or ``AchievementCredential``; the paths looked at are those written by
:func:`app.credentials.edc.build_edc` and :func:`app.credentials.obv3.build_obv3` (and, for an
EDC, the equivalent places the official Europass samples use). Any other credential lacks
every element. JSON-LD lets a single value stand for a one-element array; both are accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from app.jsonld.values import as_list, types_of

EU_ELEMENTS = (
    "learner",
    "title",
    "awardingBody",
    "country",
    "awardedOn",
    "learningOutcomes",
    "workload",
    "assessment",
    "participation",
    "qualityAssurance",
)

_EDC_TYPES = {"EuropeanDigitalCredential"}
_OB_TYPES = {"OpenBadgeCredential", "AchievementCredential"}
_SNB = "http://data.europa.eu/snb/"


def _objects(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in as_list(value) if isinstance(item, Mapping)]


def _get(nodes: Any, *path: str) -> list[Any]:
    """All values at ``path`` below ``nodes`` (a node or a list), following arrays at every step."""
    current = as_list(nodes)
    for key in path:
        current = [v for item in _objects(current) for v in as_list(item.get(key))]
    return current


def _present(values: Iterable[Any]) -> bool:
    """Some value that is not empty (a non-blank string, a non-empty map, a number, a bool)."""
    for value in values:
        if isinstance(value, str) and value.strip():
            return True
        if isinstance(value, Mapping) and any(_present(as_list(v)) for v in value.values()):
            return True
        if isinstance(value, bool | int | float) and not isinstance(value, str):
            return True
    return False


def _concept_ids(values: Iterable[Any]) -> list[str]:
    """The ids of concept nodes (or IRIs given as strings) among ``values``."""
    ids = []
    for value in values:
        identifier = value.get("id") if isinstance(value, Mapping) else value
        if isinstance(identifier, str) and identifier:
            ids.append(identifier)
    return ids


# --- European Digital Credential ----------------------------------------------------------------


def _edc_checks(credential: Mapping[str, Any]) -> dict[str, Callable[[], bool]]:
    subject = _objects(credential.get("credentialSubject"))
    claims = [c for s in subject for c in _objects(s.get("hasClaim"))]
    specs = [s for c in claims for s in _objects(c.get("specifiedBy"))]
    assessments = [a for c in claims for a in _objects(c.get("provenBy"))]
    assessment_specs = [s for a in assessments for s in _objects(a.get("specifiedBy"))] + [
        s for spec in specs for s in _objects(spec.get("provenBy"))
    ]
    bodies = [b for c in claims for b in _get(c, "awardedBy", "awardingBody")]

    def learner() -> bool:
        for person in subject:
            person_id = person.get("id")
            if isinstance(person_id, str) and person_id.startswith("did:"):
                return True
            keys = ("fullName", "givenName", "familyName", "identifier", "nationalID")
            if any(_present(as_list(person.get(key))) for key in keys):
                return True
            if _present(_get(person, "contactPoint", "emailAddress")):
                return True
        return False

    def workload() -> bool:
        credits = _get(specs, "creditPoint", "point") + _get(
            {"c": claims}, "c", "creditReceived", "point"
        )
        hours = [s.get("volumeOfLearning") for s in specs]
        return _present(credits) or _present(hours)

    def participation() -> bool:
        activities = _get(claims, "influencedBy", "specifiedBy", "mode")
        return bool(_concept_ids([m for s in specs for m in as_list(s.get("mode"))] + activities))

    def quality_assurance() -> bool:
        return bool(
            [a for s in specs for a in _objects(s.get("accreditation"))]
            + _get(bodies, "accreditation")
            + _get(credential, "evidence", "accreditation")
        )

    return {
        "learner": learner,
        "title": lambda: _present(_get(claims, "title")) or _present(_get(specs, "title")),
        "awardingBody": lambda: _present(_get(bodies, "legalName")),
        "country": lambda: bool(
            _concept_ids(_get(credential, "issuer", "location", "address", "countryCode"))
        ),
        "awardedOn": lambda: (
            _present(_get(claims, "awardedBy", "awardingDate"))
            or _present(as_list(credential.get("issued")))
            or _present(as_list(credential.get("issuanceDate")))
            or _present(as_list(credential.get("validFrom")))
        ),
        "learningOutcomes": lambda: (
            _present(_get(specs, "learningOutcome", "title"))
            or _present(_get(specs, "learningOutcomeSummary", "noteLiteral"))
        ),
        "workload": workload,
        "assessment": lambda: bool(_concept_ids(_get(assessment_specs, "dcType"))),
        "participation": participation,
        "qualityAssurance": quality_assurance,
    }


# --- Open Badges 3.0 ---------------------------------------------------------------------------


def _ob_checks(credential: Mapping[str, Any]) -> dict[str, Callable[[], bool]]:
    subjects = _objects(credential.get("credentialSubject"))
    achievements = [a for s in subjects for a in _objects(s.get("achievement"))]
    alignments = [a for ach in achievements for a in _objects(ach.get("alignment"))]
    issuers = _objects(credential.get("issuer"))

    def aligned_to(scheme: str) -> bool:
        prefix = f"{_SNB}{scheme}/"
        return any(str(a.get("targetUrl", "")).startswith(prefix) for a in alignments)

    def learner() -> bool:
        return any(
            _present(as_list(s.get("id"))) or _present(_get(s, "identifier", "identityHash"))
            for s in subjects
        )

    def awarding_body() -> bool:
        creators = _get(achievements, "creator", "name")
        return _present(_get(issuers, "name")) or _present(creators)

    def workload() -> bool:
        credits = [a.get("creditsAvailable") for a in achievements]
        credits += [s.get("creditsEarned") for s in subjects]
        return _present(credits) or any(
            a.get("targetType") == "ext:VolumeOfLearning" for a in alignments
        )

    return {
        "learner": learner,
        "title": lambda: _present(a.get("name") for a in achievements),
        "awardingBody": awarding_body,
        "country": lambda: (
            _present(_get(issuers, "address", "addressCountry"))
            or _present(_get(issuers, "address", "addressCountryCode"))
        ),
        "awardedOn": lambda: (
            _present(as_list(credential.get("awardedDate")))
            or _present(as_list(credential.get("validFrom")))
        ),
        "learningOutcomes": lambda: (
            any(a.get("targetType") == "ext:ESCOSkill" for a in alignments)
            or _present(_get(achievements, "criteria", "narrative"))
        ),
        "workload": workload,
        "assessment": lambda: (
            aligned_to("assessment") or bool(_get(achievements, "resultDescription"))
        ),
        "participation": lambda: aligned_to("learning-assessment"),
        "qualityAssurance": lambda: (
            aligned_to("accreditation") or bool(_get(achievements, "endorsement"))
        ),
    }


def missing_eu_elements(credential: Mapping[str, Any]) -> list[str]:
    """The mandatory EU micro-credential elements ``credential`` lacks, in :data:`EU_ELEMENTS`
    order; ``[]`` when it has them all. A credential neither EDC nor OBv3 lacks them all."""
    types = types_of(credential)
    if types & _EDC_TYPES:
        checks = _edc_checks(credential)
    elif types & _OB_TYPES:
        checks = _ob_checks(credential)
    else:
        return list(EU_ELEMENTS)
    return [element for element in EU_ELEMENTS if not checks[element]()]
