"""The compiled SHACL engine gives pyshacl's results, on the same triples.

Both engines validate the same default-graph triples (the compiled engine as parsed from the
canonical N-Quads, pyshacl as the rdflib graph of those triples) and are compared as the set,
and the multiset, of ``(focus node, path, value, severity, source shape, constraint component)``
plus ``conforms``: on the Europass and Open Badges samples (``tests/data/edc``), on EDCs built
from many requests, on the negative controls of ``test_edc_shacl.py``, and on triples mutated by
hypothesis until every constraint component the shapes use has produced a violation in both
engines.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyshacl import Validator
from pyshacl.constraints import ALL_CONSTRAINT_PARAMETERS
from pyshacl.graph_abstraction import DataGraph
from rdflib import Dataset, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.compare import isomorphic

from app.credentials import shacl_engine as engine
from app.credentials.edc import build_edc
from app.credentials.examples import EXAMPLE_ISSUER_DID, example_issuer, example_request
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.shacl import (
    ShaclReport,
    Violation,
    canonical_nquads,
    compiled_shapes,
    pyshacl_violations,
    run_compiled,
    run_pyshacl,
    validate_edc,
    validate_edc_nquads,
)
from app.credentials.shacl_engine import (
    RDF_LANGSTRING,
    RDF_TYPE,
    RDFS_SUBCLASS_OF,
    SH,
    CompiledShape,
    Lit,
    Term,
    Triple,
    UnsupportedShapes,
    compile_shapes,
    parse_nquads,
    rdflib_graph,
    validate_triples,
)
from app.jsonld import OfflineDocumentLoader, UndefinedTermError, UnknownContextError
from tests.unit.conftest import CONTEXTS_DIR
from tests.unit.test_edc_shacl import (
    MINIMAL,
    PARTNER,
    STATUS,
    _country_from_wrong_table,
    _eqf_in_wrong_scheme,
    _remove_awarded_by,
    _remove_display,
    _remove_eidas_identifier,
    _remove_grade,
    _remove_issued,
    _remove_issuer_legal_name,
)

Json = dict[str, Any]
Key = tuple[str, str | None, str | None, str, str | None, str | None]

EDC_DATA = Path(__file__).resolve().parents[1] / "data" / "edc"
ELM = "http://data.europa.eu/snb/model/elm/"
EDC_NO_CV = "http://data.europa.eu/snb/model/ap/edc-generic-no-cv/"
XSD = "http://www.w3.org/2001/XMLSchema#"
CREDENTIAL_ID = "urn:uuid:5c2d8c1e-8f1b-4c4e-9a53-6c1f00000001"
ISSUED = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
#: Every constraint component that reports results (sh:property only passes nested ones on).
REPORTING_COMPONENTS = frozenset(
    SH + name + "ConstraintComponent"
    for name in (
        "Class Datatype NodeKind MinCount MaxCount MaxInclusive Or Node HasValue UniqueLang"
    ).split()
)


def key(violation: Violation) -> Key:
    return (
        violation.focus_node,
        violation.path,
        violation.value,
        violation.severity,
        violation.source_shape,
        violation.constraint,
    )


def compare(triples: list[Triple]) -> set[Key]:
    """Assert both engines agree on ``triples``; the results (as keys)."""
    conforms, results, _, _ = run_compiled(triples)
    reference_conforms, reference = run_pyshacl(rdflib_graph(triples))
    compiled_keys = Counter(map(key, results))
    pyshacl_keys = Counter(map(key, reference))
    assert set(compiled_keys) == set(pyshacl_keys), (
        f"only compiled: {set(compiled_keys) - set(pyshacl_keys)}\n"
        f"only pyshacl: {set(pyshacl_keys) - set(compiled_keys)}"
    )
    assert compiled_keys == pyshacl_keys  # the same multiplicities (sh:detail duplicates)
    assert conforms == reference_conforms
    assert conforms == (not reference)
    return set(compiled_keys)


@cache
def loader() -> OfflineDocumentLoader:
    return OfflineDocumentLoader(CONTEXTS_DIR)


def triples_of(document: Json) -> list[Triple]:
    return parse_nquads(canonical_nquads(document, loader()))


# -- (a) the samples ----------------------------------------------------------------------------


def _sample_documents() -> Iterator[Any]:
    """Every sample and example; a sealed (JAdES) sample gives its payload, an upload file its
    ``credential``. The two that cannot be read (``UNREADABLE``) must be refused by both."""
    for folder in (EDC_DATA / "samples", EDC_DATA / "examples"):
        for path in sorted(folder.glob("*.json*")):
            document = json.loads(path.read_text(encoding="utf-8"))
            if "payload" in document:
                document = json.loads(document["payload"])
            elif "credential" in document:
                document = document["credential"]
            yield pytest.param(document, id=path.name)


SAMPLES = list(_sample_documents())
UNREADABLE = {
    # an undefined term (``eIDASΙdentifier`` with a Greek capital iota): both engines refuse it
    "elm-rdf-credential-sample.jsonld": UndefinedTermError,
    "1edtech-obv3-fullOpenBadge.json": UnknownContextError,  # extensions.json is not vendored
}


@pytest.mark.parametrize("document", SAMPLES)
def test_sample(document: Json, request: pytest.FixtureRequest) -> None:
    name = request.node.callspec.id
    if name in UNREADABLE:
        with pytest.raises(UNREADABLE[name]):
            validate_edc(document, loader())
        with pytest.raises(UNREADABLE[name]):
            validate_edc(document, loader(), engine="pyshacl")
        return
    compare(triples_of(document))
    compiled = validate_edc(document, loader())
    reference = validate_edc(document, loader(), engine="pyshacl")
    # the reports agree too, but for blank-node labels (canonical ones against pyld's)
    assert compiled.conforms == reference.conforms
    assert compiled.triples == reference.triples
    assert {(v.path, v.constraint) for v in compiled.violations} == {
        (v.path, v.constraint) for v in reference.violations
    }
    if name.startswith(("Sample-", "constructed-")):  # EDCs: the shapes did have a target
        assert compiled.triples > 100
        assert not any("vacuously" in v.message for v in compiled.violations)


def test_the_samples_are_compared() -> None:
    names = {param.id for param in SAMPLES}
    assert {
        "Sample-MC-Annex1-unsigned.jsonld",
        "Sample-MC-Annex1-signed.jsonld",
        "Sample-MC-Annex1-unsigned-uploadable.json",
        "Sample-CertOfPart-unsigned.jsonld",
        "Sample-CertOfPart-signed.jsonld",
        "elm-rdf-credential-sample.jsonld",
        "constructed-mc-skeleton-unsigned-di.json",
    } <= names


# -- (b) built EDCs ------------------------------------------------------------------------------

SUSPENSION = {**STATUS, "id": STATUS["id"] + "-s", "statusPurpose": "suspension"}
OTHER = {"name": {"fr": "Université Autre", "en": "Other University"}, "country": "FRA"}
REQUESTS: dict[str, tuple[Json, Any]] = {
    "example": (example_request(), None),
    "example-status": (example_request(), STATUS),
    "two-statuses": (example_request(), [STATUS, SUSPENSION]),
    "no-grade-no-expiry": (example_request(grade=None, validUntil=None), None),
    "minimal": (MINIMAL, None),
    "minimal-email-only": (
        {**MINIMAL, "learner": {"email": "learner@example.org"}, "supervision": None},
        STATUS,
    ),
    "co-awarded": (
        example_request(awardingBodies=[PARTNER, {"id": EXAMPLE_ISSUER_DID, **PARTNER}]),
        None,
    ),
    "partner-awarded": (example_request(awardingBodies=[PARTNER]), None),
    "three-bodies": (
        example_request(
            awardingBodies=[PARTNER, OTHER, {**PARTNER, "homepage": "https://partner.example"}]
        ),
        STATUS,
    ),
    "learner-without-did": (
        example_request(learner={"givenName": "Aoife", "email": "aoife@example.org"}),
        None,
    ),
    "hours-only-no-level": (
        example_request(workload={"hours": 30}, eqfLevel=None, qfEheaCycle=None),
        None,
    ),
    "many-outcomes": (
        example_request(
            learningOutcomes=[
                {
                    "title": {"en": f"Outcome {i}", "fr": f"Acquis {i}"},
                    "escoSkills": [
                        "http://data.europa.eu/esco/skill/5fd5c985-eaaa-47aa-8314-62359c54505a"
                    ],
                }
                for i in range(6)
            ],
            title={"en": "Data", "fr": "Données", "de": "Daten", "ga": "Sonraí"},
            description={"en": "About data.", "de": "Über Daten."},
        ),
        None,
    ),
    "not-standalone": (
        example_request(stackability={"standalone": False}, prerequisites=None),
        None,
    ),
    "assessment-mode-and-qa-agency": (
        example_request(
            assessment={"type": "quiz", "mode": "online", "title": {"en": "Quiz"}},
            qualityAssurance={
                "type": "institutional-quality-assurance",
                "url": "https://qa.example/report",
                "agency": {"name": {"en": "QA Agency"}, "country": "DEU", "legalIdentifier": "Q1"},
            },
            furtherInformation=None,
        ),
        None,
    ),
}


@cache
def built(name: str) -> Json:
    body, status = REQUESTS[name]
    return build_edc(
        MicroCredentialIn.model_validate(body),
        example_issuer(),
        credential_id=CREDENTIAL_ID,
        issued=ISSUED,
        status=status,
        display_images={"en": b"\x89PNG page"},
    )


@cache
def built_triples(name: str) -> tuple[Triple, ...]:
    return tuple(triples_of(built(name)))


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_built_edc(name: str) -> None:
    results = compare(list(built_triples(name)))
    status = REQUESTS[name][1]
    # only the tolerated credentialStatus deviation (and, with two entries, its maxCount)
    expected = {0: 0, 1: 1, 2: 3}[0 if status is None else 1 if isinstance(status, dict) else 2]
    assert len(results) == expected
    assert validate_edc(built(name), loader()).conforms == (expected < 3)


def test_a_rendered_and_signed_edc() -> None:
    """With rendered display pages and a Data Integrity proof (a named graph, left out)."""
    credential = build_edc(
        MicroCredentialIn.model_validate(example_request()),
        example_issuer(),
        credential_id=CREDENTIAL_ID,
        issued=ISSUED,
        status=STATUS,
    )
    credential["@context"].append("https://w3id.org/security/data-integrity/v2")
    credential["proof"] = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-07-01T09:00:00Z",
        "verificationMethod": EXAMPLE_ISSUER_DID + "#key-1",
        "proofPurpose": "assertionMethod",
        "proofValue": "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk9czhSePTFehP8c3PGfb6a",
    }
    nquads = canonical_nquads(credential, loader())
    assert "> <https://w3id.org/security#proof> _:" in nquads  # the proof graph is there
    triples = parse_nquads(nquads)
    assert not any(p.startswith("https://w3id.org/security#proofValue") for _, p, _ in triples)
    assert len(compare(triples)) == 1
    report = validate_edc_nquads(nquads, CREDENTIAL_ID)
    assert report.conforms and len(report.tolerated) == 1


# -- (c) the negative controls of test_edc_shacl.py ----------------------------------------------

DAMAGES: list[Callable[[Json], str]] = [
    _remove_issuer_legal_name,
    _remove_awarded_by,
    _remove_eidas_identifier,
    _remove_grade,
    _remove_display,
    _remove_issued,
    _eqf_in_wrong_scheme,
    _country_from_wrong_table,
]


@pytest.mark.parametrize("damage", DAMAGES, ids=[d.__name__.strip("_") for d in DAMAGES])
def test_negative_control(damage: Callable[[Json], str]) -> None:
    credential = json.loads(json.dumps(built("partner-awarded")))
    expected_path = damage(credential)
    results = compare(triples_of(credential))
    assert expected_path in {path for _, path, *_ in results}
    assert not validate_edc(credential, loader()).conforms


# -- (d) mutations -------------------------------------------------------------------------------


@cache
def bases() -> tuple[tuple[Triple, ...], ...]:
    found = [built_triples(name) for name in ("example-status", "partner-awarded", "minimal")]
    for name in ("Sample-MC-Annex1-unsigned.jsonld", "Sample-CertOfPart-unsigned.jsonld"):
        document = json.loads((EDC_DATA / "samples" / name).read_text(encoding="utf-8"))
        found.append(tuple(triples_of(document)))
    return tuple(found)


@cache
def shape_classes() -> tuple[str, ...]:
    """Every class the shapes name (targets and sh:class), sorted."""
    classes: set[str] = set()
    for shape in compiled_shapes().shapes:
        classes.update(str(t) for t in shape.target_classes)
        for constraint in shape.constraints:
            if constraint.component == SH + "ClassConstraintComponent":
                classes.update(constraint.params)
    return tuple(sorted(classes))


@cache
def targets_by_component() -> dict[str, tuple[tuple[str, CompiledShape], ...]]:
    """For each reporting component, the (target class, property shape) pairs that use it."""
    found: dict[str, list[tuple[str, CompiledShape]]] = {}
    for shape in compiled_shapes().targeted:
        for constraint in shape.constraints:
            if constraint.component != SH + "PropertyConstraintComponent":
                continue
            for prop in constraint.params:
                for inner in prop.constraints:
                    found.setdefault(inner.component, []).append(
                        (str(shape.target_classes[0]), prop)
                    )
    return {c: tuple(sorted(v, key=lambda t: (t[0], t[1].node))) for c, v in found.items()}


DATATYPES = [
    XSD + "string",
    XSD + "dateTime",
    XSD + "date",
    XSD + "anyURI",
    XSD + "integer",
    XSD + "positiveInteger",
    XSD + "decimal",
    XSD + "boolean",
    XSD + "duration",
    XSD + "double",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#HTML",
    "http://www.w3.org/2000/01/rdf-schema#Literal",
    RDF_LANGSTRING,
]
LEXICALS = [
    "x",
    "",
    "007",
    "+5",
    "-3",
    "0",
    "50",
    "100",
    "101",
    "150",
    "1.50",
    "1e3",
    "true",
    "1",
    "TRUE",
    "2026-07-01T09:00:00Z",
    "2026-07-01T09:00:00+00:00",
    "2026-07-01",
    "2026-13-45T99:00:00Z",
    "PT10H",
    "P1X",
    "<p>x</p>",
    "http://example.org/x",
    "not a uri",
]
LANGUAGES = ["en", "EN", "de", "ga", "en-GB", "fr"]

Mutation = Callable[[list[Triple], Any], None]


def _values(triples: list[Triple]) -> list[Term]:
    return sorted({o for _, _, o in triples}, key=repr)


def _nodes(triples: list[Triple]) -> list[str]:
    return sorted({s for s, _, _ in triples})


def _drop(triples: list[Triple], data: Any) -> None:
    del triples[data.draw(st.integers(0, len(triples) - 1))]


def _twin(value: Lit) -> Lit:
    """A lexical form rdflib normalises like ``value``'s (``007``/``7``, ``Z``/``+00:00``)."""
    if value.lexical.endswith("Z"):
        return value._replace(lexical=value.lexical[:-1] + "+00:00")
    if value.lexical.isdigit():
        return value._replace(lexical="0" + value.lexical)
    if value.language:
        return value._replace(language=value.language.upper())
    return value._replace(lexical=value.lexical + " ")


def _duplicate(triples: list[Triple], data: Any) -> None:
    """The same subject and predicate with another value (or a twin of the value)."""
    subject, predicate, obj = data.draw(st.sampled_from(triples))
    choice = data.draw(st.integers(0, 3))
    other: Term
    if choice == 0 and isinstance(obj, Lit):
        other = _twin(obj)
    elif choice == 1 and isinstance(obj, Lit) and obj.language:
        other = Lit(data.draw(st.sampled_from(LEXICALS)) + "!", RDF_LANGSTRING, obj.language)
    else:
        other = data.draw(st.sampled_from(_values(triples)))
    triples.append((subject, predicate, other))


def _literal_at(triples: list[Triple], data: Any) -> int | None:
    literals = [i for i, (_, _, o) in enumerate(triples) if isinstance(o, Lit)]
    return data.draw(st.sampled_from(literals)) if literals else None


def _swap_datatype(triples: list[Triple], data: Any) -> None:
    index = _literal_at(triples, data)
    if index is None:
        return
    subject, predicate, obj = triples[index]
    assert isinstance(obj, Lit)
    datatype = data.draw(st.sampled_from(DATATYPES))
    language = data.draw(st.sampled_from(LANGUAGES)) if datatype == RDF_LANGSTRING else None
    triples[index] = (subject, predicate, Lit(obj.lexical, datatype, language))


def _ill_type(triples: list[Triple], data: Any) -> None:
    index = _literal_at(triples, data)
    if index is None:
        return
    subject, predicate, obj = triples[index]
    assert isinstance(obj, Lit)
    lexical = data.draw(st.sampled_from(LEXICALS))
    triples[index] = (subject, predicate, obj._replace(lexical=lexical))


def _retype(triples: list[Triple], data: Any) -> None:
    typed = [i for i, (_, p, _) in enumerate(triples) if p == RDF_TYPE]
    index = data.draw(st.sampled_from(typed))
    subject, predicate, _ = triples[index]
    if data.draw(st.booleans()):
        del triples[index]
    else:
        triples[index] = (subject, predicate, data.draw(st.sampled_from(shape_classes())))


def _replace_iri(triples: list[Triple], data: Any) -> None:
    """An IRI object becomes a literal, a blank node or another IRI."""
    iris = [
        i
        for i, (_, p, o) in enumerate(triples)
        if isinstance(o, str) and not o.startswith("_:") and p != RDF_TYPE
    ]
    if not iris:
        return
    index = data.draw(st.sampled_from(iris))
    subject, predicate, obj = triples[index]
    assert isinstance(obj, str)
    replacement = data.draw(
        st.sampled_from(
            [
                Lit(obj, XSD + "anyURI"),
                Lit(obj, XSD + "string"),
                Lit(obj, RDF_LANGSTRING, "en"),
                "_:mutated",
                *(v for v in _values(triples) if isinstance(v, str) and v != obj),
            ]
        )
    )
    triples[index] = (subject, predicate, replacement)


def _same_language(triples: list[Triple], data: Any) -> None:
    """Another value in the language of a tagged one (or of each one of its property)."""
    tagged = [t for t in triples if isinstance(t[2], Lit) and t[2].language]
    if not tagged:
        return
    subject, predicate, obj = data.draw(st.sampled_from(tagged))
    if data.draw(st.booleans()):
        chosen = [t[2] for t in tagged if t[0] == subject and t[1] == predicate]
    else:
        chosen = [obj]
    for value in chosen:
        assert isinstance(value, Lit) and value.language
        language = data.draw(st.sampled_from([value.language, value.language.upper()]))
        triples.append((subject, predicate, Lit(value.lexical + " (2)", RDF_LANGSTRING, language)))


def _subclass(triples: list[Triple], data: Any) -> None:
    classes = sorted({o for _, p, o in triples if p == RDF_TYPE and isinstance(o, str)})
    sub = data.draw(st.sampled_from(classes))
    sup = data.draw(st.sampled_from(shape_classes()))
    triples.append((sub, RDFS_SUBCLASS_OF, sup))
    if data.draw(st.booleans()):  # now and then a cycle
        triples.append((sup, RDFS_SUBCLASS_OF, sub))


def _targeted_value(triples: list[Triple], data: Any) -> None:
    """A node becomes an instance of a shape's target class and gets a value on the path of
    one of its property shapes, one chosen for a constraint component (hence sh:maxInclusive
    on ``elm:levelOfCompletion``, which no sample uses, gets its turn)."""
    by_component = targets_by_component()
    component = data.draw(st.sampled_from(sorted(by_component)))
    target_class, prop = data.draw(st.sampled_from(by_component[component]))
    node = data.draw(st.sampled_from(_nodes(triples)))
    assert prop.path is not None
    value = data.draw(
        st.one_of(
            st.sampled_from(_values(triples)),
            st.tuples(st.sampled_from(LEXICALS), st.sampled_from(DATATYPES[:-1])).map(
                lambda pair: Lit(*pair)
            ),
            st.tuples(st.sampled_from(LEXICALS), st.sampled_from(LANGUAGES)).map(
                lambda pair: Lit(pair[0], RDF_LANGSTRING, pair[1])
            ),
        )
    )
    triples.append((node, RDF_TYPE, target_class))
    triples.append((node, prop.path, value))


MUTATIONS: list[Mutation] = [
    _drop,
    _duplicate,
    _swap_datatype,
    _ill_type,
    _retype,
    _replace_iri,
    _same_language,
    _subclass,
    _targeted_value,
]


def test_the_mutations_exercise_every_component_in_both_engines() -> None:
    seen_compiled: set[str] = set()
    seen_pyshacl: set[str] = set()
    examples = 0

    @settings(
        max_examples=150,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def check(data: Any) -> None:
        nonlocal examples
        triples = list(data.draw(st.sampled_from(bases())))
        for mutation in data.draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=4)):
            mutation(triples, data)
        _, results, _, _ = run_compiled(triples)
        keys = compare(triples)
        seen_compiled.update(str(v.constraint) for v in results)
        seen_pyshacl.update(k[5] for k in keys if k[5])
        examples += 1

    check()
    assert examples >= 100
    assert compiled_shapes().components - {SH + "PropertyConstraintComponent"} == (
        REPORTING_COMPONENTS
    )
    assert seen_compiled >= REPORTING_COMPONENTS, REPORTING_COMPONENTS - seen_compiled
    assert seen_pyshacl >= REPORTING_COMPONENTS, REPORTING_COMPONENTS - seen_pyshacl


# -- the shapes' own oddities and the engine's refusals -----------------------------------------


def test_the_typos_in_the_shapes_are_ignored_as_pyshacl_ignores_them() -> None:
    """``sh:nodekind`` (edc:Person-elm_citizenshipCountry) is no SHACL term: a literal
    citizenship breaks sh:class only. ``a sh:propertyShape`` (the presentation's cred:proof)
    is no class, but the shape is a property shape all the same (it has a sh:path and is a
    sh:property value): its sh:datatype holds."""
    learner = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    presentation = "urn:uuid:presentation"
    triples = [
        *built_triples("example"),
        (learner, ELM + "citizenshipCountry", Lit("IRL", XSD + "string")),
        (presentation, RDF_TYPE, ELM + "EuropeanDigitalPresentation"),
        (presentation, "https://www.w3.org/2018/credentials#proof", "urn:proof:1"),
    ]
    results = compare(triples)
    by_shape = {(shape, constraint) for _, _, _, _, shape, constraint in results}
    citizenship = EDC_NO_CV + "Person-elm_citizenshipCountry"
    assert (citizenship, SH + "ClassConstraintComponent") in by_shape
    assert (citizenship, SH + "NodeKindConstraintComponent") not in by_shape
    # (the full shapes' own citizenship shape, spelled right, does report the literal)
    assert (SH + "NodeKindConstraintComponent") in {c for s, c in by_shape if s != citizenship}
    proof = EDC_NO_CV + "EuropeanDigitalPresentation-cred_proof"
    assert (proof, SH + "DatatypeConstraintComponent") in by_shape


def test_unique_lang_reports_each_repeated_language() -> None:
    issuer = EXAMPLE_ISSUER_DID
    legal_name = "http://www.w3.org/ns/regorg#legalName"
    triples = list(built_triples("example"))
    names = [o for s, p, o in triples if s == issuer and p == legal_name]
    assert {n.language for n in names if isinstance(n, Lit)} == {"en", "ga"}
    for name in names:
        assert isinstance(name, Lit)
        triples.append((issuer, legal_name, name._replace(lexical=name.lexical + "!")))
    conforms, results, _, _ = run_compiled(triples)
    assert not conforms
    unique_lang = [v for v in results if v.constraint == SH + "UniqueLangConstraintComponent"]
    assert len(unique_lang) == 2 and len({key(v) for v in unique_lang}) == 1
    compare(triples)


def test_validations_in_threads_need_no_lock() -> None:
    """The compiled shapes are never changed and every validation keeps its own state."""
    documents = [built(name) for name in ("example-status", "partner-awarded", "two-statuses")]
    nquads = [canonical_nquads(d, loader()) for d in documents]
    expected = [validate_edc_nquads(n, d["id"]) for n, d in zip(nquads, documents, strict=True)]

    def validate(i: int) -> ShaclReport:
        return validate_edc_nquads(nquads[i % 3], documents[i % 3]["id"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(validate, range(60)))
    assert reports == [expected[i % 3] for i in range(60)]


def test_our_constraint_parameters_are_pyshacls() -> None:
    assert {str(p) for p in ALL_CONSTRAINT_PARAMETERS} == engine.PYSHACL_CONSTRAINT_PARAMETERS
    assert set(engine.SUPPORTED_PARAMETERS) <= engine.PYSHACL_CONSTRAINT_PARAMETERS


def test_the_shapes_compile_once_and_nest_shallowly() -> None:
    compiled = compiled_shapes()
    assert compiled is compiled_shapes()
    assert len(compiled.shapes) == 744  # as many as pyshacl harvests
    assert 0 < compiled.max_depth < engine.MAX_VALIDATION_DEPTH


PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
"""


def _shapes(turtle: str) -> Graph:
    return Graph().parse(data=PREFIXES + turtle, format="turtle")


@pytest.mark.parametrize(
    "turtle",
    [
        "ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:minLength 1 ] .",
        "ex:S a sh:NodeShape ; sh:targetNode ex:n .",
        "ex:S a sh:NodeShape ; sh:targetSubjectsOf ex:p .",
        "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:in ( ex:a ) .",
        "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:not [ sh:class ex:D ] .",
        "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:closed true .",
        "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [ sh:select 'SELECT $this {}' ] .",
        "ex:S sh:targetClass ex:C ; sh:property [ sh:path [ sh:inversePath ex:p ] ] .",
        "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
        "sh:qualifiedValueShape [ sh:class ex:D ] ; sh:qualifiedMinCount 1 ] .",
        "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:node ex:S .",  # recursion
        "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
        "sh:minCount '1' ] .",
        "ex:S a sh:NodeShape ; sh:minCount 1 .",
        "ex:Component a sh:ConstraintComponent ; sh:parameter [ sh:path ex:q ] .",
        "ex:S a sh:NodeShape ; sh:path ex:p .",
    ],
)
def test_what_the_engine_does_not_implement_is_refused(turtle: str) -> None:
    with pytest.raises(UnsupportedShapes):
        compile_shapes(_shapes(turtle))


SYNTHETIC_SHAPES = """
ex:Thing a sh:NodeShape ; sh:targetClass ex:Thing ;
    sh:property ex:thing-name, ex:thing-part, ex:thing-level, ex:thing-kind .
ex:thing-name sh:path ex:name ; sh:minCount 1 ; sh:maxCount 2 ; sh:datatype rdf:langString ;
    sh:uniqueLang true ; sh:severity sh:Warning .
ex:thing-part sh:path ex:part ; sh:or ( [ sh:class ex:Part ] [ sh:node ex:Named ] ) ;
    sh:class ex:Thing, ex:Part .
ex:thing-level sh:path ex:level ; sh:maxInclusive 10, 20 ; sh:datatype xsd:integer ;
    sh:message "level out of range" .
ex:thing-kind sh:path ex:kind ; sh:hasValue ex:a, ex:b ; sh:nodeKind sh:IRIOrLiteral ;
    sh:severity sh:Info .
ex:Named a sh:NodeShape ; sh:property [ sh:path ex:name ; sh:minCount 1 ] ;
    sh:node ex:Off .
ex:Off a sh:NodeShape ; sh:deactivated true ; sh:property [ sh:path ex:name ; sh:minCount 9 ] .
ex:Part a sh:NodeShape, rdfs:Class ;
    sh:property [ sh:path ex:size ; sh:datatype xsd:decimal ; sh:maxCount 1 ] ;
    sh:node ex:WarnOnly .
ex:WarnOnly a sh:NodeShape ; sh:severity sh:Warning ;
    sh:property [ sh:path ex:size ; sh:minCount 2 ] .
ex:Special a owl:Class, sh:NodeShape ; sh:property [ sh:path ex:name ; sh:maxCount 0 ] .
ex:DeactivatedByAString a sh:PropertyShape ; sh:targetClass ex:Thing ; sh:path ex:level ;
    sh:maxCount 0 ; sh:deactivated "false" .
ex:TargetedProperty a sh:PropertyShape ; sh:targetClass ex:Thing ; sh:path ex:level ;
    sh:maxCount 1 ; sh:deactivated false .
"""
EX = "http://example.org/"
SYNTHETIC_DATA: list[list[Triple]] = [
    [(EX + "t", RDF_TYPE, EX + "Thing")],
    [
        (EX + "t", RDF_TYPE, EX + "Sub"),
        (EX + "Sub", RDFS_SUBCLASS_OF, EX + "Thing"),
        (EX + "t", EX + "name", Lit("a", RDF_LANGSTRING, "en")),
        (EX + "t", EX + "name", Lit("b", RDF_LANGSTRING, "EN")),
        (EX + "t", EX + "name", Lit("c", XSD + "string")),
        (EX + "t", EX + "part", EX + "p"),
        (EX + "t", EX + "part", Lit("p", XSD + "string")),
        (EX + "p", RDF_TYPE, EX + "Part"),
        (EX + "p", EX + "size", Lit("1.5", XSD + "decimal")),
        (EX + "p", EX + "size", Lit("1.50", XSD + "decimal")),
        (EX + "t", EX + "level", Lit("15", XSD + "integer")),
        (EX + "t", EX + "level", Lit("015", XSD + "integer")),
        (EX + "t", EX + "level", Lit("x", XSD + "integer")),
        (EX + "t", EX + "kind", "_:k"),
    ],
    [
        (EX + "t", RDF_TYPE, EX + "Thing"),
        (EX + "t", RDF_TYPE, EX + "Special"),
        (EX + "t", EX + "name", Lit("a", RDF_LANGSTRING, "en")),
        (EX + "t", EX + "part", "_:n"),
        ("_:n", EX + "name", Lit("n", XSD + "string")),
        (EX + "t", EX + "level", Lit("5", XSD + "integer")),
        (EX + "t", EX + "kind", EX + "a"),
        (EX + "t", EX + "kind", EX + "b"),
        (EX + "Thing", RDFS_SUBCLASS_OF, EX + "Part"),
        (EX + "Part", RDFS_SUBCLASS_OF, EX + "Thing"),
    ],
]


@pytest.mark.parametrize("triples", SYNTHETIC_DATA, ids=["bare", "broken", "fine"])
def test_features_the_edc_shapes_do_not_use_equal_pyshacl_too(triples: list[Triple]) -> None:
    """Severities other than sh:Violation (a failing sh:Warning shape still conforms),
    deactivation, implicit class targets, targets on a property shape, several values of one
    parameter, subclass cycles, rdflib's literal identity."""
    shapes = _shapes(SYNTHETIC_SHAPES)
    report = validate_triples(compile_shapes(shapes), triples)
    validator = Validator(
        DataGraph.from_rdflib(rdflib_graph(triples)),
        shacl_graph=shapes,
        options={"inference": "none", "allow_warnings": True, "allow_infos": True},
    )
    conforms, graph, _ = validator.run()  # type: ignore[no-untyped-call]
    reference = Counter(map(key, pyshacl_violations(graph)))
    compiled = Counter(
        (r.focus_node, r.path, r.value, r.severity.rsplit("#")[-1], r.source_shape, r.constraint)
        for r in report.results
    )
    assert compiled == reference
    assert report.conforms == conforms
    assert report.results or triples is not SYNTHETIC_DATA[1]


# -- parsing -------------------------------------------------------------------------------------


def test_parse_nquads_reads_what_rdflib_reads() -> None:
    nquads = (
        '<http://a/s> <http://a/p> "x\\ty\\u00e9\\"\\\\"@EN-gb .\n'
        '_:b0 <http://a/p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> <http://a/g> .\n'
        "_:b0 <http://a/p> _:b1 .\n"
        '<http://a/s> <http://a/q> "plain" .\n'
        + canonical_nquads(built("example-status"), loader())
    )
    ours = rdflib_graph(parse_nquads(nquads))
    dataset = Dataset()
    with warnings.catch_warnings():  # rdflib 7.6 deprecates what its own parse() calls
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset.parse(data=nquads, format="nquads")
    theirs = Graph()
    for s, p, o in dataset.default_graph:
        # rdflib leaves a plain literal without a datatype (ours have xsd:string, as pyld's
        # do) and keeps the case of a language tag (pyoxigraph writes it in lower case)
        if isinstance(o, RdfLiteral) and o.language:
            o = RdfLiteral(o, lang=o.language.lower())
        elif isinstance(o, RdfLiteral) and o.datatype is None:
            o = RdfLiteral(o, datatype=URIRef(XSD + "string"))
        theirs.add((s, p, o))
    assert isomorphic(ours, theirs)  # (rdflib relabels blank nodes)
    assert len(ours) == len(theirs)
    assert len(ours) > 200
    with pytest.raises(ValueError):
        parse_nquads("<http://a/s> <http://a/p> .\n")
    with pytest.raises(ValueError):
        parse_nquads('<http://a/s> <http://a/p> "x"@ar--rtl .\n')


def test_datatype_matching_is_pyshacls() -> None:
    """Every lexical form of the pool against every datatype, one literal at a time."""
    for rule in DATATYPES:
        graph = _shapes(
            f"ex:S a sh:NodeShape ; sh:targetClass ex:C ; "
            f"sh:property [ sh:path ex:p ; sh:datatype <{rule}> ] ."
        )
        compiled = compile_shapes(graph)
        triples: list[Triple] = [(EX + "n", RDF_TYPE, EX + "C")]
        for i, lexical in enumerate(LEXICALS):
            node = f"{EX}n{i}"
            triples.append((node, RDF_TYPE, EX + "C"))
            for datatype in DATATYPES[:-1]:
                triples.append((node, EX + "p", Lit(lexical, datatype)))
            triples.append((node, EX + "p", Lit(lexical, RDF_LANGSTRING, "en")))
        triples.append((EX + "n", EX + "p", EX + "iri"))
        triples.append((EX + "n", EX + "p", "_:b"))
        validator = Validator(
            DataGraph.from_rdflib(rdflib_graph(triples)),
            shacl_graph=graph,
            options={"inference": "none"},
        )
        _, report_graph, _ = validator.run()  # type: ignore[no-untyped-call]
        reference = Counter((v.focus_node, v.value) for v in pyshacl_violations(report_graph))
        ours = Counter((r.focus_node, r.value) for r in validate_triples(compiled, triples).results)
        assert ours == reference, rule
