"""A course version as an ELM v3 ``LearningOpportunity`` (JSON-LD), the form Europass reads.

The opportunity's ``id`` is the version's public URL; it is ``providedBy`` the issuer (an
``Organisation`` as in the issuer's EDCs) and its ``learningAchievementSpecification`` is the
``Qualification`` that the EDCs issued from the version carry as ``specifiedBy``, built by the
same code (:class:`app.credentials.edc.EdcBuilder`), with ids derived from the URL so that
they stay the same on every request. What only a course has is added to the specification:
the languages of instruction (``language``, EU language table) and the ISCED-F fields
(``thematicArea``, ELM ``ISCEDFCode``).

The context is the EDC one plus ``id``/``type`` aliases (the EDC context leaves those to the
VC context, which is not for catalogue entries). :func:`catalogue` puts several entries in
one ``@graph``.
"""

from __future__ import annotations

from typing import Any

from app.credentials.edc import EDC_CONTEXT, EdcBuilder, concept_node, web_resource
from app.credentials.microcredential import IssuerProfile, MicroCredentialIn, issuer_body
from app.credentials.vocabularies import vocabularies

KEYWORDS: dict[str, str] = {"id": "@id", "type": "@type"}
CONTEXT: list[Any] = [EDC_CONTEXT, KEYWORDS]

Json = dict[str, Any]


def _specification_model(course: Any) -> MicroCredentialIn:
    """The course as a micro-credential without a learner or award: what the specification
    builder reads (it never reads the learner's fields)."""
    values = {
        name: getattr(course, name)
        for name in type(course).model_fields
        if name in MicroCredentialIn.model_fields
    }
    values.update(format="edc", learner=None, awardedOn=None)
    return MicroCredentialIn.model_construct(**values)


def learning_opportunity(course: Any, issuer: IssuerProfile, url: str) -> Json:
    """The ELM ``LearningOpportunity`` node of ``course`` (a validated
    :class:`~app.credentials.course.CourseIn`) at its public ``url`` (no ``@context``)."""
    builder = EdcBuilder(_specification_model(course), issuer, url)
    specification = builder.qualification()
    extras: Json = {}
    if course.languages:
        extras["language"] = [
            concept_node(vocabularies().language(code)) for code in course.languages
        ]
    if course.subjects:
        extras["thematicArea"] = [
            concept_node(vocabularies().concept("isced-f", uri)) for uri in course.subjects
        ]
    # after the title and description, before the outcomes: the order ELM lists them in
    head: Json = {
        k: specification.pop(k)
        for k in ("id", "type", "title", "description")
        if k in specification
    }
    specification = {**head, **extras, **specification}
    node: Json = {"id": url, "type": "LearningOpportunity", "title": dict(course.title)}
    if course.description:
        node["description"] = dict(course.description)
    node["homepage"] = [web_resource(builder.ids("webResource", "opportunity"), url)]
    node["mode"] = [concept_node(vocabularies().by_uri(course.participation.mode))]  # type: ignore[arg-type]
    node["providedBy"] = builder.organisation(issuer_body(issuer))
    node["learningAchievementSpecification"] = specification
    return node


def catalogue_entry(course: Any, issuer: IssuerProfile, url: str) -> Json:
    """One course version as a JSON-LD document."""
    return {"@context": CONTEXT, **learning_opportunity(course, issuer, url)}


def catalogue(entries: list[Json]) -> Json:
    """Several ``LearningOpportunity`` nodes (from :func:`learning_opportunity`) in one
    JSON-LD document."""
    return {"@context": CONTEXT, "@graph": entries}
