"""Names for the multipart bodies in the OpenAPI document.

FastAPI names the schema of a ``multipart/form-data`` body after the route's unique id
(``Body_issue_cohort_courses__course_id__cohorts_post``). Every other body of this API is a
``…Request`` named for what it is; this rewrite names form bodies the same way, after the route's
function by way of the operation summary FastAPI makes of it (``issue_cohort`` →
``IssueCohortRequest``), so that clients generated from the document get readable types.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.jsonwalk import json_values

_REF = "#/components/schemas/"


def form_body_names(document: dict[str, Any]) -> dict[str, str]:
    """FastAPI's generated body schema name → ours (the operation's summary, which FastAPI makes
    from the route's function name, as one word + ``Request``), for every form body."""
    names = {}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                generated = ref.removeprefix(_REF)
                if generated.startswith("Body_") and operation.get("summary"):
                    names[generated] = operation["summary"].title().replace(" ", "") + "Request"
    return names


def rename_schemas(document: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """``document`` with the component schemas in ``names`` renamed, and every ``$ref`` to them."""
    schemas = document.get("components", {}).get("schemas", {})
    present = {old: new for old, new in names.items() if old in schemas}
    if not present:
        return document
    clash = set(present.values()) & set(schemas)
    if clash:
        raise ValueError(f"form body names already taken: {sorted(clash)}")
    for old, new in present.items():
        schema = schemas.pop(old)
        schema["title"] = new
        schemas[new] = schema
    refs = {_REF + old: _REF + new for old, new in present.items()}

    for node in json_values(document):
        if isinstance(node, dict) and node.get("$ref") in refs:
            node["$ref"] = refs[node["$ref"]]
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


def install_form_body_names(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so that its document names form bodies as :func:`form_body_names`."""
    generate_openapi = app.openapi
    done: list[bool] = []

    def openapi() -> dict[str, Any]:
        document = generate_openapi()
        if not done:  # the document is built once and kept; rename it once
            rename_schemas(document, form_body_names(document))
            done.append(True)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
