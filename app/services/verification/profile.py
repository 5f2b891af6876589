"""What the credential says it is: ``credentialSchema`` (an EDC against the pinned SHACL shapes)
and ``euMicroCredential`` (the mandatory EU micro-credential elements it lacks: a warning for an
EDC or Open Badge, never a reason by itself to refuse a credential)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.jsonld import Canonicalizer, JsonLdProcessingError, OfflineDocumentLoader
from app.jsonld.values import as_list, types_of
from app.services.verification.results import (
    EU_MICROCREDENTIAL_INCOMPLETE,
    SCHEMA_NOT_CHECKED,
    Verification,
    problem,
)
from app.status.bitstring import MALFORMED_VALUE_ERROR

MAX_SCHEMAS = 8
MAX_SHOWN_VIOLATIONS = 50
EDC_TYPE = "EuropeanDigitalCredential"
OB_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})
SHACL_VALIDATOR = "ShaclValidator2017"
EDC_SHAPES = frozenset(
    {
        "http://data.europa.eu/snb/model/ap/edc-generic-full",
        "http://data.europa.eu/snb/model/ap/edc-generic-no-cv",
    }
)


def check_schema(
    credential: Mapping[str, Any],
    loader: OfflineDocumentLoader,
    canonicalizer: Canonicalizer,
    report: Verification,
) -> dict[str, Any]:
    """An EDC (by type or by a declared EDC ``ShaclValidator2017`` schema) against the shapes."""
    declared = as_list(credential.get("credentialSchema"))
    schemas: list[dict[str, Any]] = []
    wants_edc = EDC_TYPE in types_of(credential)
    for index, schema in enumerate(declared[:MAX_SCHEMAS]):
        pointer = (
            f"/credentialSchema/{index}" if isinstance(declared, list) else "/credentialSchema"
        )
        schema_id = schema.get("id") if isinstance(schema, Mapping) else None
        schema_type = schema.get("type") if isinstance(schema, Mapping) else None
        checked = (
            schema_type == SHACL_VALIDATOR
            and isinstance(schema_id, str)
            and schema_id in EDC_SHAPES
        )
        wants_edc = wants_edc or checked
        schemas.append({"id": schema_id, "type": schema_type, "checked": checked})
        if not checked:
            detail = (
                f"credentialSchema {schema_id!r} ({schema_type!r}) is not one this service checks"
            )
            report.warnings.append(problem(SCHEMA_NOT_CHECKED, detail, pointer))
    result: dict[str, Any] = {"verified": None, "schemas": schemas, "violations": []}
    if not wants_edc:
        return result
    from app.credentials.shacl import validate_edc

    try:
        shacl = validate_edc(credential, loader, canonicalizer=canonicalizer)
    except JsonLdProcessingError as exc:
        detail = f"the credential cannot be read for SHACL validation: {exc}"
        report.errors.append(problem(MALFORMED_VALUE_ERROR, detail, "/credentialSchema"))
        result["verified"] = False
        return result
    except Exception as exc:  # third-party RDF processing over untrusted input
        detail = f"the credential cannot be validated against the EDC shapes ({type(exc).__name__})"
        report.errors.append(problem(MALFORMED_VALUE_ERROR, detail, "/credentialSchema"))
        result["verified"] = False
        return result
    result["verified"] = shacl.conforms
    result["violations"] = [
        {"focusNode": v.focus_node, "path": v.path, "message": v.message, "value": v.value}
        for v in shacl.violations[:MAX_SHOWN_VIOLATIONS]
    ]
    if not shacl.conforms:
        report.errors.append(
            problem(
                MALFORMED_VALUE_ERROR,
                f"{len(shacl.violations)} violation(s) of the EDC SHACL shapes",
                "/credentialSchema",
                errors=[
                    {"pointer": "", "detail": f"{v.path}: {v.message}"}
                    for v in shacl.violations[:MAX_SHOWN_VIOLATIONS]
                ],
            )
        )
    return result


def check_eu_profile(credential: Mapping[str, Any], report: Verification) -> dict[str, Any]:
    """The mandatory EU micro-credential elements the credential lacks (informative)."""
    from app.credentials.profile import missing_eu_elements

    types = types_of(credential)
    profile = "edc" if EDC_TYPE in types else "obv3" if types & OB_TYPES else None
    missing = missing_eu_elements(credential)
    if profile is not None and missing:
        report.warnings.append(
            problem(
                EU_MICROCREDENTIAL_INCOMPLETE,
                "missing mandatory EU micro-credential elements: " + ", ".join(missing),
            )
        )
    return {"complete": not missing, "profile": profile, "missing": missing}
