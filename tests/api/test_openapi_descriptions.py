"""The generated OpenAPI document explains every field a registrar fills in.

For the schema families listed in :data:`FAMILIES` (each: the schemas reachable from one
operation's request or reply body), every property has a description, and every controlled
field either lists its allowed values (``enum``, from a ``Literal``) or links to the vocabulary
endpoint that does (``See GET /vocabularies/<scheme>``), and that link names the scheme the
validator really checks against. Beyond the families, every property of every schema in the
document (replies and verification results too) has a description.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from app.api.form_bodies import rename_schemas
from app.api.vocabularies import SCHEME_KEYS
from app.credentials.examples import example_request
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.vocabularies import SchemeKey, vocabularies
from app.openapi import openapi_document

#: (method, path, "request" | "reply"): the bodies whose schemas are covered.
FAMILIES = [
    ("post", "/microcredentials", "request"),
    ("post", "/admin/issuers", "request"),
    ("post", "/admin/issuers/{slug}/api-keys", "request"),
    ("put", "/admin/trust/{did}", "request"),
    ("post", "/credentials/status", "request"),
    ("get", "/vocabularies", "reply"),
    ("get", "/vocabularies/{scheme}", "reply"),
]

#: Controlled fields of the micro-credential body: schema, property, and how its values are
#: listed (``"enum"``, or the vocabulary scheme), with where the field sits in a request body.
CONTROLLED: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("MicroCredentialIn", "format", "enum", ("format",)),
    ("MicroCredentialIn", "cryptosuite", "enum", ("cryptosuite",)),
    ("MicroCredentialIn", "qfEheaCycle", "enum", ("qfEheaCycle",)),
    ("MicroCredentialIn", "eqfLevel", "eqf", ("eqfLevel",)),
    ("MicroCredentialIn", "supervision", "supervision-verification", ("supervision",)),
    ("AssessmentIn", "type", "assessment", ("assessment", "type")),
    ("AssessmentIn", "mode", "learning-assessment", ("assessment", "mode")),
    ("ParticipationIn", "mode", "learning-assessment", ("participation", "mode")),
    ("ParticipationIn", "setting", "learning-setting", ("participation", "setting")),
    ("QualityAssuranceIn", "type", "accreditation", ("qualityAssurance", "type")),
    ("OrganisationIn", "country", "country", ("qualityAssurance", "agency", "country")),
]

#: Controlled fields of the admin and status request bodies: (method, path, property) and how
#: the values are listed. Found through the operation, so a renamed schema stays covered.
CONTROLLED_BY_OPERATION: list[tuple[str, str, str, str]] = [
    ("post", "/admin/issuers", "country", "country"),
    ("post", "/admin/issuers", "didMethod", "enum"),
    ("put", "/admin/trust/{did}", "country", "country"),
    ("post", "/credentials/status", "credentialStatus", "enum"),
]

_LINK = re.compile(r"GET /vocabularies/([a-z-]+)")


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.rsplit("/", 1)[-1]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema itself and the alternatives of an ``anyOf`` (``X | None``)."""
    return [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


def _family(document: dict[str, Any], method: str, path: str, part: str) -> set[str]:
    operation = document["paths"][path][method]
    root = operation["requestBody"] if part == "request" else operation["responses"]["200"]
    schemas = document["components"]["schemas"]
    seen: set[str] = set()
    todo = list(_refs(root))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(schemas[name]))
    return seen


def covered(document: dict[str, Any]) -> set[str]:
    return set().union(*(_family(document, *family) for family in FAMILIES))


def test_the_families_reach_the_nested_models(document: dict[str, Any]) -> None:
    names = covered(document)
    assert {"MicroCredentialIn", "Learner", "LearnerIdentifier", "OrganisationIn"} <= names
    assert {"LearningOutcomeIn", "Workload", "AssessmentIn", "ParticipationIn"} <= names
    assert {"QualityAssuranceIn", "StackabilityIn", "PartOfIn"} <= names
    assert {
        "VocabularyListReply",
        "VocabularySummary",
        "VocabularyReply",
        "VocabularyConcept",
    } <= names
    # The admin and status request bodies, whatever their names.
    for method, path, _ in FAMILIES[1:5]:
        assert _family(document, method, path, "request"), path


def test_every_property_has_a_description(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    missing = [
        f"{name}.{prop}"
        for name in sorted(covered(document))
        for prop, schema in schemas[name].get("properties", {}).items()
        if len(schema.get("description", "").strip()) < 10
    ]
    assert not missing, f"properties without a description: {missing}"


def test_every_property_of_every_schema_has_a_description(document: dict[str, Any]) -> None:
    """Not only the families above: every schema of the document, replies and results too
    (the FastAPI multipart body of the branding form included: its form fields carry theirs)."""
    schemas = document["components"]["schemas"]
    assert len(schemas) > 100
    missing = [
        f"{name}.{prop}"
        for name, schema in sorted(schemas.items())
        for prop, value in schema.get("properties", {}).items()
        if len(value.get("description", "").strip()) < 10
    ]
    assert not missing, f"properties without a description: {missing}"


def test_controlled_fields_list_their_values(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name, prop, values, _ in CONTROLLED:
        schema = schemas[name]["properties"][prop]
        if values == "enum":
            enums = [b["enum"] for b in _branches(schema) if "enum" in b]
            consts = [b["const"] for b in _branches(schema) if "const" in b]
            assert enums or consts, f"{name}.{prop} lists no values"
        else:
            assert f"GET /vocabularies/{values}" in schema["description"], f"{name}.{prop}"


def _items_enum(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """Whether ``schema`` or what it refers to (alternatives, list items, the properties of a
    referenced object) lists its values somewhere: for a union of shapes like
    ``credentialStatus``, each shape's controlled member has an enum."""
    if "enum" in schema or "const" in schema:
        return True
    if "$ref" in schema:
        target = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return any(_items_enum(p, schemas) for p in target.get("properties", {}).values())
    nested = [*schema.get("anyOf", []), *schema.get("oneOf", [])]
    if "items" in schema:
        nested.append(schema["items"])
    return bool(nested) and all(_items_enum(n, schemas) for n in nested if n != {"type": "null"})


def test_admin_and_status_controlled_fields_list_their_values(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for method, path, prop, values in CONTROLLED_BY_OPERATION:
        body = document["paths"][path][method]["requestBody"]["content"]["application/json"]
        name = body["schema"]["$ref"].rsplit("/", 1)[-1]
        schema = schemas[name]["properties"][prop]
        if values == "enum":
            assert _items_enum(schema, schemas), f"{path} {prop}"
        else:
            assert f"GET /vocabularies/{values}" in schema["description"], f"{path} {prop}"
    scopes = _family(document, "post", "/admin/issuers/{slug}/api-keys", "request")
    [api_key] = [schemas[name] for name in scopes]
    assert set(api_key["properties"]["scopes"]["items"]["enum"]) >= {"credentials:issue"}


def test_vocabulary_links_name_real_schemes(document: dict[str, Any]) -> None:
    assert "/vocabularies/{scheme}" in document["paths"]
    schemas = document["components"]["schemas"]
    for name in covered(document):
        for prop, schema in schemas[name].get("properties", {}).items():
            for scheme in _LINK.findall(schema.get("description", "")):
                assert scheme in SCHEME_KEYS, f"{name}.{prop} links to unknown {scheme!r}"


def test_language_map_keys_list_the_accepted_codes(document: dict[str, Any]) -> None:
    """Every language map (title, description, names…) lists the codes its keys may take."""
    schemas = document["components"]["schemas"]
    maps = 0
    for name in covered(document):
        for prop, schema in schemas[name].get("properties", {}).items():
            if prop == "holderJwk":  # a JWK (SD-JWT holder key), the one map keyed otherwise
                continue
            for branch in _branches(schema):
                if "propertyNames" in branch:
                    maps += 1
                    codes = branch["propertyNames"].get("enum")
                    assert codes == sorted(vocabularies().language_codes), f"{name}.{prop}"
    assert maps >= 10


def _set(body: dict[str, Any], where: tuple[str, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    node = body
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    return body


def test_each_link_names_the_scheme_the_field_is_checked_against() -> None:
    """A concept of the linked scheme is accepted at that field; one of another scheme is not."""
    for name, prop, values, where in CONTROLLED:
        if values == "enum":
            continue
        own = vocabularies().scheme(values)  # type: ignore[arg-type]
        for concept in list(own)[:3]:
            body = _set(example_request(), where, concept.id)
            assert MicroCredentialIn.model_validate(body), f"{name}.{prop}"
        other_key: SchemeKey = "target-group" if values != "target-group" else "encoding"
        stranger = next(iter(vocabularies().scheme(other_key)))
        with pytest.raises(ValidationError, match=prop):
            MicroCredentialIn.model_validate(_set(example_request(), where, stranger.id))


def test_every_body_schema_has_a_name_of_its_own() -> None:
    """Form bodies too: no ``Body_<route id>`` name generated by FastAPI is left."""
    document = openapi_document()
    schemas = document["components"]["schemas"]
    assert not [name for name in schemas if name.startswith("Body_")]
    form_bodies = {
        path: operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
        for path, operations in document["paths"].items()
        for operation in operations.values()
        if "multipart/form-data" in operation.get("requestBody", {}).get("content", {})
    }
    assert form_bodies == {
        "/courses/{course_id}/cohorts": "#/components/schemas/IssueCohortRequest",
        "/admin/issuers/{slug}/branding": "#/components/schemas/PutBrandingRequest",
    }
    assert schemas["IssueCohortRequest"]["title"] == "IssueCohortRequest"
    assert "file" in schemas["IssueCohortRequest"]["properties"]


def test_a_form_body_name_already_taken_is_refused() -> None:
    document: dict[str, Any] = {"components": {"schemas": {"Body_x": {}, "XRequest": {}}}}
    with pytest.raises(ValueError, match="XRequest"):
        rename_schemas(document, {"Body_x": "XRequest"})
