"""Stackable micro-credentials: the parts a credential is awarded for, as each shape records them.

A stacked credential names each earlier credential it was awarded for ("part") by its
credential ``id`` and binds it by a digest: :func:`digest_sri`, the W3C Subresource Integrity
string (``sha384-<base64>``) of the part's JSON in RFC 8785 (JCS) form, proof included, the
form the VC Data Model 2.0 ``digestSRI`` property takes. A verifier holding the part recomputes
it; any change to the part (a claim, the proof) changes it.

* EDC (ELM v3): the learning achievement (``credentialSubject.hasClaim[0]``) gets
  ``hasPart[]`` (ELM "smaller units of achievement, which when combined make up this
  achievement"), one ``LearningAchievement`` per part: the part's ``title``, its
  ``awardedBy`` (an ``AwardingProcess`` whose ``awardingBody`` is the part's issuer: an
  ``Organisation`` with its legal name and country when known, else an ``Agent`` with its
  name), its ECTS as ``creditReceived``, and two ``identifier`` entries: the part's credential
  id (``schemeName`` :data:`PART_ID_SCHEME`) and its digest (``schemeName``
  :data:`DIGEST_SCHEME`). ELM has no digest property; an ``Identifier`` of the part's content
  is the ELM way to carry one, and the shapes accept it.
* Open Badges 3.0: one ``evidence`` entry per part (OB "evidence related to the achievement
  assertion"): ``id`` the part's credential id, ``name`` its title, ``genre``
  :data:`OB_GENRE`, a ``description`` naming its issuer, and ``digestSRI`` (a term of the VC
  2.0 context every Open Badge carries).

:func:`read_parts` reads the (id, digest) list back from a credential: what a verifier checks.
:func:`facts_of` reads what a part says of itself (title, issuer, learner, workload), and
:func:`same_learner` decides whether a part is the new credential's learner's.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from app.credentials.edc import ECTS, concept_node
from app.credentials.microcredential import MAX_STACK_PARTS, Learner, format_decimal
from app.credentials.obv3 import ext_identity_type
from app.credentials.vocabularies import vocabularies
from app.crypto.jcs import canonical_json
from app.jsonld.values import as_list, node_id, types_of

Json = dict[str, Any]

__all__ = [
    "DIGEST_SCHEME",
    "MAX_STACK_PARTS",
    "OB_GENRE",
    "PART_ID_SCHEME",
    "LearnerKeys",
    "PartFacts",
    "PartRef",
    "StackPart",
    "digest_sri",
    "facts_of",
    "read_parts",
    "record_parts",
    "same_learner",
    "shape_of",
    "workload_of",
]

#: ``schemeName`` of the EDC identifier that holds a part's credential id.
PART_ID_SCHEME = "Verifiable credential id"
#: ``schemeName`` of the EDC identifier that holds a part's digest.
DIGEST_SCHEME = "digestSRI (SHA-384 of the RFC 8785 JSON)"
#: ``genre`` of an Open Badge evidence entry that is a part of the stack.
OB_GENRE = "Stacked credential part"

_LANGUAGE_KEY = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_HOURS = re.compile(r"PT(\d{1,6}(?:\.\d{1,2})?)H")
_MAX_TEXT = 500

Shape = Literal["edc", "obv3", "vc"]


def digest_sri(document: Mapping[str, Any]) -> str:
    """``sha384-<base64>`` of ``document``'s RFC 8785 canonical JSON (its proof included)."""
    digest = hashlib.sha384(canonical_json(document).encode("utf-8")).digest()
    return "sha384-" + base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class LearnerKeys:
    """What identifies the learner of a credential: DID, (scheme, value) identifiers, e-mails.

    ``schemes`` are spelled as the shape writes them (EDC ``schemeName``; Open Badges
    ``identityType``); ``hashed`` holds Open Badges' salted hashes (type, hash, salt)."""

    did: str | None = None
    identifiers: frozenset[tuple[str, str]] = frozenset()
    emails: frozenset[str] = frozenset()
    hashed: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class PartFacts:
    """What a part credential says of itself, read from its (verified) JSON."""

    credential_id: str | None
    shape: Shape
    title: Mapping[str, str]
    issuer_id: str | None
    issuer_name: Mapping[str, str]
    #: ISO 3166-1 alpha-3 of the issuer's country when the part gives it
    issuer_country: str | None
    ects: Decimal | None
    hours: Decimal | None
    learner: LearnerKeys


@dataclass(frozen=True)
class StackPart:
    """A verified part, as the new credential records it."""

    credential_id: str
    digest: str
    facts: PartFacts


@dataclass(frozen=True)
class PartRef:
    """A part as a credential records it: its id and digest (None when missing), and where."""

    credential_id: str | None
    digest: str | None
    pointer: str


# -- reading a part ------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:_MAX_TEXT]
    return None


def _language_map(value: Any, language: str = "en") -> dict[str, str]:
    """A language map of ``value`` (a map or a plain string), only well-formed entries kept."""
    if isinstance(value, Mapping):
        found = {
            key: text
            for key, raw in value.items()
            if isinstance(key, str)
            and _LANGUAGE_KEY.fullmatch(key)
            and (text := _text(raw)) is not None
        }
        return dict(list(found.items())[:24])
    text = _text(value)
    return {language: text} if text else {}


def _first(value: Any) -> Mapping[str, Any]:
    for item in as_list(value):
        if isinstance(item, Mapping):
            return item
    return {}


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number > 0 else None


def _hours(value: Any) -> Decimal | None:
    match = _HOURS.fullmatch(value) if isinstance(value, str) else None
    return _decimal(match.group(1)) if match else None


def _country(value: Any) -> str | None:
    """Alpha-3 of a country concept URI or an alpha-2/alpha-3 code of the EU table."""
    code = node_id(value) if isinstance(value, Mapping) else value
    if not isinstance(code, str):
        return None
    concept = vocabularies().scheme("country").get(code)
    return concept.notation if concept is not None else None


def shape_of(document: Mapping[str, Any]) -> Shape:
    types = types_of(document)
    if "EuropeanDigitalCredential" in types:
        return "edc"
    if types & {"OpenBadgeCredential", "AchievementCredential"}:
        return "obv3"
    return "vc"


def _did(value: Any) -> str | None:
    """A learner's subject id that names the person (not an id the EDC builder derived)."""
    if isinstance(value, str) and value and not value.startswith("urn:epass:"):
        return value
    return None


def _edc_learner(subject: Mapping[str, Any]) -> LearnerKeys:
    identifiers = set()
    for entry in as_list(subject.get("identifier")):
        if isinstance(entry, Mapping):
            scheme, value = _text(entry.get("schemeName")), _text(entry.get("notation"))
            if scheme and value:
                identifiers.add((scheme, value))
    emails = set()
    for point in as_list(subject.get("contactPoint")):
        for box in as_list(point.get("emailAddress") if isinstance(point, Mapping) else None):
            address = node_id(box)
            if address and address.startswith("mailto:"):
                emails.add(address.removeprefix("mailto:").casefold())
    return LearnerKeys(_did(node_id(subject)), frozenset(identifiers), frozenset(emails))


def _ob_learner(subject: Mapping[str, Any]) -> LearnerKeys:
    identifiers: set[tuple[str, str]] = set()
    emails: set[str] = set()
    hashed: list[tuple[str, str, str]] = []
    for entry in as_list(subject.get("identifier")):
        if not isinstance(entry, Mapping):
            continue
        kind, value = _text(entry.get("identityType")), _text(entry.get("identityHash"))
        if not kind or not value:
            continue
        if entry.get("hashed") is True:
            salt = entry.get("salt")
            hashed.append((kind, value, salt if isinstance(salt, str) else ""))
        elif kind == "emailAddress":
            emails.add(value.casefold())
        else:
            identifiers.add((kind, value))
    return LearnerKeys(
        _did(node_id(subject)), frozenset(identifiers), frozenset(emails), tuple(hashed)
    )


def facts_of(document: Mapping[str, Any]) -> PartFacts:
    """What ``document`` (a credential, already verified) says of itself; never raises."""
    shape = shape_of(document)
    credential_id = node_id(document)
    issuer = document.get("issuer")
    issuer_node = issuer if isinstance(issuer, Mapping) else {}
    subject = _first(document.get("credentialSubject"))
    fallback = {"en": credential_id or "credential"}
    if shape == "edc":
        claim = _first(subject.get("hasClaim"))
        specification = _first(claim.get("specifiedBy"))
        title = _language_map(claim.get("title")) or _language_map(
            _first(document.get("displayParameter")).get("title")
        )
        ects = None
        for credit in as_list(claim.get("creditReceived")) or as_list(
            specification.get("creditPoint")
        ):
            if isinstance(credit, Mapping) and node_id(credit.get("framework")) == ECTS:
                ects = _decimal(credit.get("point"))
                break
        address = _first(_first(issuer_node.get("location")).get("address"))
        return PartFacts(
            credential_id,
            shape,
            title or fallback,
            node_id(issuer),
            _language_map(issuer_node.get("legalName")),
            _country(address.get("countryCode")),
            ects,
            _hours(specification.get("volumeOfLearning")),
            _edc_learner(subject),
        )
    achievement = _first(subject.get("achievement"))
    language = _text(achievement.get("inLanguage")) or "en"
    language = language if _LANGUAGE_KEY.fullmatch(language) else "en"
    name_source = achievement.get("name") if shape == "obv3" else document.get("name")
    title = _language_map(name_source, language) or _language_map(document.get("name"), language)
    ects = hours = None
    for alignment in as_list(achievement.get("alignment")):
        if not isinstance(alignment, Mapping):
            continue
        if alignment.get("targetUrl") == ECTS:
            ects = _decimal(subject.get("creditsEarned"))
        if alignment.get("targetType") == "ext:VolumeOfLearning":
            hours = _hours(alignment.get("targetCode"))
    country = _country(_first(issuer_node.get("address")).get("addressCountryCode"))
    return PartFacts(
        credential_id,
        shape,
        title or fallback,
        node_id(issuer),
        _language_map(issuer_node.get("name"), language),
        country,
        ects,
        hours,
        _ob_learner(subject) if shape == "obv3" else LearnerKeys(_did(node_id(subject))),
    )


def _ob_hash(value: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((value + salt).encode("utf-8")).hexdigest()


def same_learner(learner: Learner, part: LearnerKeys) -> str | None:
    """None when ``part`` is ``learner``'s, else why not.

    The same learner: the part shares at least one identifier with the new credential's learner
    (the DID; an identifier of the same scheme and value; the e-mail address, case-insensitive;
    an Open Badges salted hash of one of them) and none contradicts it (another DID, or another
    value for the same identifier scheme)."""
    if learner.id and part.did and learner.id != part.did:
        return "its learner is another person: the learner's DID differs"
    wanted: set[tuple[str, str]] = set()
    if learner.identifier is not None:
        for scheme in (learner.identifier.scheme, ext_identity_type(learner.identifier.scheme)):
            wanted.add((scheme, learner.identifier.value))
            if any(s == scheme and v != learner.identifier.value for s, v in part.identifiers):
                return f"its learner is another person: another {learner.identifier.scheme}"
    email = learner.email.casefold() if learner.email else None
    plain = [value for value in (learner.email, learner.id) if value]
    if learner.identifier is not None:
        plain.append(learner.identifier.value)
    matched = (
        (learner.id is not None and learner.id == part.did)
        or bool(wanted & part.identifiers)
        or (email is not None and email in part.emails)
        or any(
            _ob_hash(value, salt) == digest or _ob_hash(value.casefold(), salt) == digest
            for _, digest, salt in part.hashed
            for value in plain
        )
    )
    if not matched:
        return (
            "its learner shares no identifier (DID, identifier, e-mail) with the learner of the "
            "new credential"
        )
    return None


def workload_of(parts: Sequence[StackPart]) -> tuple[Decimal | None, Decimal | None]:
    """The parts' ECTS and hours summed, each None unless every part states it."""
    ects = [part.facts.ects for part in parts if part.facts.ects is not None]
    hours = [part.facts.hours for part in parts if part.facts.hours is not None]
    return (
        sum(ects, Decimal(0)) if len(ects) == len(parts) else None,
        sum(hours, Decimal(0)) if len(hours) == len(parts) else None,
    )


# -- recording the parts in the new credential ---------------------------------------------------


def _ids(document: Mapping[str, Any]) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, str(document.get("id") or ""))


def _edc_id(namespace: uuid.UUID, kind: str, local: str) -> str:
    return f"urn:epass:{kind}:{uuid.uuid5(namespace, f'stack/{kind}/{local}')}"


def _awarding_body(
    part: StackPart, index: int, namespace: uuid.UUID, own_issuer: str | None, seen: set[str]
) -> Json:
    facts = part.facts
    body_id = facts.issuer_id or _edc_id(namespace, "org", str(index))
    if body_id == own_issuer or body_id in seen:  # the node is written in full elsewhere
        return {"id": body_id}
    seen.add(body_id)
    name = dict(facts.issuer_name) or {"en": body_id}
    if facts.issuer_country is None:
        return {"id": body_id, "type": "Agent", "prefLabel": name}
    country = concept_node(vocabularies().concept("country", facts.issuer_country))
    return {
        "id": body_id,
        "type": "Organisation",
        "legalName": name,
        "location": [
            {
                "id": _edc_id(namespace, "location", str(index)),
                "type": "Location",
                "address": [
                    {
                        "id": _edc_id(namespace, "address", str(index)),
                        "type": "Address",
                        "countryCode": country,
                    }
                ],
            }
        ],
    }


def edc_has_part(document: Mapping[str, Any], parts: Sequence[StackPart]) -> list[Json]:
    """The ``hasPart`` list of an EDC's learning achievement (see the module docstring)."""
    namespace = _ids(document)
    own_issuer = node_id(document.get("issuer"))
    seen: set[str] = set()
    ects_concept = vocabularies().by_uri(ECTS)
    nodes = []
    for index, part in enumerate(parts):
        local = str(index)
        node: Json = {
            "id": _edc_id(namespace, "learningAchievement", local),
            "type": "LearningAchievement",
            "title": dict(part.facts.title),
            "identifier": [
                {
                    "id": _edc_id(namespace, "identifier", f"{local}/id"),
                    "type": "Identifier",
                    "notation": part.credential_id,
                    "schemeName": PART_ID_SCHEME,
                },
                {
                    "id": _edc_id(namespace, "identifier", f"{local}/digest"),
                    "type": "Identifier",
                    "notation": part.digest,
                    "schemeName": DIGEST_SCHEME,
                },
            ],
            "awardedBy": {
                "id": _edc_id(namespace, "awardingProcess", local),
                "type": "AwardingProcess",
                "awardingBody": [_awarding_body(part, index, namespace, own_issuer, seen)],
            },
        }
        if part.facts.ects is not None and ects_concept is not None:
            node["creditReceived"] = [
                {
                    "id": _edc_id(namespace, "creditPoint", local),
                    "type": "CreditPoint",
                    "framework": concept_node(ects_concept),
                    "point": format_decimal(part.facts.ects),
                }
            ]
        nodes.append(node)
    return nodes


def _pick(texts: Mapping[str, str]) -> str:
    return next(iter(texts.values()), "")


def ob_evidence(parts: Sequence[StackPart]) -> list[Json]:
    """The Open Badges ``evidence`` entries of the parts (see the module docstring)."""
    entries = []
    for index, part in enumerate(parts):
        facts = part.facts
        issuer = _pick(facts.issuer_name) or facts.issuer_id or "an unnamed issuer"
        if facts.issuer_id and facts.issuer_id != issuer:
            issuer += f" ({facts.issuer_id})"
        entries.append(
            {
                "id": part.credential_id,
                "type": ["Evidence"],
                "name": _pick(facts.title),
                "description": f"Part {index + 1} of {len(parts)} of this stacked credential, "
                f"issued by {issuer}",
                "genre": OB_GENRE,
                "digestSRI": part.digest,
            }
        )
    return entries


def record_parts(document: Json, parts: Sequence[StackPart]) -> Json:
    """``document`` (an unsigned EDC or Open Badge) with its parts recorded."""
    if not parts:
        return document
    if shape_of(document) == "edc":
        claim = document["credentialSubject"]["hasClaim"][0]
        claim["hasPart"] = edc_has_part(document, parts)
    else:
        document["evidence"] = [*as_list(document.get("evidence")), *ob_evidence(parts)]
    return document


# -- reading the parts back ----------------------------------------------------------------------


def _members(
    node: Mapping[str, Any], key: str, pointer: str
) -> list[tuple[str, Mapping[str, Any]]]:
    """The objects of ``node[key]`` (one object or an array) with their JSON Pointers."""
    value = node.get(key)
    if isinstance(value, list):
        return [
            (f"{pointer}/{key}/{i}", item)
            for i, item in enumerate(value)
            if isinstance(item, Mapping)
        ]
    return [(f"{pointer}/{key}", value)] if isinstance(value, Mapping) else []


def read_parts(credential: Mapping[str, Any]) -> list[PartRef]:
    """The parts a credential records (empty when it is no stack), as its JSON says them: read
    after the one-reading check, so this is what the proof covers."""
    refs: list[PartRef] = []
    if shape_of(credential) == "edc":
        for at_subject, subject in _members(credential, "credentialSubject", ""):
            for at_claim, claim in _members(subject, "hasClaim", at_subject):
                for pointer, part in _members(claim, "hasPart", at_claim):
                    found: dict[str, str] = {}
                    for _, entry in _members(part, "identifier", pointer):
                        scheme, notation = entry.get("schemeName"), entry.get("notation")
                        if scheme in (PART_ID_SCHEME, DIGEST_SCHEME) and isinstance(notation, str):
                            found.setdefault(str(scheme), notation)
                    refs.append(
                        PartRef(found.get(PART_ID_SCHEME), found.get(DIGEST_SCHEME), pointer)
                    )
        return refs
    for pointer, entry in _members(credential, "evidence", ""):
        if "digestSRI" in entry:
            digest = entry.get("digestSRI")
            refs.append(
                PartRef(node_id(entry), digest if isinstance(digest, str) else None, pointer)
            )
    return refs
