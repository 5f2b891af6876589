"""What a credential's certificate shows, read from the signed document: :class:`Content` in
one language, from a Europass EDC, an Open Badge 3.0 or any VC.

Reading the document (not the request it was built from) means any credential the service holds
has a certificate, whatever built it. :mod:`app.credentials.pdf` draws the content as a PDF.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.credentials.render import (
    DEFAULT_COLOUR,
    captions,
    distinct,
)

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Logo:
    """An issuer's logo: ``png`` or ``svg`` bytes, already validated (:mod:`app.web.branding`)."""

    kind: str
    data: bytes


@dataclass(frozen=True)
class Content:
    """What the certificate shows, in one language."""

    language: str
    issuer_name: str
    learner: str
    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    identity: str = ""
    link: str | None = None
    colour: str = DEFAULT_COLOUR
    logo: Logo | None = None
    issued: datetime = _EPOCH


def _nodes(value: Any) -> list[Mapping[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, Mapping)]


def _first(value: Any) -> Mapping[str, Any]:
    nodes = _nodes(value)
    return nodes[0] if nodes else {}


def _text(value: Any, language: str) -> str | None:
    """A string, or the ``language`` entry of a language map (else English, else the first)."""
    if isinstance(value, list):
        for item in value:
            found = _text(item, language)
            if found:
                return found
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, Mapping):
        if "@value" in value:
            return _text(value["@value"], language)
        for key in (language, "en"):
            if isinstance(value.get(key), str) and value[key].strip():
                return str(value[key]).strip()
        for entry in value.values():
            if isinstance(entry, str) and entry.strip():
                return entry.strip()
    return None


def _label(node: Any, language: str) -> str | None:
    concept = _first(node)
    label = _text(concept.get("prefLabel"), language)
    return label[:1].upper() + label[1:] if label else None


def _date(value: Any) -> str | None:
    return value[:10] if isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\d", value) else None


def _organisation_name(node: Any, language: str) -> str | None:
    organisation = _first(node)
    return _text(organisation.get("legalName"), language) or _text(
        organisation.get("name"), language
    )


def _body(node: Mapping[str, Any], language: str) -> str | None:
    """An awarding body's name, and its country as the certificate picture gives it."""
    name = _organisation_name(node, language)
    address = _first(_first(node.get("location")).get("address"))
    country = _label(address.get("countryCode"), language)
    return f"{name} ({country})" if name and country else name


#: Open Badge alignments (``targetType``) this service writes, and the caption each fills.
_ALIGNED_FACTS = {
    "ext:EQFLevel": "level",
    "ext:AssessmentType": "assessment",
    "ext:ModeOfLearning": "participation",
    "ext:LearningSetting": "participation",
    "ext:QualityAssurance": "quality_assurance",
}


def _open_badge_facts(
    achievement: Mapping[str, Any],
    facts: list[tuple[str, str]],
    text: Mapping[str, str],
    language: str,
) -> tuple[list[tuple[str, str]], list[str]]:
    """An Open Badge's facts and outcomes from its achievement's alignments: ESCO skills are
    outcomes, the EU facts fill their captions; the description when no outcome is aligned."""
    filled: dict[str, list[str | None]] = {}
    outcomes = []
    for alignment in _nodes(achievement.get("alignment")):
        kind = alignment.get("targetType")
        name = _text(alignment.get("targetName"), language)
        if kind == "ext:ESCOSkill" and name:
            outcomes.append(name)
        elif isinstance(kind, str) and kind in _ALIGNED_FACTS:
            described = _text(alignment.get("targetDescription"), language)
            filled.setdefault(_ALIGNED_FACTS[kind], []).append(described or name)
    for key in ("level", "assessment", "participation", "quality_assurance"):
        values = distinct(filled.get(key, []))
        if values:
            facts.append((text[key], " · ".join(value[:1].upper() + value[1:] for value in values)))
    if not outcomes:
        description = _text(achievement.get("description"), language)
        outcomes = [description] if description else []
    return facts, outcomes


def _open_badge_name(subject: Mapping[str, Any]) -> str | None:
    """The learner's name an Open Badge states in the clear (an unhashed ``name`` identity)."""
    for identity in _nodes(subject.get("identifier")):
        if identity.get("identityType") == "name" and identity.get("hashed") is False:
            value = identity.get("identityHash")
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _hours(duration: Any) -> str | None:
    match = re.fullmatch(r"PT(\d+(?:\.\d+)?)H", duration) if isinstance(duration, str) else None
    return f"{match.group(1)} h" if match else None


def _issued(document: Mapping[str, Any]) -> datetime:
    for name in ("issued", "validFrom", "issuanceDate"):
        value = document.get(name)
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return _EPOCH


def content_from_document(
    document: Mapping[str, Any],
    language: str,
    *,
    link: str | None = None,
    colour: str | None = None,
    logo: Logo | None = None,
) -> Content:
    """What the certificate of ``document`` (a Europass EDC, an Open Badge 3.0 or any VC) shows
    in ``language``: captions from the certificate's catalogue, values in ``language`` where the
    credential has them."""
    text = captions(language)
    subject = _first(document.get("credentialSubject"))
    claim = _first(subject.get("hasClaim"))
    achievement = _first(subject.get("achievement"))
    spec = _first(claim.get("specifiedBy"))
    issuer = document.get("issuer")
    issuer_name = (
        _organisation_name(issuer, language)
        or (issuer if isinstance(issuer, str) else _text(_first(issuer).get("id"), language))
        or ""
    )
    learner = (
        _text(subject.get("fullName"), language)
        or _text(subject.get("name"), language)
        or " ".join(
            part
            for part in (
                _text(subject.get("givenName"), language),
                _text(subject.get("familyName"), language),
            )
            if part
        )
        or _open_badge_name(subject)
        or _text(subject.get("id"), language)
        or ""
    )
    title = (
        _text(claim.get("title"), language)
        or _text(achievement.get("name"), language)
        or _text(document.get("name"), language)
        or text["heading"]
    )
    facts: list[tuple[str, str]] = []
    awarded = _first(claim.get("awardedBy"))
    bodies = [_body(body, language) for body in _nodes(awarded.get("awardingBody"))]
    if any(bodies):
        facts.append((text["awarding_body"], "; ".join(distinct(bodies))))
    elif issuer_name:
        facts.append((text["issuer"], issuer_name))
    award_date = (
        _date(awarded.get("awardingDate"))
        or _date(document.get("awardedDate"))
        or _date(_issued(document).isoformat())
    )
    if award_date and award_date != _EPOCH.date().isoformat():
        facts.append((text["date_of_award"], award_date))
    valid_until = _date(document.get("validUntil")) or _date(document.get("expirationDate"))
    if valid_until:
        facts.append((text["valid_until"], valid_until))
    credit = _first(spec.get("creditPoint") or claim.get("creditReceived"))
    workload = distinct(
        [
            f"{credit['point']} ECTS" if isinstance(credit.get("point"), str) else None,
            _hours(spec.get("volumeOfLearning")),
        ]
    )
    credits = subject.get("creditsEarned")
    if not workload and isinstance(credits, int | float) and not isinstance(credits, bool):
        workload = [f"{credits:g} ECTS"]
    if workload:
        facts.append((text["workload"], " · ".join(workload)))
    eqf = _label(spec.get("eqfLevel"), "en") or ""
    eqf_level = re.fullmatch(r"Level (\d)", eqf)
    levels = [text["eqf"].format(n=eqf_level.group(1)) if eqf_level else eqf or None]
    for note in _nodes(spec.get("additionalNote")):
        if "QF-EHEA" not in (_text(_first(note.get("subject")).get("prefLabel"), "en") or ""):
            continue
        written = _text(note.get("noteLiteral"), "en") or ""
        cycle = re.fullmatch(r"QF-EHEA (short-cycle|first|second|third) cycle", written)
        levels.append(text[f"qf_{cycle.group(1)}"] if cycle else written or None)
    if any(levels):
        facts.append((text["level"], " · ".join(distinct(levels))))
    proven = _first(claim.get("provenBy"))
    assessment = distinct(
        [
            _text(proven.get("title"), language),
            _label(_first(proven.get("specifiedBy")).get("dcType"), language),
        ]
    )
    if assessment:
        facts.append((text["assessment"], " · ".join(assessment)))
    grade = _text(_first(proven.get("grade")).get("noteLiteral"), language)
    if grade:
        facts.append((text["grade"], grade))
    participation = distinct(
        [_label(spec.get("mode"), language), _label(spec.get("learningSetting"), language)]
    )
    if participation:
        facts.append((text["participation"], " · ".join(participation)))
    accreditation = _first(spec.get("accreditation"))
    quality = distinct(
        [
            _label(accreditation.get("dcType"), language),
            _text(accreditation.get("title"), language),
            _organisation_name(accreditation.get("accreditingAgent"), language),
        ]
    )
    if quality:
        facts.append((text["quality_assurance"], " · ".join(quality)))
    outcomes = [
        found
        for found in (
            _text(outcome.get("title"), language) for outcome in _nodes(spec.get("learningOutcome"))
        )
        if found
    ]
    if achievement and not spec:
        facts, outcomes = _open_badge_facts(achievement, facts, text, language)
    organisation = _first(issuer)
    identifier = _first(organisation.get("eIDASIdentifier") or organisation.get("legalIdentifier"))
    identity = " · ".join(
        distinct(
            [
                issuer_name,
                _text(identifier.get("notation"), language),
                _label(identifier.get("spatial"), language),
            ]
        )
    )
    return Content(
        language=language,
        issuer_name=issuer_name,
        learner=learner,
        title=title,
        facts=facts,
        outcomes=outcomes,
        identity=identity,
        link=link,
        colour=colour or DEFAULT_COLOUR,
        logo=logo,
        issued=_issued(document),
    )
