"""Validate an EDC against the pinned EDC SHACL shapes (``edc-generic-full`` 1.1.0), offline.

The document is expanded strictly with the offline loader (an undefined term raises, so nothing
is silently left out of the check), turned into RDF with pyld, and the default graph is handed
to pyshacl as an rdflib graph: rdflib never parses JSON-LD or fetches anything here. The two
shapes files are loaded together into one graph (``EDC-generic-full.ttl`` ``owl:imports`` the
no-cv file by URL, which is never followed) once per process.

One deviation is tolerated, and only this one: ``credentialStatus`` holding a status-list entry.
The shapes type ``cred:credentialStatus`` as an ``xsd:anyURI`` literal (max 1), but a W3C
``credentialStatus`` is a node (an object, or an IRI the VC 1.1 context types as ``@id``), so no
revocable W3C credential can satisfy that constraint; EDC itself never checks revocation this
way (its "revocation" is the e-seal certificate's status). Such results go to
:attr:`ShaclReport.tolerated`, every other result to :attr:`ShaclReport.violations`.

An EDC whose terms map to another namespace than the shapes' would pass vacuously (no focus
nodes); the validation therefore also fails when the data has no ``elm:EuropeanDigitalCredential``.

Cost, measured on one core (pyshacl 0.40.1, rdflib 7.6.0): about 90 ms per validation of the
full example micro-credential from :func:`app.credentials.edc.build_edc` (about 210 triples);
parsing the shapes, once per process, about 130 ms. Run it off the event loop for batches.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pyld import jsonld
from pyshacl import Validator
from pyshacl.graph_abstraction import DataGraph
from pyshacl.shapes_graph import ShapesGraph
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from app.credentials.vocabularies import DATA_DIR
from app.jsonld.canonical import DocumentLoader, PyldCanonicalizer, run_pyld

SHAPES_FILES = ("EDC-generic-no-cv.ttl", "EDC-generic-full.ttl")
CRED = "https://www.w3.org/2018/credentials#"
ELM = "http://data.europa.eu/snb/model/elm/"
CREDENTIAL_STATUS = URIRef(CRED + "credentialStatus")
EUROPEAN_DIGITAL_CREDENTIAL = URIRef(ELM + "EuropeanDigitalCredential")


@dataclass(frozen=True)
class Violation:
    focus_node: str
    path: str | None
    message: str
    value: str | None = None
    severity: str = "Violation"
    source_shape: str | None = None
    constraint: str | None = None
    """The SHACL constraint component, e.g. ``…shacl#MinCountConstraintComponent``."""


@dataclass(frozen=True)
class ShaclReport:
    """``conforms`` is true when there is no violation besides the tolerated deviation."""

    conforms: bool
    violations: tuple[Violation, ...]
    tolerated: tuple[Violation, ...]
    triples: int


@lru_cache(maxsize=1)
def shapes_graph() -> Graph:
    """The EDC shapes (no-cv + full), parsed once per process."""
    graph = Graph()
    for name in SHAPES_FILES:
        graph.parse(DATA_DIR / name, format="turtle")
    return graph


def _term(item: Mapping[str, Any]) -> Node:
    kind = item["type"]
    value = item["value"]
    if kind == "IRI":
        return URIRef(value)
    if kind == "blank node":
        return BNode(value.removeprefix("_:"))
    if "language" in item:
        return Literal(value, lang=item["language"])
    return Literal(value, datatype=URIRef(item["datatype"]))


def data_graph(document: Mapping[str, Any], loader: DocumentLoader) -> Graph:
    """The default graph of ``document`` as RDF; raises on any term the contexts lack.

    Named graphs (a Data Integrity ``proof``) are left out: the shapes do not describe them.
    """
    expanded = PyldCanonicalizer(loader).expand(document)
    dataset = run_pyld(lambda: jsonld.to_rdf(expanded, {"documentLoader": loader, "base": None}))
    graph = Graph()
    for triple in dataset.get("@default", []):
        graph.add((_term(triple["subject"]), _term(triple["predicate"]), _term(triple["object"])))
    return graph


def _text(node: Node | None) -> str | None:
    return None if node is None else str(node)


def _results(report: Graph) -> list[Violation]:
    results = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        severity = report.value(result, SH.resultSeverity)
        results.append(
            Violation(
                focus_node=str(report.value(result, SH.focusNode)),
                path=_text(report.value(result, SH.resultPath)),
                message=str(report.value(result, SH.resultMessage) or ""),
                value=_text(report.value(result, SH.value)),
                severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
                source_shape=_text(report.value(result, SH.sourceShape)),
                constraint=_text(report.value(result, SH.sourceConstraintComponent)),
            )
        )
    return sorted(results, key=lambda v: (v.focus_node, v.path or "", v.message))


def _is_tolerated(result: Violation) -> bool:
    """The credentialStatus-as-object deviation (see the module docstring).

    Only the datatype constraint is excused: two status entries still break ``sh:maxCount 1``.
    """
    return result.path == str(CREDENTIAL_STATUS) and result.constraint == str(
        SH.DatatypeConstraintComponent
    )


_VALIDATION_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def compiled_shapes() -> ShapesGraph:
    return ShapesGraph(shapes_graph())


def validate_edc(document: Mapping[str, Any], loader: DocumentLoader) -> ShaclReport:
    """Validate ``document`` (an EDC) against the pinned ``edc-generic-full`` shapes."""
    data = data_graph(document, loader)
    with _VALIDATION_LOCK:  # pyshacl works over the one cached shapes graph: one at a time
        validator = Validator(
            DataGraph.from_rdflib(data),
            shacl_graph=shapes_graph(),
            options={
                "inference": "none",
                "abort_on_first": False,
                "allow_warnings": True,
                "allow_infos": True,
            },
        )
        # pyshacl would harvest the node shapes from the shapes graph again on every run (about
        # half of a validation): reuse the harvest of the first run.
        validator.shacl_graph = compiled_shapes()
        _, report_graph, _ = validator.run()  # type: ignore[no-untyped-call]
    results = _results(report_graph)
    if (None, RDF.type, EUROPEAN_DIGITAL_CREDENTIAL) not in data:
        results.append(
            Violation(
                focus_node=str(document.get("id", "")),
                path=None,
                message="no elm:EuropeanDigitalCredential node: the shapes would pass vacuously",
            )
        )
    violations = tuple(r for r in results if r.severity == "Violation" and not _is_tolerated(r))
    tolerated = tuple(r for r in results if _is_tolerated(r))
    return ShaclReport(
        conforms=not violations, violations=violations, tolerated=tolerated, triples=len(data)
    )
