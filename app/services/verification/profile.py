"""What the credential says it is: ``credentialSchema`` (an EDC against the pinned SHACL shapes)
and ``euMicroCredential`` (the mandatory EU micro-credential elements it lacks: a warning for an
EDC or Open Badge, never a reason by itself to refuse a credential)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from app.jsonld import Canonicalizer, JsonLdProcessingError, OfflineDocumentLoader
from app.jsonld.values import as_list, types_of
from app.problems import EU_MICROCREDENTIAL_INCOMPLETE, MALFORMED_VALUE_ERROR, SCHEMA_NOT_CHECKED
from app.services.verification.results import (
    EuMicroCredentialResult,
    SchemaRef,
    SchemaResults,
    Verification,
    problem,
)

if TYPE_CHECKING:  # imported when an EDC is validated (the shapes module loads rdflib)
    from app.credentials.shacl import ShaclReport

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


@dataclass(frozen=True)
class WantedSchemas:
    """The credential's declared schemas (each with whether this service checks it), and
    whether it is to be validated against the EDC shapes."""

    schemas: list[SchemaRef]
    edc: bool
    #: whether ``credentialSchema`` is an array (for the pointers)
    listed: bool


def schemas_to_check(credential: Mapping[str, Any]) -> WantedSchemas:
    """An EDC is checked by its type or by a declared EDC ``ShaclValidator2017`` schema."""
    declared = as_list(credential.get("credentialSchema"))
    schemas: list[SchemaRef] = []
    wants_edc = EDC_TYPE in types_of(credential)
    for schema in declared[:MAX_SCHEMAS]:
        schema_id = schema.get("id") if isinstance(schema, Mapping) else None
        schema_type = schema.get("type") if isinstance(schema, Mapping) else None
        checked = (
            schema_type == SHACL_VALIDATOR
            and isinstance(schema_id, str)
            and schema_id in EDC_SHAPES
        )
        wants_edc = wants_edc or checked
        schemas.append({"id": schema_id, "type": schema_type, "checked": checked})
    listed = isinstance(credential.get("credentialSchema"), list)
    return WantedSchemas(schemas, wants_edc, listed)


def edc_shapes(
    credential: Mapping[str, Any], loader: OfflineDocumentLoader, canonicalizer: Canonicalizer
) -> ShaclReport | Exception:
    """The credential against the EDC shapes: the report, or why it cannot be validated (a
    pure step: the verifier runs it through its offload)."""
    from app.credentials.shacl import validate_edc

    try:
        return validate_edc(credential, loader, canonicalizer=canonicalizer)
    except Exception as exc:  # third-party RDF processing over untrusted input
        return exc


def check_schema(
    wanted: WantedSchemas, shacl: ShaclReport | Exception | None, report: Verification
) -> SchemaResults:
    """The result for ``credentialSchema``: a warning per schema this service does not check,
    an error when the EDC shapes (``shacl``, from :func:`edc_shapes`) are not met."""
    for index, schema in enumerate(wanted.schemas):
        if not schema["checked"]:
            pointer = f"/credentialSchema/{index}" if wanted.listed else "/credentialSchema"
            detail = (
                f"credentialSchema {schema['id']!r} ({schema['type']!r}) is not one this "
                "service checks"
            )
            report.warnings.append(problem(SCHEMA_NOT_CHECKED, detail, pointer))
    result: SchemaResults = {"verified": None, "schemas": wanted.schemas, "violations": []}
    if shacl is None:
        return result
    if isinstance(shacl, Exception):
        if isinstance(shacl, JsonLdProcessingError):
            detail = f"the credential cannot be read for SHACL validation: {shacl}"
        else:
            detail = (
                "the credential cannot be validated against the EDC shapes "
                f"({type(shacl).__name__})"
            )
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


def check_eu_profile(
    credential: Mapping[str, Any], report: Verification
) -> EuMicroCredentialResult:
    """The mandatory EU micro-credential elements the credential lacks (informative)."""
    from app.credentials.profile import missing_eu_elements

    types = types_of(credential)
    profile: Literal["edc", "obv3"] | None = (
        "edc" if EDC_TYPE in types else "obv3" if types & OB_TYPES else None
    )
    missing = missing_eu_elements(credential)
    if profile is not None and missing:
        report.warnings.append(
            problem(
                EU_MICROCREDENTIAL_INCOMPLETE,
                "missing mandatory EU micro-credential elements: " + ", ".join(missing),
            )
        )
    return {"complete": not missing, "profile": profile, "missing": missing}
