"""Europass European Digital Credential (ELM v3, VC 1.1 envelope) from a micro-credential.

The shape follows ``shared/edc/MAPPING.md`` §1.4 and §4 (element → path):

=====  ===========================  =========================================================
M1     learner                      ``credentialSubject`` (Person: names, dateOfBirth,
                                    ``identifier[]``, ``contactPoint[].emailAddress``)
M2     title                        ``hasClaim[0].title``, ``…specifiedBy.title``,
                                    ``displayParameter.title``
M3     issuer country               ``issuer.location[].address[].countryCode``,
                                    ``issuer.eIDASIdentifier.spatial``
M4     awarding body                ``hasClaim[0].awardedBy.awardingBody[]``
M5     date                         ``issued``/``issuanceDate``/``validFrom``;
                                    ``awardedBy.awardingDate``
M6     learning outcomes            ``specifiedBy.learningOutcome[]`` (+ ``relatedESCOSkill``)
M7     workload                     ``specifiedBy.creditPoint[]`` (ECTS),
                                    ``specifiedBy.volumeOfLearning`` (hours, ``PT60H``);
                                    ``hasClaim[0].creditReceived[]``
M8     level                        ``specifiedBy.eqfLevel``; QF-EHEA cycle as an
                                    ``additionalNote``
M9     type of assessment           ``specifiedBy.provenBy[0].dcType`` (the assessment
                                    specification); with a grade also ``hasClaim[0].provenBy[0]``
                                    (LearningAssessment: ``grade``, ``idVerification``,
                                    ``specifiedBy`` = that specification)
M10    form of participation        ``specifiedBy.mode[]``, ``specifiedBy.learningSetting``
M11    quality assurance            ``specifiedBy.accreditation[]`` (Accreditation)
O1     prerequisites                ``specifiedBy.entryRequirement``
O2     supervision / ID check       ``provenBy[0].idVerification`` (without a grade: a note
                                    on the assessment specification whose subject is it)
O3     grade                        ``provenBy[0].grade``
O4     stackability                 ``specifiedBy.isPartialQualification``, ``isPartOf[]``
O5     further information          ``specifiedBy.additionalNote[]``
=====  ===========================  =========================================================

ELM needs a ``grade`` on every LearningAssessment, so without a grade the assessment is
described by its specification only (``Qualification.provenBy``), never with an invented grade.

Every node has an ``id``: concept URIs for controlled values, the issuer's DID for the issuer,
the learner's DID when given, otherwise ``urn:epass:<class>:<uuid>`` with a UUID derived (v5)
from ``credential_id``, so the same input gives the same document.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.credentials.microcredential import (
    ESCO_SKILLS_SCHEME,
    AwardingBody,
    IssuerProfile,
    MicroCredentialIn,
    OrganisationIn,
    PartOfIn,
    awarding_bodies,
    format_decimal,
    issuing_body,
    organisation_body,
)
from app.credentials.render import render_pages
from app.credentials.vocabularies import Concept, vocabularies
from app.datetimes import format_date, format_datetime

VC_V1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
EDC_CONTEXT = "http://data.europa.eu/snb/model/context/edc-ap"
STATUS_V1_CONTEXT = "https://www.w3.org/ns/credentials/status/v1"
EDC_GENERIC_FULL = "http://data.europa.eu/snb/model/ap/edc-generic-full"
GENERIC_PROFILE = "http://data.europa.eu/snb/credential/e34929035b"
BASE64_ENCODING = "http://data.europa.eu/snb/encoding/6146cde7dd"
ECTS = "http://data.europa.eu/snb/education-credit/6fcec5c5af"
MANDATE = "http://data.europa.eu/snb/evidence-type/c_18016257"
NQF_SCHEME = "http://data.europa.eu/snb/qdr/25831c2"
CERTIFICATE_NUMBER = "Certificate number"
#: ``data:`` URI media types an EDC logo may have (the file types of the EU table we write).
LOGO_FILE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG"}

Json = dict[str, Any]


class _Ids:
    """``urn:epass:<kind>:<uuid5>`` ids, stable for one ``credential_id``."""

    def __init__(self, credential_id: str) -> None:
        self._namespace = uuid.uuid5(uuid.NAMESPACE_URL, credential_id)

    def __call__(self, kind: str, local: str = "") -> str:
        return f"urn:epass:{kind}:{uuid.uuid5(self._namespace, f'{kind}/{local}')}"


def concept_node(concept: Concept) -> Json:
    return {
        "id": concept.id,
        "type": "Concept",
        "inScheme": {"id": concept.scheme, "type": "ConceptScheme"},
        "prefLabel": {"en": concept.pref_label},
    }


def _concept(uri: str) -> Json:
    concept = vocabularies().by_uri(uri)
    if concept is None:  # the request model only lets vocabulary URIs through
        raise ValueError(f"{uri} is not a concept of the vocabularies")
    return concept_node(concept)


def _esco_skill(uri: str, label: Mapping[str, str] | None = None) -> Json:
    # The ESCO labels are not in the offline snapshot: a skill carries the label the request
    # gives, else its URI alone identifies it.
    node: Json = {
        "id": uri,
        "type": "Concept",
        "inScheme": {"id": ESCO_SKILLS_SCHEME, "type": "ConceptScheme"},
    }
    if label:
        node["prefLabel"] = dict(label)
    return node


def _note(node_id: str, text: Mapping[str, str], subject: Json | None = None) -> Json:
    note: Json = {"id": node_id, "type": "Note", "noteLiteral": dict(text)}
    if subject is not None:
        note["subject"] = subject
    return note


def _topic(slug: str, label: str) -> Json:
    """The subject of an additional note: a topic concept of ours (no EU vocabulary has one)."""
    return {"id": f"urn:epass:concept:{slug}", "type": "Concept", "prefLabel": {"en": label}}


def web_resource(node_id: str, url: str) -> Json:
    return {"id": node_id, "type": "WebResource", "contentURL": url}


class EdcBuilder:
    def __init__(self, mc: MicroCredentialIn, issuer: IssuerProfile, credential_id: str) -> None:
        self.mc = mc
        self.issuer = issuer
        self.ids = _Ids(credential_id)
        self.language = mc.primary_language
        self.countries = vocabularies().scheme("country")
        self.bodies = awarding_bodies(mc, issuer)

    # --- organisations -------------------------------------------------------------------

    def location(self, body: AwardingBody) -> Json:
        return {
            "id": self.ids("location", body.key),
            "type": "Location",
            "address": [
                {
                    "id": self.ids("address", body.key),
                    "type": "Address",
                    "countryCode": concept_node(self.countries.lookup(body.country)),
                }
            ],
        }

    def organisation(self, body: AwardingBody) -> Json:
        node: Json = {
            "id": body.id or self.ids("org", body.key),
            "type": "Organisation",
            "legalName": dict(body.name),
        }
        if body.legal_identifier:
            identifier = {
                "id": self.ids("legalIdentifier", body.key),
                "type": "LegalIdentifier",
                "notation": body.legal_identifier,
                "spatial": concept_node(self.countries.lookup(body.country)),
            }
            # The issuer's legal identifier is the one EDC requires (IssuerNodeShape).
            node["eIDASIdentifier" if body.is_issuer else "registration"] = identifier
        node["location"] = [self.location(body)]
        if body.homepage:
            node["homepage"] = [web_resource(self.ids("webResource", body.key), body.homepage)]
        logo = self.logo(body)
        if logo is not None:
            node["logo"] = logo
        return node

    def logo(self, body: AwardingBody) -> Json | None:
        """An embedded PNG or JPEG logo (a ``data:`` URI) as a MediaObject; an ELM MediaObject
        holds its content, so a logo given by URL is not carried in the EDC."""
        if not body.logo or not body.logo.startswith("data:"):
            return None
        media_type, _, content = body.logo.removeprefix("data:").partition(";base64,")
        file_type = LOGO_FILE_TYPES.get(media_type)
        if file_type is None:
            return None
        return {
            "id": self.ids("mediaObject", f"logo-{body.key}"),
            "type": "MediaObject",
            "content": content,
            "contentEncoding": _concept(BASE64_ENCODING),
            "contentType": concept_node(vocabularies().concept("file-type", file_type)),
        }

    def other_organisation(self, organisation: OrganisationIn, key: str) -> Json:
        return self.organisation(organisation_body(organisation, key))

    # --- the learner -----------------------------------------------------------------------

    def person(self, claim: Json) -> Json:
        learner = self.mc.learner
        node: Json = {"id": learner.id or self.ids("person"), "type": "Person"}
        # Person names are single-valued in the EDC shapes: one language, the credential's.
        if learner.full_name:
            node["fullName"] = {self.language: learner.full_name}
        if learner.givenName:
            node["givenName"] = {self.language: learner.givenName}
        if learner.familyName:
            node["familyName"] = {self.language: learner.familyName}
        if learner.dateOfBirth:
            node["dateOfBirth"] = format_date(learner.dateOfBirth)
        if learner.identifier:
            node["identifier"] = [
                {
                    "id": self.ids("identifier", "learner"),
                    "type": "Identifier",
                    "notation": learner.identifier.value,
                    "schemeName": learner.identifier.scheme,
                }
            ]
        if learner.email:
            node["contactPoint"] = [
                {
                    "id": self.ids("contactPoint", "learner"),
                    "type": "ContactPoint",
                    "emailAddress": [{"id": f"mailto:{learner.email}", "type": "Mailbox"}],
                }
            ]
        node["hasClaim"] = [claim]
        return node

    # --- what was achieved -----------------------------------------------------------------

    def credit_point(self, local: str, ects: Decimal) -> Json:
        return {
            "id": self.ids("creditPoint", local),
            "type": "CreditPoint",
            "framework": _concept(ECTS),
            "point": format_decimal(ects),
        }

    def learning_outcomes(self) -> list[Json]:
        outcomes = []
        for index, outcome in enumerate(self.mc.learningOutcomes):
            node: Json = {
                "id": self.ids("learningOutcome", str(index)),
                "type": "LearningOutcome",
                "title": dict(outcome.title),
            }
            if outcome.esco_skills:
                labels = outcome.esco_labels
                node["relatedESCOSkill"] = [
                    _esco_skill(uri, labels.get(uri)) for uri in outcome.esco_skills
                ]
            outcomes.append(node)
        return outcomes

    def assessment_specification(self) -> Json:
        assessment = self.mc.assessment
        spec: Json = {
            "id": self.ids("learningAssessmentSpec"),
            "type": "LearningAssessmentSpecification",
            "title": self.assessment_title(),
            "dcType": _concept(assessment.type),
        }
        if assessment.mode:
            spec["mode"] = [_concept(assessment.mode)]
        if assessment.gradingScheme:
            spec["gradingScheme"] = {
                "id": self.ids("gradingScheme"),
                "type": "GradingScheme",
                "title": dict(assessment.gradingScheme),
            }
        if self.mc.supervision and not self.mc.grade:
            supervision = _concept(self.mc.supervision)
            spec["additionalNote"] = [
                _note(
                    self.ids("note", "supervision"),
                    {"en": supervision["prefLabel"]["en"]},
                    supervision,
                )
            ]
        return spec

    def assessment_title(self) -> dict[str, str]:
        if self.mc.assessment.title:
            return dict(self.mc.assessment.title)
        return dict(_concept(self.mc.assessment.type)["prefLabel"])

    def assessment(self, specification: Json, awarding_process_id: str, grade: str) -> Json:
        node: Json = {
            "id": self.ids("learningAssessment"),
            "type": "LearningAssessment",
            "title": self.assessment_title(),
            "grade": _note(self.ids("note", "grade"), {self.language: grade}),
        }
        if self.mc.supervision:
            node["idVerification"] = _concept(self.mc.supervision)
        if self.mc.assessingOrganisations:
            node["assessedBy"] = [
                self.other_organisation(organisation, f"assessor-{index}")
                for index, organisation in enumerate(self.mc.assessingOrganisations)
            ]
        node["awardedBy"] = {"id": awarding_process_id, "type": "AwardingProcess"}
        node["specifiedBy"] = specification
        return node

    def accreditation(self) -> Json:
        qa = self.mc.qualityAssurance
        agent = (
            organisation_body(qa.agency, "qa-agency") if qa.agency is not None else self.bodies[0]
        )
        node: Json = {
            "id": self.ids("accreditation"),
            "type": "Accreditation",
            "dcType": _concept(qa.type),
            "title": dict(qa.title) if qa.title else dict(_concept(qa.type)["prefLabel"]),
            "accreditingAgent": self.organisation(agent),
        }
        if qa.url:
            node["landingPage"] = [web_resource(self.ids("webResource", "qa"), qa.url)]
        return node

    def qualification(self) -> Json:
        mc = self.mc
        spec: Json = {
            "id": self.ids("qualification"),
            "type": "Qualification",
            "title": dict(mc.title),
        }
        if mc.description:
            spec["description"] = dict(mc.description)
        spec["learningOutcome"] = self.learning_outcomes()
        if mc.workload.hours is not None:
            spec["volumeOfLearning"] = f"PT{format_decimal(mc.workload.hours)}H"
        if mc.workload.ects is not None:
            spec["creditPoint"] = [self.credit_point("specification", mc.workload.ects)]
        if mc.eqfLevel is not None:
            spec["eqfLevel"] = concept_node(vocabularies().concept("eqf", str(mc.eqfLevel)))
        if mc.nqfLevel is not None:
            spec["nqfLevel"] = {
                "id": mc.nqfLevel.id,
                "type": "Concept",
                "inScheme": {"id": NQF_SCHEME, "type": "ConceptScheme"},
                "prefLabel": dict(mc.nqfLevel.label),
            }
        if mc.subjectAreas:
            spec["thematicArea"] = [_concept(uri) for uri in mc.subjectAreas]
        if mc.qualificationType:
            spec["dcType"] = _concept(mc.qualificationType)
        spec["mode"] = [_concept(mc.participation.mode)]
        if mc.participation.setting:
            spec["learningSetting"] = _concept(mc.participation.setting)
        if mc.prerequisites:
            spec["entryRequirement"] = _note(self.ids("note", "prerequisites"), mc.prerequisites)
        if mc.stackability is not None:
            spec["isPartialQualification"] = not mc.stackability.standalone
            if mc.stackability.partOf:
                spec["isPartOf"] = [
                    self.parent(index, part_of)
                    for index, part_of in enumerate(mc.stackability.partOf)
                ]
        spec["accreditation"] = [self.accreditation()]
        notes = self.additional_notes()
        if notes:
            spec["additionalNote"] = notes
        spec["provenBy"] = [self.assessment_specification()]
        return spec

    def parent(self, index: int, part_of: PartOfIn) -> Json:
        node: Json = {
            "id": self.ids("qualification", f"part-of-{index}"),
            "type": "Qualification",
            "title": dict(part_of.title),
        }
        if part_of.url:
            page_id = self.ids("webResource", f"part-of-{index}")
            node["homepage"] = [web_resource(page_id, part_of.url)]
        return node

    def additional_notes(self) -> list[Json]:
        notes = []
        if self.mc.qfEheaCycle:
            notes.append(
                _note(
                    self.ids("note", "qf-ehea"),
                    {"en": f"QF-EHEA {self.mc.qfEheaCycle} cycle"},
                    _topic("qf-ehea-cycle", "Level in the QF-EHEA (cycle)"),
                )
            )
        if self.mc.furtherInformation:
            notes.append(
                _note(
                    self.ids("note", "further-information"),
                    self.mc.furtherInformation,
                    _topic("further-information", "Further information"),
                )
            )
        return notes

    def achievement(self) -> Json:
        mc = self.mc
        awarding_process_id = self.ids("awardingProcess")
        claim: Json = {
            "id": self.ids("learningAchievement"),
            "type": "LearningAchievement",
            "title": dict(mc.title),
        }
        if mc.description:
            claim["description"] = dict(mc.description)
        claim["awardedBy"] = {
            "id": awarding_process_id,
            "type": "AwardingProcess",
            "awardingBody": [self.organisation(body) for body in self.bodies],
            "awardingDate": format_date(mc.awardedOn),
            "location": self.location(self.bodies[0]),
        }
        if mc.learningActivity is not None:
            claim["influencedBy"] = [self.learning_activity(awarding_process_id)]
        if mc.workload.ects is not None:
            claim["creditReceived"] = [self.credit_point("received", mc.workload.ects)]
        specification = self.qualification()
        if mc.grade:
            claim["provenBy"] = [
                self.assessment(specification["provenBy"][0], awarding_process_id, mc.grade)
            ]
        claim["specifiedBy"] = specification
        return claim

    def learning_activity(self, awarding_process_id: str) -> Json:
        """The ``LearningActivity`` taken part in, with its specification (a claim too: it is
        awarded by the credential's awarding process)."""
        activity = self.mc.learningActivity
        assert activity is not None
        title = dict(activity.title) if activity.title else dict(self.mc.title)
        spec: Json = {
            "id": self.ids("learningActivitySpec"),
            "type": "LearningActivitySpecification",
            "title": title,
        }
        if activity.languages:
            spec["language"] = [
                concept_node(vocabularies().language(code)) for code in activity.languages
            ]
        if activity.mode:
            spec["mode"] = [_concept(activity.mode)]
        if activity.hours is not None:
            spec["volumeOfLearning"] = f"PT{format_decimal(activity.hours)}H"
        if activity.type:
            spec["dcType"] = _concept(activity.type)
        node: Json = {
            "id": self.ids("learningActivity"),
            "type": "LearningActivity",
            "title": title,
        }
        if activity.description:
            node["description"] = dict(activity.description)
        if activity.startDate or activity.endDate:
            period: Json = {"id": self.ids("periodOfTime", "activity"), "type": "PeriodOfTime"}
            if activity.startDate:
                period["startDate"] = format_datetime(activity.startDate)
            if activity.endDate:
                period["endDate"] = format_datetime(activity.endDate)
            node["temporal"] = period
        if activity.directedBy:
            node["directedBy"] = [
                self.other_organisation(organisation, f"director-{index}")
                for index, organisation in enumerate(activity.directedBy)
            ]
        node["awardedBy"] = {"id": awarding_process_id, "type": "AwardingProcess"}
        node["specifiedBy"] = spec
        return node

    def mandate(self) -> Json | None:
        """Evidence of the issuer's mandate when it seals for awarding bodies it is not one of."""
        if not self.mc.mandateStatement or any(body.is_issuer for body in self.bodies):
            return None
        return {
            "id": self.ids("evidence", "mandate"),
            "type": "Evidence",
            "evidenceStatement": self.mc.mandateStatement,
            "dcType": _concept(MANDATE),
        }

    # --- how it is shown ---------------------------------------------------------------------

    def display(self, images: Mapping[str, bytes]) -> Json:
        languages = vocabularies()
        primary = self.language if self.language in images else next(iter(images))
        node: Json = {
            "id": self.ids("displayParameter"),
            "type": "DisplayParameter",
            "title": dict(self.mc.title),
        }
        if self.mc.description:
            node["description"] = dict(self.mc.description)
        node["language"] = [concept_node(languages.language(code)) for code in images]
        node["primaryLanguage"] = concept_node(languages.language(primary))
        node["individualDisplay"] = [
            {
                "id": self.ids("individualDisplay", code),
                "type": "IndividualDisplay",
                "language": concept_node(languages.language(code)),
                "displayDetail": [
                    {
                        "id": self.ids("displayDetail", f"{code}-1"),
                        "type": "DisplayDetail",
                        "page": 1,
                        "image": {
                            "id": self.ids("mediaObject", f"{code}-1"),
                            "type": "MediaObject",
                            "content": base64.b64encode(png).decode("ascii"),
                            "contentEncoding": _concept(BASE64_ENCODING),
                            "contentType": concept_node(languages.concept("file-type", "PNG")),
                        },
                    }
                ],
            }
            for code, png in images.items()
        ]
        return node


def build_edc(
    mc: MicroCredentialIn,
    issuer: IssuerProfile,
    *,
    credential_id: str,
    issued: datetime,
    status: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None,
    display_images: Mapping[str, bytes] | None = None,
) -> dict[str, Any]:
    """The unsigned EDC of ``mc`` issued by ``issuer`` (see the module docstring for the paths).

    ``credential_id`` is the credential's absolute IRI (e.g. ``urn:uuid:…``); ``issued`` an
    aware datetime (``issued``, ``issuanceDate`` and ``validFrom``). ``status`` is put as
    ``credentialStatus`` as it is; when given, the Bitstring Status List context
    (``https://www.w3.org/ns/credentials/status/v1``) is added to ``@context`` so that a
    ``BitstringStatusListEntry`` is defined. ``display_images`` maps ISO 639-1 codes to PNG
    pages; by default one page per title language is rendered (:mod:`app.credentials.render`).

    The result expands with no dropped term under the pinned contexts and conforms to the
    ``edc-generic-full`` shapes, except that a ``credentialStatus`` object breaks the shapes'
    ``xsd:anyURI`` constraint (see :mod:`app.credentials.shacl`).
    """
    builder = EdcBuilder(mc, issuer, credential_id)
    images = dict(display_images) if display_images is not None else render_pages(mc, issuer)
    if not images:
        raise ValueError("display_images must hold at least one page")
    issued_at = format_datetime(issued)
    context: list[str] = [VC_V1_CONTEXT, EDC_CONTEXT]
    if status is not None:
        context.append(STATUS_V1_CONTEXT)
    credential: Json = {
        "@context": context,
        "id": credential_id,
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "credentialProfiles": [_concept(mc.credentialProfile or GENERIC_PROFILE)],
        "credentialSchema": [{"id": EDC_GENERIC_FULL, "type": "ShaclValidator2017"}],
        "issuer": builder.organisation(issuing_body(mc, issuer)),
        "issuanceDate": issued_at,
        "issued": issued_at,
        "validFrom": issued_at,
    }
    if mc.validUntil is not None:
        valid_until = format_datetime(mc.validUntil)
        credential["validUntil"] = valid_until
        credential["expirationDate"] = valid_until
    if mc.certificateNumber:
        credential["identifier"] = [
            {
                "id": builder.ids("identifier", "certificate"),
                "type": "Identifier",
                "notation": mc.certificateNumber,
                "schemeName": CERTIFICATE_NUMBER,
            }
        ]
    credential["credentialSubject"] = builder.person(builder.achievement())
    mandate = builder.mandate()
    if mandate is not None:
        credential["evidence"] = [mandate]
    credential["displayParameter"] = builder.display(images)
    if status is not None:
        credential["credentialStatus"] = (
            dict(status) if isinstance(status, Mapping) else [dict(entry) for entry in status]
        )
    return credential
