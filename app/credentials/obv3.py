"""Open Badges 3.0 ``OpenBadgeCredential`` (VC 2.0) from a micro-credential (MAPPING.md §7).

=====  ======================  ================================================================
M1     learner                 ``credentialSubject.id`` (DID) and ``credentialSubject.identifier[]``
                               (IdentityObject: ``name``, ``emailAddress``, ``ext:<scheme>``)
M2     title                   ``achievement.name`` and the credential ``name``
M3     issuer country          ``issuer.address`` (``addressCountry``, ``addressCountryCode``
                               alpha-2); awarding bodies likewise
M4     awarding body           ``issuer`` (Profile, ``otherIdentifier`` = legal identifier);
                               ``achievement.creator`` = the (first) awarding body; a joint
                               award (two or more bodies with DIDs) names each in an
                               ``ext:AwardingBody`` alignment (``targetUrl`` its DID)
M5     date                    ``validFrom`` (issuance), ``awardedDate`` (award)
M6     learning outcomes       ``achievement.criteria.narrative`` (all of them) and one
                               ``alignment`` per linked ESCO skill (``targetType ext:ESCOSkill``)
M7     workload                ``achievement.creditsAvailable`` and
                               ``credentialSubject.creditsEarned`` (ECTS), an alignment to the
                               ECTS concept (the credit system OB lacks), hours as an
                               alignment to ELM ``volumeOfLearning``
                               (``targetCode PT60H``)
M8     level                   alignment to ``http://data.europa.eu/snb/eqf/<n>``
M9     type of assessment      ``achievement.resultDescription[0]`` (aligned to the assessment
                               type concept) and an alignment
M10    form of participation   alignments to the mode and learning-setting concepts
M11    quality assurance       an alignment to the accreditation-type concept (agency named in
                               ``targetDescription``)
O1-O5  prerequisites,          ``criteria.narrative``; supervision also as an alignment;
       supervision, grade,     grade as ``credentialSubject.result[0]``; stackability as
       stackability, further   alignments to the parent programmes; further information in the
       information             narrative
=====  ======================  ================================================================

OB has no native field for several EU elements; they are carried only with terms the OB 3.0.3
context defines (``alignment``, ``tag``, ``criteria.narrative``, ``otherIdentifier``), so the
credential stays valid JSON-LD with no undefined term. Alignments to EU vocabulary concepts use
``targetUrl`` = the concept URI, ``targetCode`` = its notation, and an ``ext:`` ``targetType``
(the OB enumeration is extensible only that way). Names are single strings in OB: the first
language of the request's title is used.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.credentials.microcredential import (
    AwardingBody,
    IssuerProfile,
    MicroCredentialIn,
    awarding_bodies,
    format_decimal,
    issuing_body,
    pick,
)
from app.credentials.vocabularies import Concept, vocabularies
from app.datetimes import format_date, format_datetime

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
ELM_VOLUME_OF_LEARNING = "http://data.europa.eu/snb/model/elm/volumeOfLearning"
ECTS = "http://data.europa.eu/snb/education-credit/6fcec5c5af"

#: ``targetType`` of the alignments that carry EU elements (OB's extensible enumeration).
TARGET_TYPES: Mapping[str, str] = {
    "esco": "ext:ESCOSkill",
    "eqf": "ext:EQFLevel",
    "credit-system": "ext:CreditSystem",
    "hours": "ext:VolumeOfLearning",
    "mode": "ext:ModeOfLearning",
    "setting": "ext:LearningSetting",
    "assessment": "ext:AssessmentType",
    "supervision": "ext:SupervisionAndIdVerification",
    "quality-assurance": "ext:QualityAssurance",
    "part-of": "ext:IsPartOf",
    "nqf": "ext:NQFLevel",
    "isced-f": "ext:ISCEDF",
    "awarding-body": "ext:AwardingBody",
}

_FRAMEWORKS: Mapping[str, str] = {
    "eqf": "European Qualifications Framework (EQF)",
    "education-credit": "Europass credit systems",
    "learning-assessment": "Europass modes of learning and assessment",
    "learning-setting": "Europass learning settings",
    "assessment": "Europass assessment types",
    "supervision-verification": "Europass supervision and identity verification",
    "accreditation": "Europass accreditation and quality-assurance types",
    "isced-f": "ISCED-F 2013 fields of education and training",
}

Json = dict[str, Any]


def _urn(namespace: uuid.UUID, local: str) -> str:
    return f"urn:uuid:{uuid.uuid5(namespace, local)}"


def _alignment(
    target_url: str,
    target_name: str,
    target_type: str,
    *,
    framework: str | None = None,
    code: str | None = None,
    description: str | None = None,
) -> Json:
    node: Json = {"type": ["Alignment"], "targetName": target_name, "targetUrl": target_url}
    if description:
        node["targetDescription"] = description
    if framework:
        node["targetFramework"] = framework
    if code:
        node["targetCode"] = code
    node["targetType"] = target_type
    return node


def _concept_alignment(uri: str, kind: str, description: str | None = None) -> Json:
    concept = vocabularies().by_uri(uri)
    if concept is None:  # the request model only lets vocabulary URIs through
        raise ValueError(f"{uri} is not a concept of the vocabularies")
    return _alignment(
        concept.id,
        concept.pref_label,
        TARGET_TYPES[kind],
        framework=_FRAMEWORKS.get(_scheme_key(concept)),
        code=concept.notation,
        description=description,
    )


def _image(location: str, caption: str) -> Json:
    """An OB ``Image`` (a URL or a ``data:`` URI) with its caption."""
    return {"id": location, "type": "Image", "caption": caption}


def _scheme_key(concept: Concept) -> str:
    return concept.scheme.split("/")[4] if "/snb/" in concept.scheme else ""


def _credits(value: Decimal) -> float:
    return float(value)


def ext_identity_type(scheme: str) -> str:
    """``student-number`` → ``ext:student-number`` (OB's pattern for extension values)."""
    return "ext:" + (re.sub(r"[^A-Za-z0-9._-]+", "-", scheme).strip("-") or "identifier")


class _ObBuilder:
    def __init__(self, mc: MicroCredentialIn, issuer: IssuerProfile, credential_id: str) -> None:
        self.mc = mc
        self.issuer = issuer
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, credential_id)
        self.language = mc.primary_language
        self.bodies = awarding_bodies(mc, issuer)

    def text(self, texts: Mapping[str, str]) -> str:
        return pick(texts, self.language)

    def label(self, uri: str) -> str:
        concept = vocabularies().by_uri(uri)
        return concept.pref_label if concept else uri

    def profile(self, body: AwardingBody) -> Json:
        country = vocabularies().concept("country", body.country)
        address: Json = {"type": ["Address"], "addressCountry": country.pref_label}
        alpha2 = vocabularies().country_alpha2(country.notation)
        if alpha2:
            address["addressCountryCode"] = alpha2
        node: Json = {
            "id": body.id or _urn(self.namespace, f"profile/{body.key}"),
            "type": ["Profile"],
            "name": self.text(body.name),
        }
        if body.homepage:
            node["url"] = body.homepage
        if body.logo:
            node["image"] = _image(body.logo, self.text(body.name))
        node["address"] = address
        if body.legal_identifier:
            node["otherIdentifier"] = [
                {
                    # The 1EdTech JSON Schema wants the plain string here.
                    "type": "IdentifierEntry",
                    "identifier": body.legal_identifier,
                    "identifierType": "ext:eIDASLegalIdentifier"
                    if body.is_issuer
                    else "ext:LegalIdentifier",
                }
            ]
        return node

    def identities(self) -> list[Json]:
        learner = self.mc.learner
        entries: list[tuple[str, str]] = []
        if learner.full_name:
            entries.append(("name", learner.full_name))
        if learner.email:
            entries.append(("emailAddress", learner.email))
        if learner.identifier:
            entries.append((ext_identity_type(learner.identifier.scheme), learner.identifier.value))
        return [
            {"type": "IdentityObject", "identityHash": value, "identityType": kind, "hashed": False}
            for kind, value in entries
        ]

    def alignments(self) -> list[Json]:
        mc = self.mc
        aligned: list[Json] = []
        for outcome in mc.learningOutcomes:
            labels = outcome.esco_labels
            for skill in outcome.esco_skills:
                # The skill's own label when the request gives it, else the outcome's title.
                name = self.text(labels[skill]) if skill in labels else self.text(outcome.title)
                aligned.append(_alignment(skill, name, TARGET_TYPES["esco"], framework="ESCO"))
        if mc.eqfLevel is not None:
            level = vocabularies().concept("eqf", str(mc.eqfLevel))
            aligned.append(_concept_alignment(level.id, "eqf", f"EQF level {mc.eqfLevel}"))
        if mc.nqfLevel is not None:
            aligned.append(
                _alignment(
                    mc.nqfLevel.id,
                    self.text(mc.nqfLevel.label),
                    TARGET_TYPES["nqf"],
                    framework="National qualifications frameworks",
                )
            )
        for area in mc.subjectAreas:
            aligned.append(_concept_alignment(area, "isced-f"))
        if mc.workload.ects is not None:
            aligned.append(
                _concept_alignment(
                    ECTS, "credit-system", f"{format_decimal(mc.workload.ects)} ECTS credits"
                )
            )
        if mc.workload.hours is not None:
            hours = format_decimal(mc.workload.hours)
            aligned.append(
                _alignment(
                    ELM_VOLUME_OF_LEARNING,
                    f"Notional workload: {hours} hours",
                    TARGET_TYPES["hours"],
                    framework="European Learning Model",
                    code=f"PT{hours}H",
                )
            )
        aligned.append(_concept_alignment(mc.participation.mode, "mode"))
        if mc.participation.setting:
            aligned.append(_concept_alignment(mc.participation.setting, "setting"))
        aligned.append(_concept_alignment(mc.assessment.type, "assessment"))
        if mc.supervision:
            aligned.append(_concept_alignment(mc.supervision, "supervision"))
        aligned.append(
            _concept_alignment(mc.qualityAssurance.type, "quality-assurance", self.qa_text())
        )
        if mc.stackability is not None:
            for part_of in mc.stackability.partOf:
                if part_of.url:
                    aligned.append(
                        _alignment(part_of.url, self.text(part_of.title), TARGET_TYPES["part-of"])
                    )
        # A jointly awarded badge (two or more awarding bodies with DIDs) names every body:
        # OB's achievement has one creator, and verifiers check each body's proof.
        joint = [body for body in self.bodies if body.id and body.id.startswith("did:")]
        if len(joint) >= 2:
            for body in joint:
                assert body.id is not None
                aligned.append(
                    _alignment(
                        body.id,
                        self.text(body.name),
                        TARGET_TYPES["awarding-body"],
                        framework="Awarding bodies",
                    )
                )
        return aligned

    def qa_text(self) -> str:
        qa = self.mc.qualityAssurance
        agency = qa.agency
        agent_name = self.text(agency.name) if agency else self.text(self.bodies[0].name)
        agent_country = agency.country if agency else self.bodies[0].country
        parts = [self.label(qa.type)]
        if qa.title:
            parts.append(self.text(qa.title))
        parts.append(f"by {agent_name} ({agent_country})")
        if qa.url:
            parts.append(qa.url)
        return "; ".join(parts)

    def narrative(self) -> str:
        mc = self.mc
        lines = ["Learning outcomes:"]
        lines += [f"- {self.text(outcome.title)}" for outcome in mc.learningOutcomes]
        assessment = self.label(mc.assessment.type)
        if mc.assessment.title:
            assessment = f"{self.text(mc.assessment.title)} ({assessment})"
        sections = [
            ("Type of assessment", assessment),
            (
                "Form of participation",
                ", ".join(
                    self.label(uri)
                    for uri in (mc.participation.mode, mc.participation.setting)
                    if uri
                ),
            ),
            ("Quality assurance", self.qa_text()),
        ]
        if mc.prerequisites:
            sections.append(("Prerequisites", self.text(mc.prerequisites)))
        if mc.supervision:
            sections.append(("Supervision and identity verification", self.label(mc.supervision)))
        if mc.qfEheaCycle:
            sections.append(("QF-EHEA cycle", mc.qfEheaCycle))
        if mc.stackability is not None:
            stack = "stand-alone" if mc.stackability.standalone else "integrated"
            parents = [self.text(p.title) for p in mc.stackability.partOf]
            if parents:
                stack += "; stacks towards: " + "; ".join(parents)
            sections.append(("Stackability", stack))
        if len(self.bodies) > 1:
            sections.append(
                ("Awarding bodies", "; ".join(self.text(body.name) for body in self.bodies))
            )
        if mc.furtherInformation:
            sections.append(("Further information", self.text(mc.furtherInformation)))
        lines += ["", *(f"{name}: {value}" for name, value in sections)]
        return "\n".join(lines)

    def tags(self) -> list[str]:
        mc = self.mc
        tags = ["EU micro-credential"]
        if mc.workload.ects is not None:
            tags.append(f"{format_decimal(mc.workload.ects)} ECTS")
        if mc.workload.hours is not None:
            tags.append(f"{format_decimal(mc.workload.hours)} hours")
        if mc.eqfLevel is not None:
            tags.append(f"EQF {mc.eqfLevel}")
        if mc.qfEheaCycle:
            tags.append(f"QF-EHEA {mc.qfEheaCycle} cycle")
        tags.append(self.label(mc.participation.mode))
        return tags

    def result_description_id(self) -> str:
        return _urn(self.namespace, "result-description/assessment")

    def achievement(self) -> Json:
        mc = self.mc
        assessment = mc.assessment
        assessment_title = (
            self.text(assessment.title) if assessment.title else self.label(assessment.type)
        )
        node: Json = {
            "id": _urn(self.namespace, "achievement"),
            "type": ["Achievement"],
            "achievementType": "MicroCredential",
            "name": self.text(mc.title),
            "description": self.text(mc.description) if mc.description else self.text(mc.title),
            "criteria": {"narrative": self.narrative()},
            "inLanguage": self.language,
            "creator": self.profile(self.bodies[0]),
        }
        if self.bodies[0].logo:
            node["image"] = _image(self.bodies[0].logo, self.text(self.bodies[0].name))
        if mc.workload.ects is not None:
            node["creditsAvailable"] = _credits(mc.workload.ects)
        if mc.subjectAreas:
            node["fieldOfStudy"] = "; ".join(self.label(uri) for uri in mc.subjectAreas)
        node["alignment"] = self.alignments()
        node["resultDescription"] = [
            {
                "id": self.result_description_id(),
                "type": ["ResultDescription"],
                "name": assessment_title,
                "resultType": "Result",
                "alignment": [_concept_alignment(mc.assessment.type, "assessment")],
            }
        ]
        node["tag"] = self.tags()
        return node

    def subject(self) -> Json:
        mc = self.mc
        node: Json = {}
        if mc.learner.id:
            node["id"] = mc.learner.id
        node["type"] = ["AchievementSubject"]
        identities = self.identities()
        if identities:
            node["identifier"] = identities
        node["achievement"] = self.achievement()
        activity = mc.learningActivity
        if activity is not None and activity.startDate is not None:
            node["activityStartDate"] = format_datetime(activity.startDate)
        if activity is not None and activity.endDate is not None:
            node["activityEndDate"] = format_datetime(activity.endDate)
        if mc.workload.ects is not None:
            node["creditsEarned"] = _credits(mc.workload.ects)
        if mc.grade:
            node["result"] = [
                {
                    "type": ["Result"],
                    "resultDescription": self.result_description_id(),
                    "value": mc.grade,
                }
            ]
        return node


def build_obv3(
    mc: MicroCredentialIn,
    issuer: IssuerProfile,
    *,
    credential_id: str,
    issued: datetime,
    status: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The unsigned ``OpenBadgeCredential`` of ``mc`` (see the module docstring for the paths).

    ``issued`` (aware) is ``validFrom``; ``status`` becomes ``credentialStatus`` (the VC 2.0
    context defines ``BitstringStatusListEntry``): one object, as the 1EdTech JSON Schema
    requires, so at most one entry is accepted. The learner's date of birth is not carried: an
    OB achievement subject has no such property. The issuer's and the first awarding body's
    logo become the ``image`` of the issuer and of the achievement (and its creator).
    """
    builder = _ObBuilder(mc, issuer, credential_id)
    credential: Json = {
        "@context": [VC_V2_CONTEXT, OB_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": builder.text(mc.title),
    }
    if mc.description:
        credential["description"] = builder.text(mc.description)
    credential["issuer"] = builder.profile(issuing_body(mc, issuer))
    credential["validFrom"] = format_datetime(issued)
    if mc.validUntil is not None:
        credential["validUntil"] = format_datetime(mc.validUntil)
    credential["awardedDate"] = format_date(mc.awardedOn)
    credential["credentialSubject"] = builder.subject()
    entries = [status] if isinstance(status, Mapping) else list(status or [])
    if len(entries) > 1:
        raise ValueError("an Open Badge carries one credentialStatus object (1EdTech schema)")
    if entries:
        credential["credentialStatus"] = dict(entries[0])
    return credential
