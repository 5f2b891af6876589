"""A compiled SHACL validator for exactly the SHACL features of the pinned EDC shapes.

- Fast path: the shapes compiled once into plain Python structures, checked with dictionaries
  and tuples (this module), on triples parsed by pyoxigraph.
- Reference: pyshacl 0.40.1 on an rdflib graph of the same triples (:mod:`app.credentials.shacl`,
  engine ``"pyshacl"``).
- Proven by: ``tests/unit/test_shacl_equivalence.py`` (the same results, focus node by focus
  node, and the same ``conforms``, on the samples, built EDCs and mutated triples).

:func:`compile_shapes` turns the shapes graph (an rdflib graph) into plain, immutable Python
structures once per process; :func:`validate_triples` then checks the triples of a data graph
against them with dictionaries and tuples only. The semantics are pyshacl's (0.40.1, with the
options :mod:`app.credentials.shacl` runs it with: ``inference="none"``, ``allow_warnings`` and
``allow_infos``), not an independent reading of the SHACL specification, and
``tests/unit/test_shacl_equivalence.py`` compares both engines result by result.

Supported, as pyshacl implements them (``pyshacl/…`` paths are in its package):

* shapes found as ``ShapesGraph._build_node_shape_cache`` finds them (``shapes_graph.py``:
  declared ``sh:NodeShape``/``sh:PropertyShape``, subjects of targets, ``sh:property`` and
  ``sh:node``, values of ``sh:property``/``sh:node``/``sh:not``/``sh:qualifiedValueShape`` and
  members of ``sh:and``/``sh:or``/``sh:xone`` lists; a property shape is one with ``sh:path``),
  with its load errors;
* every shape is validated on its own targets (``validator.py`` ``run``): ``sh:targetClass``
  and implicit class targets (the shape is typed ``rdfs:Class`` or a direct ``rdfs:subClassOf``
  of it in the shapes graph, ``owl:Class`` included: ``Shape.implicit_class_targets``), whose
  instances are the subjects of ``rdf:type`` C where C ``rdfs:subClassOf*`` the target class in
  the *data* graph (``Shape.focus_nodes``);
* predicate paths only; ``sh:deactivated`` (``bool(literal.value)``), ``sh:severity``,
  ``sh:message``;
* the constraint components ``sh:class``, ``sh:datatype``, ``sh:nodeKind``, ``sh:minCount``,
  ``sh:maxCount``, ``sh:maxInclusive``, ``sh:or``, ``sh:node``, ``sh:property``,
  ``sh:hasValue``, ``sh:uniqueLang`` (``constraints/core/*.py``), results and conformance
  included: ``sh:node`` adds one result whose details (``sh:detail``) are the nested results,
  which the report lists as well; ``sh:or`` keeps no result of its members; ``sh:property``
  passes the nested results on; ``sh:hasValue``, ``sh:minCount``, ``sh:maxCount`` and
  ``sh:uniqueLang`` (one result per repeated language, compared in lower case) give no
  ``sh:value``.

Any other predicate pyshacl acts on (another constraint parameter, another target, a SHACL-AF or
SHACL-JS term, a complex path, a custom constraint component) makes :func:`compile_shapes` raise
:class:`UnsupportedShapes`: no constraint is ever ignored silently. Predicates pyshacl ignores
(``sh:name``, ``sh:order``, the typo ``sh:nodekind``…) are ignored here too.

Literal semantics are rdflib's, because pyshacl sees the data as rdflib terms: a literal's
value, whether it is ill-typed, and its normalised lexical form (``"007"^^xsd:integer`` *is*
``"7"``: rdflib stores one term for both, so they count as one value) come from
:class:`rdflib.term.Literal`, computed only for literals a ``sh:datatype``/``sh:maxInclusive``
constraint looks at, for reported values, and for two literals of one datatype under the same
subject and predicate; language tags compare case-insensitively, as rdflib's literals do.

No state is shared between validations (the compiled shapes are never changed, the caches are
:func:`functools.lru_cache`), so threads need no lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

import pyoxigraph
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import Node

SH = "http://www.w3.org/ns/shacl#"
RDF_TYPE = str(RDF.type)
RDF_LANGSTRING = str(RDF.langString)
RDFS_SUBCLASS_OF = str(RDFS.subClassOf)
RDFS_LITERAL = str(RDFS.Literal)
RDFS_DATATYPE = str(RDFS.Datatype)
XSD_STRING = str(XSD.string)

#: pyshacl's options in :mod:`app.credentials.shacl` allow warnings and infos: a shape of these
#: severities conforms even when it has results (``Shape.validate``, ``allow_conform``).
ALLOWED_SEVERITIES = frozenset({SH + "Info", SH + "Warning"})
#: ``max_validation_depth`` (``validator.py``): pyshacl refuses to nest shapes this deep.
MAX_VALIDATION_DEPTH = 15

CLASS = SH + "ClassConstraintComponent"
DATATYPE = SH + "DatatypeConstraintComponent"
NODE_KIND = SH + "NodeKindConstraintComponent"
MIN_COUNT = SH + "MinCountConstraintComponent"
MAX_COUNT = SH + "MaxCountConstraintComponent"
MAX_INCLUSIVE = SH + "MaxInclusiveConstraintComponent"
OR = SH + "OrConstraintComponent"
NODE = SH + "NodeConstraintComponent"
PROPERTY = SH + "PropertyConstraintComponent"
HAS_VALUE = SH + "HasValueConstraintComponent"
UNIQUE_LANG = SH + "UniqueLangConstraintComponent"

#: The constraint components this engine implements, by their parameter.
SUPPORTED_PARAMETERS: dict[str, str] = {
    SH + "class": CLASS,
    SH + "datatype": DATATYPE,
    SH + "nodeKind": NODE_KIND,
    SH + "minCount": MIN_COUNT,
    SH + "maxCount": MAX_COUNT,
    SH + "maxInclusive": MAX_INCLUSIVE,
    SH + "or": OR,
    SH + "node": NODE,
    SH + "property": PROPERTY,
    SH + "hasValue": HAS_VALUE,
    SH + "uniqueLang": UNIQUE_LANG,
}
#: Every constraint parameter pyshacl 0.40.1 evaluates (``pyshacl.constraints``
#: ``ALL_CONSTRAINT_PARAMETERS``; a test keeps the two lists equal).
PYSHACL_CONSTRAINT_PARAMETERS = frozenset(
    SH + name
    for name in (
        "class datatype nodeKind minCount maxCount minExclusive minInclusive maxExclusive "
        "maxInclusive not and or xone minLength maxLength pattern languageIn uniqueLang equals "
        "disjoint lessThan lessThanOrEquals node property qualifiedValueShape qualifiedMinCount "
        "qualifiedValueShapesDisjoint qualifiedMaxCount closed ignoredProperties hasValue in "
        "sparql"
    ).split()
)
#: Other predicates pyshacl acts on (targets; SHACL-AF and SHACL-JS terms in its advanced and JS
#: modes, which are off, refused all the same); none is supported.
UNSUPPORTED_PREDICATES = frozenset(
    SH + name
    for name in (
        "targetNode targetSubjectsOf targetObjectsOf target rule expression js jsFunctionName "
        "jsLibrary condition"
    ).split()
)
_NODE_KINDS = {
    SH + "IRI": frozenset({"iri"}),
    SH + "BlankNode": frozenset({"bnode"}),
    SH + "Literal": frozenset({"literal"}),
    SH + "BlankNodeOrIRI": frozenset({"bnode", "iri"}),
    SH + "BlankNodeOrLiteral": frozenset({"bnode", "literal"}),
    SH + "IRIOrLiteral": frozenset({"iri", "literal"}),
}


class UnsupportedShapes(ValueError):
    """The shapes graph uses a SHACL feature this engine does not implement (or is malformed)."""


# -- terms ---------------------------------------------------------------------------------------


class Lit(NamedTuple):
    """An RDF literal. A language-tagged one has the datatype ``rdf:langString``."""

    lexical: str
    datatype: str
    language: str | None = None


#: An IRI is a ``str``, a blank node ``"_:" + label`` (no IRI starts so: a scheme starts with a
#: letter), a literal a :class:`Lit`.
Term = str | Lit
Triple = tuple[str, str, Term]

_EMPTY: tuple[Term, ...] = ()
_NO_PROPERTIES: dict[str, tuple[Term, ...]] = {}


def to_rdflib(term: Term) -> Node:
    """The rdflib term pyshacl sees for ``term`` (as :func:`app.credentials.shacl.data_graph`
    builds it: every literal without a language has its datatype, ``xsd:string`` included)."""
    if type(term) is Lit:
        if term.language is not None:
            return Literal(term.lexical, lang=term.language)
        return Literal(term.lexical, datatype=URIRef(term.datatype))
    assert isinstance(term, str)
    if term.startswith("_:"):
        return BNode(term[2:])
    return URIRef(term)


def from_rdflib(node: Node) -> Term:
    if isinstance(node, Literal):
        if node.language:
            return Lit(str(node), RDF_LANGSTRING, node.language)
        return Lit(str(node), str(node.datatype or XSD.string))
    if isinstance(node, BNode):
        return "_:" + str(node)
    if isinstance(node, URIRef) and not str(node).startswith("_:"):
        return str(node)
    raise ValueError(f"not an RDF term this engine reads: {node!r}")


def rdflib_graph(triples: Iterable[Triple]) -> Graph:
    """``triples`` as an rdflib graph, the input pyshacl validates."""
    graph = Graph()
    for subject, predicate, obj in triples:
        graph.add((to_rdflib(subject), URIRef(predicate), to_rdflib(obj)))
    return graph


def parse_nquads(nquads: str) -> list[Triple]:
    """The default-graph triples of ``nquads`` (quads in named graphs, e.g. a Data Integrity
    proof, are left out), read with pyoxigraph's N-Quads parser.

    Parsed leniently (IRIs are not checked), as rdflib takes whatever IRI pyld writes. Raises
    :class:`ValueError` on a syntax error, a base direction or an RDF 1.2 triple term.
    """
    named, blank, literal = pyoxigraph.NamedNode, pyoxigraph.BlankNode, pyoxigraph.Literal
    default_graph = pyoxigraph.DefaultGraph
    triples: list[Triple] = []
    try:
        quads = list(pyoxigraph.parse(nquads, format=pyoxigraph.RdfFormat.N_QUADS, lenient=True))
    except SyntaxError as exc:
        raise ValueError(f"not N-Quads: {exc}") from None
    for quad in quads:
        if type(quad.graph_name) is not default_graph:
            continue
        subject = quad.subject
        kind = type(subject)
        if kind is named:
            s = subject.value
        elif kind is blank:
            s = "_:" + subject.value
        else:
            raise ValueError("an RDF 1.2 triple term is not supported")
        obj = quad.object
        kind = type(obj)
        o: Term
        if kind is named:
            o = obj.value
        elif kind is blank:
            o = "_:" + obj.value
        elif kind is literal:
            if obj.direction is not None:
                raise ValueError("a literal with a base direction is not supported")
            o = Lit(obj.value, obj.datatype.value, obj.language)
        else:
            raise ValueError("an RDF 1.2 triple term is not supported")
        triples.append((s, quad.predicate.value, o))
    return triples


# -- rdflib's literal semantics ----------------------------------------------------------------


@lru_cache(maxsize=8192)
def _rdflib_literal(lexical: str, datatype: str, language: str | None) -> Literal:
    if language is not None:
        return Literal(lexical, lang=language)
    return Literal(lexical, datatype=URIRef(datatype))


def literal_text(term: Lit) -> str:
    """The lexical form rdflib keeps (normalised: ``"007"^^xsd:integer`` reads ``7``)."""
    try:
        return str(_rdflib_literal(*term))
    except ValueError:  # a language tag rdflib refuses
        return term.lexical


def term_text(term: Term) -> str:
    """How the report names ``term``: an IRI, a blank node's label, a literal's lexical form."""
    if type(term) is Lit:
        return literal_text(term)
    assert isinstance(term, str)
    return term[2:] if term.startswith("_:") else term


@lru_cache(maxsize=8192)
def _well_typed(lexical: str, datatype: str) -> bool:
    """pyshacl's test for a literal whose datatype is the ``sh:datatype`` one
    (``DatatypeConstraintComponent.evaluate`` and ``_assert_actual_datatype``)."""
    literal = _rdflib_literal(lexical, datatype, None)
    if literal.ill_typed is True:
        return False
    value = literal.value
    if datatype == XSD_STRING or datatype == RDF_LANGSTRING:
        return isinstance(value, str | bytes)
    expected = _VALUE_TYPES.get(datatype)
    return expected is None or isinstance(value, expected)


_VALUE_TYPES: dict[str, type | tuple[type, ...]] = {
    str(XSD.integer): int,
    str(XSD.float): float,
    str(XSD.decimal): Decimal,
    str(XSD.boolean): bool,
    str(XSD.date): date,
    str(XSD.time): time,
    str(XSD.dateTime): datetime,
}


def datatype_matches(term: Term, rule: str) -> bool:
    """Whether ``term`` satisfies ``sh:datatype rule`` as pyshacl decides it on rdflib terms,
    where a language-tagged literal has no datatype (``DatatypeConstraintComponent``)."""
    if type(term) is not Lit:
        return False
    if term.language is not None:
        # rdflib: datatype None, value the lexical str
        return rule == RDF_LANGSTRING or rule == RDFS_LITERAL
    if term.datatype == rule:
        return True if rule == XSD_STRING else _well_typed(term.lexical, rule)
    return rule == RDFS_LITERAL or rule == RDFS_DATATYPE


#: ``pyshacl.rdfutil.compare._FORCE_COMPARE_LITERAL_VALUE``
_FORCE_COMPARE_VALUE = (datetime, time)


def _compare_literal(l1: Literal, l2: Literal) -> int:
    """``pyshacl.rdfutil.compare.compare_literal``"""
    if l1.eq(l2):
        return 0
    if l1.value.__class__ in _FORCE_COMPARE_VALUE:
        if l1.value == l2.value:
            return 0
        elif l1.value > l2.value:
            return 1
    elif l1 > l2:
        return 1
    return -1


def max_inclusive_holds(term: Term, maximum: Literal) -> bool:
    """``MaxInclusiveConstraintComponent._evaluate_max_rule`` for one value node."""
    if type(term) is not Lit:
        return False  # IRIs and blank nodes cannot pass
    try:
        value = _rdflib_literal(*term)
    except ValueError:
        return False  # pyshacl would not have this literal at all
    if isinstance(maximum.value, str) != isinstance(value.value, str):
        return False
    try:
        return _compare_literal(value, maximum) <= 0
    except (TypeError, NotImplementedError):
        return False


# -- compiled shapes -----------------------------------------------------------------------------


class _Result(NamedTuple):
    focus: Term
    value: Term | None
    shape: CompiledShape
    constraint: Constraint
    details: tuple[_Result, ...]


_Pairs = Sequence[tuple[Term, tuple[Term, ...]]]
_Check = Callable[["_Validation", "CompiledShape", "Constraint", _Pairs, list[_Result]], bool]


@dataclass(frozen=True, eq=False, slots=True)
class Constraint:
    """One constraint component of a shape with all its parameter values."""

    component: str
    check: _Check
    params: tuple[Any, ...]
    message: str


@dataclass(frozen=True, eq=False, slots=True)
class CompiledShape:
    node: str
    """The shape as pyshacl's report names it (``str`` of the rdflib node)."""
    path: str | None
    severity: str
    allowed: bool
    messages: tuple[str, ...]
    deactivated: bool
    target_classes: tuple[Term, ...]
    constraints: tuple[Constraint, ...] = field(default=())
    #: a property shape that has nothing to say about a focus node without values
    quiet_without_values: bool = True


@dataclass(frozen=True, slots=True)
class CompiledShapes:
    shapes: tuple[CompiledShape, ...]
    targeted: tuple[CompiledShape, ...]
    components: frozenset[str]
    """The constraint components the shapes use (``sh:property`` included)."""
    max_depth: int


class ShaclResult(NamedTuple):
    focus_node: str
    path: str | None
    value: str | None
    severity: str
    source_shape: str
    constraint: str
    message: str


@dataclass(frozen=True, slots=True)
class EngineReport:
    conforms: bool
    results: tuple[ShaclResult, ...]
    """Every validation result, nested ``sh:node`` details included, as pyshacl's report
    graph holds them (one entry per result node)."""
    triples: int
    types: frozenset[Term]
    """Every ``rdf:type`` object of the data."""


# -- validation ------------------------------------------------------------------------------


class _Data:
    """The data graph as ``subject -> predicate -> values`` with rdflib's term identity."""

    __slots__ = ("objects", "type_closure", "instances", "size", "types")

    def __init__(self, triples: Iterable[Triple]) -> None:
        grouped: dict[Term, dict[str, list[Term]]] = {}
        for subject, predicate, obj in triples:
            if type(obj) is Lit and obj.language is not None and not obj.language.islower():
                obj = obj._replace(language=obj.language.lower())
            properties = grouped.get(subject)
            if properties is None:
                grouped[subject] = {predicate: [obj]}
                continue
            values = properties.get(predicate)
            if values is None:
                properties[predicate] = [obj]
            else:
                values.append(obj)
        objects: dict[Term, dict[str, tuple[Term, ...]]] = {}
        size = 0
        for node, properties in grouped.items():
            frozen = {}
            for predicate, values in properties.items():
                if len(values) > 1:
                    values = _rdflib_distinct(list(dict.fromkeys(values)))
                frozen[predicate] = tuple(values)
                size += len(values)
            objects[node] = frozen
        self.objects = objects
        self.size = size
        typed = {s: props[RDF_TYPE] for s, props in objects.items() if RDF_TYPE in props}
        self.types: frozenset[Term] = frozenset(t for ts in typed.values() for t in ts)
        closure: dict[Term, frozenset[Term]]
        if not any(RDFS_SUBCLASS_OF in props for props in objects.values()):
            closure = {s: frozenset(ts) for s, ts in typed.items()}
        else:
            superclasses = {
                c: props[RDFS_SUBCLASS_OF]
                for c, props in objects.items()
                if RDFS_SUBCLASS_OF in props
            }
            memo: dict[Term, frozenset[Term]] = {}
            closure = {
                s: frozenset().union(*(_superclasses(t, superclasses, memo) for t in ts))
                for s, ts in typed.items()
            }
        self.type_closure = closure
        instances: dict[Term, list[Term]] = {}
        for instance, classes in closure.items():
            for cls in classes:
                instances.setdefault(cls, []).append(instance)
        self.instances = instances


def _superclasses(
    cls: Term, superclasses: dict[Term, tuple[Term, ...]], memo: dict[Term, frozenset[Term]]
) -> frozenset[Term]:
    """``cls`` and everything it is an ``rdfs:subClassOf*`` of (cycles allowed)."""
    found = memo.get(cls)
    if found is None:
        reached = {cls}
        pending = [cls]
        while pending:
            for parent in superclasses.get(pending.pop(), _EMPTY):
                if parent not in reached:
                    reached.add(parent)
                    pending.append(parent)
        found = memo[cls] = frozenset(reached)
    return found


def _rdflib_distinct(values: list[Term]) -> list[Term]:
    """Drop values rdflib holds as the same term: typed literals of one datatype whose lexical
    forms rdflib normalises alike (``"1"``, ``"01"`` as ``xsd:integer``)."""
    datatypes = [v.datatype for v in values if type(v) is Lit and v.language is None]
    if len(datatypes) == len(set(datatypes)):
        return values
    kept: list[Term] = []
    keys: set[tuple[str, str]] = set()
    for value in values:
        if type(value) is Lit and value.language is None:
            key = (literal_text(value), value.datatype)
            if key in keys:
                continue
            keys.add(key)
        kept.append(value)
    return kept


class _Validation:
    __slots__ = ("data", "objects", "closure", "memo")

    def __init__(self, data: _Data) -> None:
        self.data = data
        self.objects = data.objects
        self.closure = data.type_closure
        self.memo: dict[tuple[CompiledShape, Term], tuple[bool, tuple[_Result, ...]]] = {}

    def validate(self, shape: CompiledShape, focus: Iterable[Term]) -> tuple[bool, list[_Result]]:
        """``Shape.validate``: conformance and results of ``shape`` on the focus nodes."""
        if shape.deactivated:
            return True, []
        path = shape.path
        pairs: _Pairs
        if path is None:
            pairs = [(f, (f,)) for f in focus]
        else:
            objects = self.objects
            pairs = [(f, objects.get(f, _NO_PROPERTIES).get(path, _EMPTY)) for f in focus]
        if not pairs:
            return True, []
        results: list[_Result] = []
        return self.check(shape, pairs, results), results

    def check(self, shape: CompiledShape, pairs: _Pairs, out: list[_Result]) -> bool:
        """Whether ``shape`` (not deactivated) conforms on ``pairs`` (focus nodes and their
        value nodes); its results go to ``out``."""
        conforms = True
        for constraint in shape.constraints:
            if not constraint.check(self, shape, constraint, pairs, out):
                conforms = False
        # A constraint that fails always brings a result of a severity the options do not
        # allow (this shape's, or a nested property shape's that failed), so pyshacl's
        # ``filter_reports`` amounts to this.
        return conforms or shape.allowed

    def validate_one(self, shape: CompiledShape, focus: Term) -> tuple[bool, tuple[_Result, ...]]:
        """The same for one focus node, remembered (``sh:node`` and ``sh:or`` members)."""
        key = (shape, focus)
        found = self.memo.get(key)
        if found is None:
            conforms, results = self.validate(shape, (focus,))
            found = self.memo[key] = (conforms, tuple(results))
        return found


def _check_class(
    run: _Validation, shape: CompiledShape, c: Constraint, pairs: _Pairs, out: list[_Result]
) -> bool:
    closure = run.closure
    ok = True
    for cls in c.params:
        for focus, values in pairs:
            for value in values:
                if type(value) is Lit or cls not in closure.get(value, _EMPTY):
                    out.append(_Result(focus, value, shape, c, ()))
                    ok = False
    return ok


def _check_datatype(
    run: _Validation, shape: CompiledShape, c: Constraint, pairs: _Pairs, out: list[_Result]
) -> bool:
    (rule,) = c.params
    ok = True
    for focus, values in pairs:
        for value in values:
            if not datatype_matches(value, rule):
                out.append(_Result(focus, value, shape, c, ()))
                ok = False
    return ok


def _check_node_kind(
    run: _Validation, shape: CompiledShape, c: Constraint, pairs: _Pairs, out: list[_Result]
) -> bool:
    (kinds,) = c.params
    ok = True
    for focus, values in pairs:
        for value in values:
            if isinstance(value, Lit):
                kind = "literal"
            elif value.startswith("_:"):
                kind = "bnode"
            else:
                kind = "iri"
            if kind not in kinds:
                out.append(_Result(focus, value, shape, c, ()))
                ok = False
    return ok


def _check_min_count(
    run: _Validation, shape: CompiledShape, c: Constraint, pairs: _Pairs, out: list[_Result]
) -> bool:
    (minimum,) = c.params
    ok = True
    if minimum == 0:
        return True
    for focus, values in pairs:
        if len(values) < minimum:
            out.append(_Result(focus, None, shape, c, ()))
            ok = False
    return ok


def _check_max_count(
    run: _Validation, shape: CompiledShape, c: Constraint, pairs: _Pairs, out: list[_Result]
) -> bool:
    (maximum,) = c.params
    ok = True
    for focus, values in pairs:
        if len(values) > maximum:
            out.append(_Result(focus, None, shape, c, ()))
            ok = False
    return ok


def _check_max_inclusive(
    run: _Validation, shape: CompiledShape, c: Constraint, pairs: _Pairs, out: list[_Result]
) -> bool:
    ok = True
    for maximum in c.params:
        for focus, values in pairs:
            for value in values:
                if not max_inclusive_holds(value, maximum):
                    out.append(_Result(focus, value, shape, c, ()))
                    ok = False
    return ok


def _check_has_value(
    run: _Validation, shape: CompiledShape, c: Constraint, pairs: _Pairs, out: list[_Result]
) -> bool:
    ok = True
    for wanted in c.params:
        for focus, values in pairs:
            if wanted not in values:
                out.append(_Result(focus, None, shape, c, ()))
                ok = False
    return ok


def _check_unique_lang(
    run: _Validation, shape: CompiledShape, c: Constraint, pairs: _Pairs, out: list[_Result]
) -> bool:
    (unique,) = c.params
    if not unique:
        return True
    ok = True
    for focus, values in pairs:
        found: set[str] = set()
        repeated: set[str] = set()
        for value in values:
            if type(value) is Lit and value.language:
                language = value.language.lower()
                if language in found:
                    repeated.add(language)
                else:
                    found.add(language)
        for _ in repeated:
            out.append(_Result(focus, None, shape, c, ()))
            ok = False
    return ok


def _check_or(
    run: _Validation, shape: CompiledShape, c: Constraint, pairs: _Pairs, out: list[_Result]
) -> bool:
    ok = True
    for members in c.params:
        for focus, values in pairs:
            for value in values:
                if not any(run.validate_one(member, value)[0] for member in members):
                    out.append(_Result(focus, value, shape, c, ()))
                    ok = False
    return ok


def _check_node(
    run: _Validation, shape: CompiledShape, c: Constraint, pairs: _Pairs, out: list[_Result]
) -> bool:
    ok = True
    for node_shape in c.params:
        for focus, values in pairs:
            for value in values:
                conforms, details = run.validate_one(node_shape, value)
                if not conforms or details:
                    out.append(_Result(focus, value, shape, c, details))
                    ok = False
    return ok


def _check_property(
    run: _Validation, shape: CompiledShape, c: Constraint, pairs: _Pairs, out: list[_Result]
) -> bool:
    # pyshacl validates each property shape with each value node as its focus node; the order
    # of the loops does not matter.
    objects = run.objects
    ok = True
    for _, values in pairs:
        for value in values:
            properties = objects.get(value, _NO_PROPERTIES)
            for property_shape in c.params:
                found = properties.get(property_shape.path, _EMPTY)
                if (not found and property_shape.quiet_without_values) or (
                    property_shape.deactivated
                ):
                    continue
                if not run.check(property_shape, ((value, found),), out):
                    ok = False
    return ok


_CHECKS: dict[str, _Check] = {
    CLASS: _check_class,
    DATATYPE: _check_datatype,
    NODE_KIND: _check_node_kind,
    MIN_COUNT: _check_min_count,
    MAX_COUNT: _check_max_count,
    MAX_INCLUSIVE: _check_max_inclusive,
    OR: _check_or,
    NODE: _check_node,
    PROPERTY: _check_property,
    HAS_VALUE: _check_has_value,
    UNIQUE_LANG: _check_unique_lang,
}


def _flatten(results: Iterable[_Result]) -> Iterator[_Result]:
    for result in results:
        yield result
        yield from _flatten(result.details)


def _report_entry(result: _Result) -> ShaclResult:
    shape, constraint = result.shape, result.constraint
    return ShaclResult(
        focus_node=term_text(result.focus),
        path=shape.path,
        value=None if result.value is None else term_text(result.value),
        severity=shape.severity,
        source_shape=shape.node,
        constraint=constraint.component,
        message=shape.messages[0] if shape.messages else constraint.message,
    )


def validate_triples(compiled: CompiledShapes, triples: Iterable[Triple]) -> EngineReport:
    """Validate the data graph ``triples`` against ``compiled`` (see the module docstring)."""
    data = _Data(triples)
    run = _Validation(data)
    instances = data.instances
    conforms = True
    results: list[_Result] = []
    for shape in compiled.targeted:
        if len(shape.target_classes) == 1:
            focus: Iterable[Term] = instances.get(shape.target_classes[0], _EMPTY)
        else:
            focus = {f for cls in shape.target_classes for f in instances.get(cls, _EMPTY)}
        shape_conforms, shape_results = run.validate(shape, focus)
        conforms = conforms and shape_conforms
        results.extend(shape_results)
    return EngineReport(
        conforms=conforms,
        results=tuple(_report_entry(r) for r in _flatten(results)),
        triples=data.size,
        types=data.types,
    )


# -- compiling -------------------------------------------------------------------------------


def _shape_nodes(graph: Graph) -> dict[Node, Node | None]:
    """The shapes and their paths (``None`` for a node shape), found and checked as
    ``ShapesGraph._build_node_shape_cache`` finds them."""
    sh = {name: URIRef(SH + name) for name in "NodeShape PropertyShape path".split()}
    node_shapes = set(graph.subjects(RDF.type, sh["NodeShape"]))
    property_shapes = set(graph.subjects(RDF.type, sh["PropertyShape"]))
    paths: dict[Node, Node | None] = {}
    for shape in node_shapes:
        if (shape, sh["path"], None) in graph:
            raise UnsupportedShapes(f"the node shape {shape} has a sh:path")
        paths[shape] = None
    for shape in property_shapes:
        if shape in node_shapes:
            raise UnsupportedShapes(f"{shape} is both a node shape and a property shape")
        paths[shape] = _single_path(graph, shape, required=True)
    subject_shapes: set[Node] = set()
    for name in ("targetClass", "targetNode", "targetObjectsOf", "targetSubjectsOf", "property"):
        subject_shapes.update(graph.subjects(URIRef(SH + name), None))
    subject_shapes.update(graph.subjects(URIRef(SH + "node"), None))
    value_shapes: set[Node] = set()
    for name in ("property", "node", "not", "qualifiedValueShape"):
        value_shapes.update(graph.objects(None, URIRef(SH + name)))
    for name in ("and", "or", "xone"):
        for members in graph.objects(None, URIRef(SH + name)):
            items = set(graph.items(members))
            if not items:
                raise UnsupportedShapes(f"sh:{name} needs a list of one or more shapes")
            value_shapes.update(items)
    for group in (subject_shapes, value_shapes):
        for shape in group:
            if shape not in paths:
                paths[shape] = _single_path(graph, shape, required=False)
    return paths


def _single_path(graph: Graph, shape: Node, *, required: bool) -> Node | None:
    values = list(graph.objects(shape, URIRef(SH + "path")))
    if len(values) > 1 or (required and not values):
        raise UnsupportedShapes(f"the property shape {shape} needs exactly one sh:path")
    return values[0] if values else None


def _short(graph: Graph, node: Node, namespaces: list[tuple[str, str]]) -> str:
    text = str(node)
    if isinstance(node, URIRef):
        for prefix, namespace in namespaces:
            if text.startswith(namespace) and len(text) > len(namespace):
                return f"{prefix}:{text[len(namespace) :]}"
        return f"<{text}>"
    return text


def compile_shapes(graph: Graph) -> CompiledShapes:
    """Compile the shapes of ``graph`` (never changed); raises :class:`UnsupportedShapes`."""
    custom = {
        c
        for c in graph.subjects(RDF.type, URIRef(SH + "ConstraintComponent"))
        if not str(c).startswith(SH)
    }
    for subclass in graph.subjects(RDFS.subClassOf, URIRef(SH + "ConstraintComponent")):
        custom.update(c for c in graph.subjects(RDF.type, subclass) if not str(c).startswith(SH))
    if custom:
        raise UnsupportedShapes(f"custom constraint components are not supported: {custom}")
    namespaces = sorted(
        ((prefix, str(ns)) for prefix, ns in graph.namespaces() if prefix),
        key=lambda item: -len(item[1]),
    )
    paths = _shape_nodes(graph)
    # ``Shape.implicit_class_targets``, with the triple ``ShapesGraph`` adds to every shapes graph
    class_types = set(graph.subjects(RDFS.subClassOf, RDFS.Class)) | {RDFS.Class, OWL.Class}
    compiled: dict[Node, CompiledShape] = {}
    for node, path in paths.items():
        if isinstance(node, Literal):
            raise UnsupportedShapes(f"a literal cannot be a shape: {node!r}")
        if path is not None and not isinstance(path, URIRef):
            raise UnsupportedShapes(f"only predicate paths are supported ({node})")
        for predicate in set(graph.predicates(node, None)):
            name = str(predicate)
            if name in UNSUPPORTED_PREDICATES or (
                name in PYSHACL_CONSTRAINT_PARAMETERS and name not in SUPPORTED_PARAMETERS
            ):
                raise UnsupportedShapes(f"{_short(graph, predicate, namespaces)} on {node}")
        deactivated = list(graph.objects(node, URIRef(SH + "deactivated")))
        if len(deactivated) > 1 or not all(isinstance(d, Literal) for d in deactivated):
            raise UnsupportedShapes(f"sh:deactivated of {node} must be one literal")
        # ``Shape.__init__``: ``bool(d.value)`` (a plain "false" is a true str)
        is_deactivated = any(bool(d.value) for d in deactivated if isinstance(d, Literal))
        severities = set(graph.objects(node, URIRef(SH + "severity")))
        if len(severities) > 1:
            raise UnsupportedShapes(f"{node} has more than one sh:severity")
        severity = str(severities.pop()) if severities else SH + "Violation"
        targets: list[Term] = [
            from_rdflib(c) for c in graph.objects(node, URIRef(SH + "targetClass"))
        ]
        if any(t in class_types for t in graph.objects(node, RDF.type)):
            targets.append(from_rdflib(node))
        compiled[node] = CompiledShape(
            node=str(node),
            path=None if path is None else str(path),
            severity=severity,
            allowed=severity in ALLOWED_SEVERITIES,
            messages=tuple(sorted(str(m) for m in graph.objects(node, URIRef(SH + "message")))),
            deactivated=is_deactivated,
            target_classes=tuple(dict.fromkeys(targets)),
        )
    components: set[str] = set()
    for node, shape in compiled.items():
        constraints = _constraints(graph, node, shape, compiled, namespaces)
        components.update(c.component for c in constraints)
        quiet = not any(
            c.component == HAS_VALUE or (c.component == MIN_COUNT and c.params[0] > 0)
            for c in constraints
        )
        object.__setattr__(shape, "constraints", constraints)
        object.__setattr__(shape, "quiet_without_values", quiet)
    shapes = tuple(compiled.values())
    return CompiledShapes(
        shapes=shapes,
        targeted=tuple(s for s in shapes if s.target_classes and not s.deactivated),
        components=frozenset(components),
        max_depth=_check_nesting(shapes),
    )


def _constraints(
    graph: Graph,
    node: Node,
    shape: CompiledShape,
    compiled: dict[Node, CompiledShape],
    namespaces: list[tuple[str, str]],
) -> tuple[Constraint, ...]:
    def short(term: Node) -> str:
        return _short(graph, term, namespaces)

    def values(name: str) -> list[Node]:
        return list(graph.objects(node, URIRef(SH + name)))

    path = short(URIRef(shape.path)) if shape.path else "the focus node"
    constraints: list[Constraint] = []

    def add(component: str, params: Sequence[Any], message: str) -> None:
        constraints.append(Constraint(component, _CHECKS[component], tuple(params), message))

    def one(name: str) -> Node:
        found = values(name)
        if len(found) != 1:
            raise UnsupportedShapes(f"{node} needs exactly one sh:{name}")
        return found[0]

    def count(name: str) -> int:
        value = one(name)
        if shape.path is None:
            raise UnsupportedShapes(f"sh:{name} on the node shape {node}")
        if not (isinstance(value, Literal) and value.datatype == XSD.integer):
            raise UnsupportedShapes(f"sh:{name} of {node} must be an xsd:integer")
        number = int(value.value)
        if number < 0:
            raise UnsupportedShapes(f"sh:{name} of {node} must not be negative")
        return number

    def referenced(target: Node, *, property_shape: bool | None) -> CompiledShape:
        found = compiled.get(target)
        if found is None:
            raise UnsupportedShapes(f"{target} (used by {node}) is not a shape")
        if property_shape is not None and (found.path is not None) != property_shape:
            kind = "property" if property_shape else "node"
            raise UnsupportedShapes(f"{target} (used by {node}) is not a {kind} shape")
        return found

    present = set(graph.predicates(node, None))
    for parameter in sorted(str(p) for p in present if str(p) in SUPPORTED_PARAMETERS):
        component = SUPPORTED_PARAMETERS[parameter]
        name = parameter.removeprefix(SH)
        if component == CLASS:
            classes = values(name)
            if any(not isinstance(c, URIRef) for c in classes):
                raise UnsupportedShapes(f"sh:class of {node} must be IRIs")
            rules = ", ".join(short(c) for c in classes)
            add(
                CLASS,
                [str(c) for c in classes],
                f"Value does not have class {rules}"
                if len(classes) == 1
                else f"Value class is not in classes ({rules})",
            )
        elif component == DATATYPE:
            datatype = one(name)
            if not isinstance(datatype, URIRef):
                raise UnsupportedShapes(f"sh:datatype of {node} must be an IRI")
            add(DATATYPE, [str(datatype)], f"Value is not Literal with datatype {short(datatype)}")
        elif component == NODE_KIND:
            kind = one(name)
            if str(kind) not in _NODE_KINDS:
                raise UnsupportedShapes(f"sh:nodeKind of {node} is not a node kind")
            add(NODE_KIND, [_NODE_KINDS[str(kind)]], f"Value is not of Node Kind {short(kind)}")
        elif component == MIN_COUNT:
            minimum = count(name)
            add(MIN_COUNT, [minimum], f"Less than {minimum} values on {path}")
        elif component == MAX_COUNT:
            maximum = count(name)
            add(MAX_COUNT, [maximum], f"More than {maximum} values on {path}")
        elif component == MAX_INCLUSIVE:
            limits = values(name)
            if any(not isinstance(m, Literal) for m in limits):
                raise UnsupportedShapes(f"sh:maxInclusive of {node} must be literals")
            add(
                MAX_INCLUSIVE,
                limits,
                f"Value is not <= {', '.join(short(m) for m in limits)}",
            )
        elif component == OR:
            lists = []
            for members in values(name):
                items = tuple(
                    referenced(m, property_shape=None) for m in dict.fromkeys(graph.items(members))
                )
                if not items:
                    raise UnsupportedShapes(f"sh:or of {node} is not a list of shapes")
                lists.append(items)
            names = " and ".join(
                "(" + " , ".join(short(m) for m in graph.items(members)) + ")"
                for members in values(name)
            )
            add(OR, lists, f"Value must conform to one or more shapes in {names}")
        elif component == NODE:
            targets = values(name)
            add(
                NODE,
                [referenced(t, property_shape=False) for t in targets],
                f"Value does not conform to Shape {', '.join(short(t) for t in targets)}. "
                "See details for more information.",
            )
        elif component == PROPERTY:
            add(PROPERTY, [referenced(t, property_shape=True) for t in values(name)], "")
        elif component == HAS_VALUE:
            wanted = values(name)
            if any(not isinstance(w, URIRef) for w in wanted):
                raise UnsupportedShapes(f"sh:hasValue of {node} must be IRIs")
            add(
                HAS_VALUE,
                [str(w) for w in wanted],
                f"{path} does not contain a value in the set: {[short(w) for w in wanted]}",
            )
        elif component == UNIQUE_LANG:
            unique = one(name)
            if shape.path is None:
                raise UnsupportedShapes(f"sh:uniqueLang on the node shape {node}")
            if not (isinstance(unique, Literal) and isinstance(unique.value, bool)):
                raise UnsupportedShapes(f"sh:uniqueLang of {node} must be a boolean")
            add(UNIQUE_LANG, [unique.value], "More than one String shares the same Language")
    return tuple(constraints)


def _nested(shape: CompiledShape) -> Iterator[CompiledShape]:
    for constraint in shape.constraints:
        if constraint.component in (NODE, PROPERTY):
            yield from constraint.params
        elif constraint.component == OR:
            for members in constraint.params:
                yield from members


def _check_nesting(shapes: Sequence[CompiledShape]) -> int:
    """The deepest nesting of shapes; refuses a cycle (pyshacl would warn of recursion and
    skip, or stop at :data:`MAX_VALIDATION_DEPTH`) and nesting pyshacl would refuse."""
    depth: dict[int, int] = {}
    active: set[int] = set()

    def longest(shape: CompiledShape) -> int:
        key = id(shape)
        if key in depth:
            return depth[key]
        if key in active:
            raise UnsupportedShapes(f"the shapes are recursive through {shape.node}")
        active.add(key)
        found = max((1 + longest(n) for n in _nested(shape)), default=0)
        active.discard(key)
        depth[key] = found
        return found

    deepest = max((longest(s) for s in shapes), default=0)
    if deepest >= MAX_VALIDATION_DEPTH:
        raise UnsupportedShapes(f"shapes nest {deepest} deep, pyshacl stops at 15")
    return deepest
