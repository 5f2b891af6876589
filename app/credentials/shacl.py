"""Validate an EDC against the pinned EDC SHACL shapes (``edc-generic-full`` 1.1.0), offline.

Two engines give the same results (``tests/unit/test_shacl_equivalence.py``):

* ``"compiled"`` (the default): the document's canonical N-Quads from
  :class:`~app.jsonld.oxigraph.OxigraphCanonicalizer` (which refuses undefined terms exactly as
  the pyld path does), parsed with pyoxigraph, checked by the validator of
  :mod:`app.credentials.shacl_engine`, which compiles the shapes once per process into plain
  Python structures and implements pyshacl's semantics for exactly the SHACL features the
  shapes use. :func:`validate_edc_nquads` starts from N-Quads the caller already has (the
  issuer's, computed for signing).
* ``"pyshacl"``, the reference: the document expanded strictly with the offline loader, turned
  into RDF with pyld (:func:`data_graph`), and the default graph handed to pyshacl as an rdflib
  graph: rdflib never parses JSON-LD or fetches anything here.

Both leave out named graphs (a Data Integrity ``proof``). The two shapes files are loaded
together into one graph (``EDC-generic-full.ttl`` ``owl:imports`` the no-cv file by URL, which
is never followed) once per process. Blank nodes are reported by their label: canonical
(``c14n0``) with the compiled engine, pyld's (``b0``) with pyshacl.

One deviation is tolerated, and only this one: ``credentialStatus`` holding a status-list entry.
The shapes type ``cred:credentialStatus`` as an ``xsd:anyURI`` literal (max 1), but a W3C
``credentialStatus`` is a node (an object, or an IRI the VC 1.1 context types as ``@id``), so no
revocable W3C credential can satisfy that constraint; EDC itself never checks revocation this
way (its "revocation" is the e-seal certificate's status). Such results go to
:attr:`ShaclReport.tolerated`, every other result to :attr:`ShaclReport.violations`.

An EDC whose terms map to another namespace than the shapes' would pass vacuously (no focus
nodes); the validation therefore also fails when the data has no ``elm:EuropeanDigitalCredential``.

The compiled engine is an order of magnitude faster than pyshacl (bench/README.md, "Figures
formerly in docstrings"). The shapes are parsed and compiled once per process (pyshacl, only
imported when the reference engine runs, harvests them on its first run). Run validations off
the event loop for batches.

The canonicalizer refuses documents beyond its limits (20 000 statements, 2 000 blank nodes) with
:class:`~app.jsonld.JsonLdProcessingError`; EDCs are a few hundred statements.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from pyld import jsonld
from rdflib import BNode, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from app.credentials.shacl_engine import (
    CompiledShapes,
    Triple,
    compile_shapes,
    parse_nquads,
    validate_triples,
)
from app.credentials.vocabularies import DATA_DIR
from app.jsonld.canonical import Canonicalizer, DocumentLoader, PyldCanonicalizer, run_pyld
from app.jsonld.deferral import EDC_SHACL, heavy
from app.jsonld.oxigraph import OxigraphCanonicalizer

if TYPE_CHECKING:  # pyshacl (half a second to import) is loaded by the reference engine only
    from pyshacl.shapes_graph import ShapesGraph

SHAPES_FILES = ("EDC-generic-no-cv.ttl", "EDC-generic-full.ttl")
CRED = "https://www.w3.org/2018/credentials#"
ELM = "http://data.europa.eu/snb/model/elm/"
CREDENTIAL_STATUS = URIRef(CRED + "credentialStatus")
EUROPEAN_DIGITAL_CREDENTIAL = URIRef(ELM + "EuropeanDigitalCredential")

Engine = Literal["compiled", "pyshacl"]


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
        return RdfLiteral(value, lang=item["language"])
    return RdfLiteral(value, datatype=URIRef(item["datatype"]))


def data_graph(document: Mapping[str, Any], loader: DocumentLoader) -> Graph:
    """The default graph of ``document`` as RDF (by pyld); raises on any term the contexts lack.

    Named graphs (a Data Integrity ``proof``) are left out: the shapes do not describe them.
    """
    expanded = PyldCanonicalizer(loader).expand(document)
    dataset = run_pyld(lambda: jsonld.to_rdf(expanded, {"documentLoader": loader, "base": None}))
    graph = Graph()
    for triple in dataset.get("@default", []):
        graph.add((_term(triple["subject"]), _term(triple["predicate"]), _term(triple["object"])))
    return graph


@lru_cache(maxsize=8)
def _canonicalizer(loader: DocumentLoader) -> OxigraphCanonicalizer:
    return OxigraphCanonicalizer(loader)


def canonical_nquads(
    document: Mapping[str, Any],
    loader: DocumentLoader,
    canonicalizer: Canonicalizer | None = None,
) -> str:
    """The canonical N-Quads of ``document`` (pyoxigraph where proven equal to pyld, else
    pyld); raises :class:`~app.jsonld.UndefinedTermError` on any term the contexts lack.
    ``canonicalizer``: the service's own (its limits, its recent N-Quads), by default one per
    loader."""
    return (canonicalizer or _canonicalizer(loader)).canonicalize(document)


# -- the engines ---------------------------------------------------------------------------------


def _text(node: Node | None) -> str | None:
    return None if node is None else str(node)


def pyshacl_violations(report: Graph) -> list[Violation]:
    """Every ``sh:ValidationResult`` of a pyshacl report graph (``sh:detail`` ones included)."""
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
    return results


_VALIDATION_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def pyshacl_shapes() -> ShapesGraph:
    """pyshacl's harvest of the shapes, reused by every pyshacl run."""
    from pyshacl.shapes_graph import ShapesGraph

    return ShapesGraph(shapes_graph())


@lru_cache(maxsize=1)
def compiled_shapes() -> CompiledShapes:
    """The shapes compiled for :mod:`app.credentials.shacl_engine`, once per process."""
    with _VALIDATION_LOCK:  # pyshacl adds triples to the shared shapes graph under this lock
        return compile_shapes(shapes_graph())


def run_pyshacl(data: Graph) -> tuple[bool, list[Violation]]:
    """pyshacl's conformance and results (nested ``sh:detail`` results included) for ``data``."""
    from pyshacl import Validator
    from pyshacl.graph_abstraction import DataGraph

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
        validator.shacl_graph = pyshacl_shapes()
        conforms, report_graph, _ = validator.run()  # type: ignore[no-untyped-call]
    return bool(conforms), pyshacl_violations(report_graph)


def run_compiled(triples: Iterable[Triple]) -> tuple[bool, list[Violation], int, bool]:
    """The compiled engine's conformance and results for the data graph ``triples``, its number
    of triples, and whether it types a node ``elm:EuropeanDigitalCredential``."""
    report = validate_triples(compiled_shapes(), triples)
    results = [
        Violation(
            focus_node=r.focus_node,
            path=r.path,
            message=r.message,
            value=r.value,
            severity=r.severity.rsplit("#", 1)[-1],
            source_shape=r.source_shape,
            constraint=r.constraint,
        )
        for r in report.results
    ]
    has_edc = str(EUROPEAN_DIGITAL_CREDENTIAL) in report.types
    return report.conforms, results, report.triples, has_edc


# -- the report ----------------------------------------------------------------------------------


def _is_tolerated(result: Violation) -> bool:
    """The credentialStatus-as-object deviation (see the module docstring).

    Only the datatype constraint is excused: two status entries still break ``sh:maxCount 1``.
    """
    return result.path == str(CREDENTIAL_STATUS) and result.constraint == str(
        SH.DatatypeConstraintComponent
    )


def _report(
    results: list[Violation], *, has_edc: bool, document_id: str, triples: int
) -> ShaclReport:
    results = sorted(results, key=lambda v: (v.focus_node, v.path or "", v.message))
    if not has_edc:
        results.append(
            Violation(
                focus_node=document_id,
                path=None,
                message="no elm:EuropeanDigitalCredential node: the shapes would pass vacuously",
            )
        )
    violations = tuple(r for r in results if r.severity == "Violation" and not _is_tolerated(r))
    tolerated = tuple(r for r in results if _is_tolerated(r))
    return ShaclReport(
        conforms=not violations, violations=violations, tolerated=tolerated, triples=triples
    )


def validate_edc_nquads(nquads: str, document_id: str) -> ShaclReport:
    """Validate the default graph of ``nquads`` (e.g. a credential's canonical N-Quads; quads
    in named graphs are left out) with the compiled engine. ``document_id`` names the focus
    node of the violation reported when no node is an ``elm:EuropeanDigitalCredential``.

    Raises :class:`ValueError` when ``nquads`` is not N-Quads."""
    _, results, triples, has_edc = run_compiled(parse_nquads(nquads))
    return _report(results, has_edc=has_edc, document_id=document_id, triples=triples)


def validate_edc(
    document: Mapping[str, Any],
    loader: DocumentLoader,
    *,
    engine: Engine = "compiled",
    canonicalizer: Canonicalizer | None = None,
) -> ShaclReport:
    """Validate ``document`` (an EDC) against the pinned ``edc-generic-full`` shapes.

    ``canonicalizer`` (the compiled engine's source of triples) should be the service's own,
    configured with its limits; by default one with the default limits per loader."""
    document_id = str(document.get("id", ""))
    if engine == "compiled":
        # Under a Deferral, a large document is validated in a worker process (its outcome is a
        # function of the JSON text: the worker's canonicalizer has the service's settings).
        return heavy(
            EDC_SHACL,
            document,
            lambda: validate_edc_nquads(
                canonical_nquads(document, loader, canonicalizer), document_id
            ),
        )
    if engine != "pyshacl":
        raise ValueError(f"unknown SHACL engine {engine!r}")
    data = data_graph(document, loader)
    _, results = run_pyshacl(data)
    has_edc = (None, RDF.type, EUROPEAN_DIGITAL_CREDENTIAL) in data
    return _report(results, has_edc=has_edc, document_id=document_id, triples=len(data))


LEARNING_OPPORTUNITY = ELM + "LearningOpportunity"


def validate_learning_opportunities(
    document: Mapping[str, Any],
    loader: DocumentLoader,
    *,
    canonicalizer: Canonicalizer | None = None,
) -> ShaclReport:
    """Validate catalogue JSON-LD (:mod:`app.credentials.catalogue`) against the same pinned
    shapes: ``LearningOpportunityShape`` and its ``…ShapeCV``, and the shapes of every node it
    holds (``QualificationShape``, ``LearningOutcomeShape``, ``AccreditationShape``,
    ``OrganisationShape``, ``LearningAssessmentSpecificationShape``, ``ConceptShape``…).

    It fails when no node is an ``elm:LearningOpportunity`` (the shapes would pass vacuously)."""
    report = validate_triples(
        compiled_shapes(),
        parse_nquads(canonical_nquads(document, loader, canonicalizer)),
    )
    results = sorted(
        (
            Violation(
                focus_node=r.focus_node,
                path=r.path,
                message=r.message,
                value=r.value,
                severity=r.severity.rsplit("#", 1)[-1],
                source_shape=r.source_shape,
                constraint=r.constraint,
            )
            for r in report.results
        ),
        key=lambda v: (v.focus_node, v.path or "", v.message),
    )
    if LEARNING_OPPORTUNITY not in report.types:
        results.append(
            Violation(
                focus_node=str(document.get("id", "")),
                path=None,
                message="no elm:LearningOpportunity node: the shapes would pass vacuously",
            )
        )
    violations = tuple(r for r in results if r.severity == "Violation")
    return ShaclReport(
        conforms=not violations, violations=violations, tolerated=(), triples=report.triples
    )
