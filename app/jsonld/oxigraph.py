"""RDFC-1.0 canonicalization with pyoxigraph, giving pyld's N-Quads in less time.

- Fast path: pyoxigraph parses the JSON-LD and canonicalizes in Rust, for documents inside a
  feature set shown equal to pyld (below).
- Reference: pyld with the strict checks of :mod:`app.jsonld.canonical`, which answers every
  other document.
- Proven by: ``tests/unit/test_canonical_equivalence.py`` (the same N-Quads, byte for byte, for
  every fixture, built credential and vendored term, and the same refusals).

pyoxigraph parses JSON-LD and canonicalizes in Rust, but its JSON-LD processing is not pyld's.
It loads no remote context and refuses no undefined term (under an undefined property it still
emits the nested node's ``rdf:type``), and pyoxigraph 0.5.13 gives other RDF than pyld (and
jsonld.js) on some inputs: of several type-scoped contexts on one node it applies only the last;
under a property with a scoped context in a node with a type-scoped one it keeps the type's
context a node too far and drops the property's a node too early; in ``@index``/``@id`` maps and
``@nest`` it drops a type-scoped context; it writes doubles with the fewest digits (pyld with
16) and reads some big numbers otherwise; it keeps directions (``"x"@ar--rtl``) and the case of
language tags, escapes control characters as ``\\u0001``, keeps IRIs with spaces and blank-node
predicates that pyld drops, drops invalid IRIs that pyld keeps (unless parsing leniently),
flattens arrays in ``@list`` objects and treats scalars under ``@graph`` otherwise. pyld, for
its part, hashes a quad naming a blank node twice twice (RDFC-1.0 4.6), so the two label
``_:b <p> _:b`` beside other blank nodes differently. pyoxigraph aborts the whole process on a
``@list`` or ``@set`` object under a ``@graph`` container term (``"proof": {"@list": []}``) and
on JSON nested some thousand deep.

So :class:`OxigraphCanonicalizer` runs a *fast path* only on documents inside a feature set
shown equal to pyld, and hands every other document to pyld with the strict checks of
:mod:`app.jsonld.canonical`: its N-Quads are always pyld's. The fast path:

1. Every ``@context`` of the document must be vendored URLs, which are inlined (the context
   document's ``@context`` replaces the URL; nothing is fetched). A vendored context takes part
   only if it uses just the features listed in :func:`_analyse_context` (no ``@base``,
   ``@import``, ``@propagate``, nested context URLs, maps or ``@nest``, on which inlining or
   pyoxigraph would differ); inline context objects go to pyld. What is inlined is each context
   pruned to the definitions the document can reach (:func:`_pruned_contexts`): processing the
   whole EDC context was most of pyoxigraph's time for an EDC credential.
2. :class:`_DocumentCheck` walks the document (at most 100 deep) for what pyld refuses but
   pyoxigraph would accept silently, and for the shapes on which they differ: ``null`` and
   ``[]`` (an undefined term with no value yields no triple), keywords beyond a small set (no
   ``@list``/``@set`` objects), ``@json`` literals, terms whose scoped context is ``null``
   (``verifiableCredential`` in a VC 2.0 presentation), nodes of two or more types with a
   type-scoped context, terms the scoped contexts would resolve otherwise (see
   :meth:`_DocumentCheck.type_scope_leaks`), non-objects under ``@graph``, floats from 1e16 up.
3. A first context ``{"@vocab": "x-microcred-undefined:"}`` and the base IRI
   ``x-microcred-relative:/`` make every undefined term, undefined type and relative IRI
   visible: any ``x-microcred-`` in the N-Quads sends the document to pyld, which then raises
   :class:`UndefinedTermError` (or answers itself when the text was a literal).
4. No quad may name a blank node twice, the canonical N-Quads must match a grammar on which both
   libraries write alike (absolute IRIs without whitespace or forbidden characters, ``_:c14nN``
   blank nodes, lowercase language tags, only the escapes ``\\t \\n \\r \\" \\\\``), and every
   double must be written as pyld writes it.

Neither pyld nor pyoxigraph bounds the work of RDFC-1.0 (exponential in the worst case), so both
paths refuse datasets above ``max_quads`` quads or ``max_blank_nodes`` blank nodes, and datasets
whose N-degree hashing needs more than ``max_work`` units (:mod:`app.jsonld.poison`).
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import pyoxigraph

from app.jsonld.canonical import DocumentLoader, StrictProcessor, run_pyld
from app.jsonld.deferral import CANONICALIZE, heavy
from app.jsonld.errors import JsonLdProcessingError
from app.jsonld.poison import (
    DEFAULT_MAX_WORK,
    Quad,
    check_work,
    oxigraph_quads,
    pyld_quads,
)
from app.jsonwalk import json_values

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUADS = 20_000
DEFAULT_MAX_BLANK_NODES = 2_000
#: The pyoxigraph versions the fast path was shown equal to pyld on (its JSON-LD processing
#: changes between releases). With another one every document goes to pyld, and the equivalence
#: tests fail until they pass on it and it is added here.
TESTED_PYOXIGRAPH_VERSIONS = frozenset({"0.5.13"})

#: Expands every term and type the contexts leave undefined; an IRI of this scheme in the output
#: means pyld would have dropped the term (and refused the document).
SENTINEL_VOCAB = "x-microcred-undefined:"
#: Every relative IRI resolves to this scheme (``//host`` references too); pyld keeps them
#: relative and refuses the document.
SENTINEL_BASE = "x-microcred-relative:/"
_SENTINEL_MARK = "x-microcred-"
_SENTINEL_CONTEXT = json.dumps({"@vocab": SENTINEL_VOCAB})

_CONTAINERS = frozenset({"@set", "@list", "@graph", "@language"})
_TERM_KEYS = frozenset({"@id", "@type", "@container", "@context", "@protected"})
_VALUE_KEYS = frozenset({"@value", "@language", "@type"})
#: pyoxigraph 0.5.13 overflows its stack (a segmentation fault) on JSON nested some thousand deep
_MAX_DEPTH = 100
#: json.dumps writes a float from 1e16 up with an exponent, and pyoxigraph makes an integer of
#: 1.2345678901234568e+18 from its digits where pyld converts the double exactly.
_MAX_FLOAT = 1e16

# Possessive quantifiers (Python 3.11) keep a failed match linear on long literals.
_IRI = r'<[A-Za-z][A-Za-z0-9+.\-]*+:[^\s<>"{}|^`\\]*+>'
_BLANK_NODE = r"_:c14n[0-9]++"
_LITERAL = rf'"(?:[^"\\\r\n]++|\\[tnr"\\])*+"(?:\^\^{_IRI}|@[a-z]++(?:-[a-z0-9]++)*+)?'
_NQUADS = re.compile(
    rf"(?:(?:{_IRI}|{_BLANK_NODE}) {_IRI} (?:{_IRI}|{_BLANK_NODE}|{_LITERAL})"
    rf"(?: (?:{_IRI}|{_BLANK_NODE}))? \.\n)*+"
)
XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
#: A literal in the xsd:double form of both libraries ("2.5E-1"), whatever its datatype: pyld
#: writes a JSON float so under any coercion.
_DOUBLE_FORM = re.compile(r' "-?(\d)\.(\d++)E(-?\d++)"')
_XSD_DOUBLE_LITERAL = re.compile(rf' "([^"]*+)"\^\^<{re.escape(XSD_DOUBLE)}>')


class FastPathDeclined(Exception):
    """The document is outside the fast path's proven feature set (the reason says why)."""


# -- vendored contexts --------------------------------------------------------------------------


@dataclass(frozen=True)
class ContextInfo:
    """What the fast path needs to know about one vendored context."""

    url: str
    #: JSON text of the context document's ``@context`` value, inlined in place of the URL
    text: str
    #: why documents using this context go to pyld, or None
    unsupported: str | None
    #: terms with a scoped context (a type-scoped one when the term is used as a type)
    scoped_terms: frozenset[str]
    #: ``@id`` and ``@type`` and the terms aliasing them
    id_keys: frozenset[str]
    type_keys: frozenset[str]
    #: terms with a ``@graph`` container (their values must be node objects)
    graph_terms: frozenset[str]
    #: terms a document must not use on the fast path: ``@json`` values, ``null`` scoped contexts
    refused_terms: frozenset[str]
    #: the terms each scoped context defines, per term (one entry per definition of the term)
    scoped_contexts: Mapping[str, tuple[frozenset[str], ...]]
    #: every definition of every term, top level and scoped (as canonical JSON)
    definitions: Mapping[str, tuple[str, ...]]
    #: the terms defined at the top level
    top_terms: frozenset[str]
    #: the context document's ``@context`` object, for :func:`_pruned_contexts`
    value: Mapping[str, Any]


class _Analysis:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.scoped_terms: set[str] = set()
        self.id_keys: set[str] = {"@id"}
        self.type_keys: set[str] = {"@type"}
        self.graph_terms: set[str] = set()
        self.refused_terms: set[str] = set()
        self.scoped_contexts: dict[str, list[frozenset[str]]] = {}
        self.definitions: dict[str, list[str]] = {}
        self.top_terms: set[str] = set()


def _analyse_context(url: str, document: Any) -> ContextInfo:
    """Check that a vendored context uses only features on which inlining and pyoxigraph agree
    with pyld (``@protected``, ``@vocab``, ``@id``/``@type`` aliases, ``@id``/``@vocab``/datatype
    coercion, ``@set``/``@list``/``@graph``/``@language`` containers, type- and property-scoped
    contexts), and collect the terms the document checks need."""
    analysis = _Analysis()
    value = document.get("@context") if isinstance(document, Mapping) else None
    if isinstance(value, Mapping):
        _analyse_context_object(value, analysis, "@context")
    else:
        analysis.problems.append("its @context is not one object")
    return ContextInfo(
        url=url,
        text=json.dumps(value, ensure_ascii=False),
        unsupported="; ".join(analysis.problems) or None,
        scoped_terms=frozenset(analysis.scoped_terms),
        id_keys=frozenset(analysis.id_keys),
        type_keys=frozenset(analysis.type_keys),
        graph_terms=frozenset(analysis.graph_terms),
        refused_terms=frozenset(analysis.refused_terms),
        scoped_contexts={k: tuple(v) for k, v in analysis.scoped_contexts.items()},
        definitions={k: tuple(v) for k, v in analysis.definitions.items()},
        top_terms=frozenset(analysis.top_terms),
        value=value if isinstance(value, Mapping) else {},
    )


def _analyse_context_object(context: Mapping[str, Any], analysis: _Analysis, path: str) -> None:
    for key, definition in context.items():
        where = f"{path}/{key}"
        if not key.startswith("@"):
            canonical = json.dumps(definition, sort_keys=True)
            analysis.definitions.setdefault(key, []).append(canonical)
            if path == "@context":
                analysis.top_terms.add(key)
        if key == "@version":
            if definition != 1.1:
                analysis.problems.append(f"{where} is not 1.1")
        elif key == "@protected":
            if not isinstance(definition, bool):
                analysis.problems.append(f"{where} is not a boolean")
        elif key == "@vocab":
            if not isinstance(definition, str):
                analysis.problems.append(f"{where} is not a string")
        elif key.startswith("@"):
            analysis.problems.append(f"{where} is not supported")
        elif isinstance(definition, str):
            _analyse_iri_mapping(key, definition, analysis, where)
        elif isinstance(definition, Mapping):
            _analyse_term_definition(key, definition, analysis, where)
        else:
            analysis.problems.append(f"{where} is neither a string nor an object")


def _analyse_iri_mapping(term: str, iri: Any, analysis: _Analysis, where: str) -> None:
    if not isinstance(iri, str):
        analysis.problems.append(f"{where} has no IRI")
    elif iri == "@id":
        analysis.id_keys.add(term)
    elif iri == "@type":
        analysis.type_keys.add(term)
    elif iri.startswith("@"):
        analysis.problems.append(f"{where} aliases {iri}")


def _analyse_term_definition(
    term: str, definition: Mapping[str, Any], analysis: _Analysis, where: str
) -> None:
    extra = set(definition) - _TERM_KEYS
    if extra:
        analysis.problems.append(f"{where} uses {', '.join(sorted(extra))}")
    if "@id" in definition:
        _analyse_iri_mapping(term, definition["@id"], analysis, where)
    coercion = definition.get("@type")
    if coercion == "@json":
        analysis.refused_terms.add(term)
    elif "@type" in definition and (not isinstance(coercion, str) or coercion == "@none"):
        analysis.problems.append(f"{where} has @type {coercion!r}")
    container = definition.get("@container", [])
    for kind in container if isinstance(container, list) else [container]:
        if kind not in _CONTAINERS:
            analysis.problems.append(f"{where} has @container {kind!r}")
        elif kind == "@graph":
            analysis.graph_terms.add(term)
    if "@protected" in definition and not isinstance(definition["@protected"], bool):
        analysis.problems.append(f"{where}/@protected is not a boolean")
    if "@context" in definition:
        scoped = definition["@context"]
        if scoped is None:
            analysis.refused_terms.add(term)
        elif isinstance(scoped, Mapping):
            analysis.scoped_terms.add(term)
            defined = frozenset(key for key in scoped if not key.startswith("@"))
            analysis.scoped_contexts.setdefault(term, []).append(defined)
            _analyse_context_object(scoped, analysis, f"{where}/@context")
        else:
            analysis.problems.append(f"{where}/@context is neither an object nor null")


@dataclass(frozen=True)
class _Contexts:
    """The contexts of one document, combined."""

    infos: tuple[ContextInfo, ...]
    scoped_terms: frozenset[str]
    id_keys: frozenset[str]
    type_keys: frozenset[str]
    graph_terms: frozenset[str]
    refused_terms: frozenset[str]
    scoped_contexts: Mapping[str, tuple[frozenset[str], ...]]
    #: terms defined at the top level and alike wherever defined (no scope changes them)
    stable_terms: frozenset[str]
    #: every term defined anywhere in the contexts (top level or scoped)
    terms: frozenset[str]


def _combine(infos: tuple[ContextInfo, ...]) -> _Contexts:
    for info in infos:
        if info.unsupported:
            raise FastPathDeclined(f"context {info.url}: {info.unsupported}")
    scoped_contexts: dict[str, tuple[frozenset[str], ...]] = {}
    definitions: dict[str, set[str]] = {}
    for info in infos:
        for term, defined in info.scoped_contexts.items():
            scoped_contexts[term] = scoped_contexts.get(term, ()) + defined
        for term, texts in info.definitions.items():
            definitions.setdefault(term, set()).update(texts)
    top_terms = frozenset().union(*(info.top_terms for info in infos))
    return _Contexts(
        infos=infos,
        scoped_terms=frozenset().union(*(info.scoped_terms for info in infos)),
        id_keys=frozenset({"@id"}).union(*(info.id_keys for info in infos)),
        type_keys=frozenset({"@type"}).union(*(info.type_keys for info in infos)),
        graph_terms=frozenset().union(*(info.graph_terms for info in infos)),
        refused_terms=frozenset().union(*(info.refused_terms for info in infos)),
        scoped_contexts=scoped_contexts,
        stable_terms=frozenset(term for term in top_terms if len(definitions[term]) == 1),
        terms=frozenset(definitions),
    )


def _prune(context: Mapping[str, Any], keep: frozenset[str]) -> dict[str, Any]:
    """``context`` with only the term definitions of ``keep`` (scoped contexts pruned alike)."""
    pruned: dict[str, Any] = {}
    for key, definition in context.items():
        if key[:1] == "@":
            pruned[key] = definition
        elif key in keep:
            scoped = definition.get("@context") if isinstance(definition, Mapping) else None
            if isinstance(scoped, Mapping):
                definition = {**definition, "@context": _prune(scoped, keep)}
            pruned[key] = definition
    return pruned


def _names(strings: set[str], terms: frozenset[str]) -> frozenset[str]:
    """The terms that ``strings`` may name: a string itself, or the prefix of a compact IRI."""
    prefixes = {string.partition(":")[0] for string in strings if ":" in string}
    return terms & (strings | prefixes)


def _strings(value: Any, found: set[str]) -> None:
    """Add every string of ``value``, object member names included, to ``found``."""
    for node in json_values(value):
        if type(node) is str:
            found.add(node)
        elif type(node) is dict:
            found.update(node)


def _pruned_contexts(
    infos: tuple[ContextInfo, ...], terms: frozenset[str], seeds: frozenset[str]
) -> dict[str, str]:
    """The JSON text of each context (by URL) without the definitions a document cannot reach.

    Processing the contexts is most of pyoxigraph's work for a document (the EDC context alone
    has some 400 definitions; the EDC micro-credential uses a few dozen). A definition is kept
    when its term is named by the document (``seeds``: every key and string of the document, and
    the prefix of every compact IRI among them, that is a term) or, transitively, by a kept
    definition (its IRI, coercion or scoped context may name other terms and prefixes). A term
    no string of the document names cannot take part in expanding it, so the RDF is the same;
    what only the full contexts would raise (a protected term redefined) is checked for each
    combination of contexts before pruning it (:meth:`OxigraphCanonicalizer._prunable`).
    """
    keep = seeds
    while True:
        pruned = {info.url: _prune(info.value, keep) for info in infos}
        found: set[str] = set()
        _strings(list(pruned.values()), found)
        grown = keep | _names(found, terms)
        if grown == keep:
            return {url: json.dumps(value, ensure_ascii=False) for url, value in pruned.items()}
        keep = grown


def _context_urls(value: Any) -> tuple[str, ...]:
    urls = value if type(value) is list else [value]
    if not all(type(url) is str for url in urls):
        raise FastPathDeclined("an @context that is not vendored URLs")
    return tuple(urls)


# -- the document -------------------------------------------------------------------------------


class _DocumentCheck:
    """One walk over the document: what the fast path does not take, and the nested contexts.

    Plain JSON only (dicts, lists, strings, numbers, booleans), no ``null`` and no ``[]``.
    Node objects: keys ``@id``, ``@type``, ``@graph``, ``@context`` (URLs) or terms other than
    the refused ones; ``@id`` a string, ``@type`` strings naming at most one term with a scoped
    context, ``@graph`` and the values of ``@graph`` container terms node objects. Value
    objects: ``@value`` (a string, number or boolean), ``@language`` and ``@type`` strings.
    """

    def __init__(self, contexts: _Contexts) -> None:
        self.contexts = contexts
        self.nested_contexts: list[tuple[str, ...]] = []
        #: every key and string of the document (term names and compact IRIs among them)
        self.mentioned: set[str] = set()

    def value(self, value: Any, depth: int) -> None:
        kind = type(value)
        if kind is str:
            self.mentioned.add(value)
            return
        if kind is bool or kind is int:
            return
        if kind is float:
            self.number(value)
        elif kind is dict:
            self.object(value, depth + 1)
        elif kind is list:
            if not value:
                raise FastPathDeclined("an empty array")
            if depth > _MAX_DEPTH:
                raise FastPathDeclined("the document is nested too deeply")
            for item in value:
                self.value(item, depth + 1)
        elif value is None:
            raise FastPathDeclined("a null value")
        else:
            raise FastPathDeclined(f"a {kind.__name__}, not JSON")

    @staticmethod
    def number(value: float) -> None:
        if not math.isfinite(value) or abs(value) >= _MAX_FLOAT:
            raise FastPathDeclined(f"the number {value!r}")

    def object(self, node: dict[str, Any], depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise FastPathDeclined("the document is nested too deeply")
        if "@value" in node:
            self.value_object(node)
            return
        contexts = self.contexts
        mentioned = self.mentioned
        scoped_type: str | None = None
        for key, value in node.items():
            if type(key) is not str:
                raise FastPathDeclined("a key that is not a string")
            mentioned.add(key)
            if key == "@context":
                self.nested_contexts.append(_context_urls(value))
            elif key in contexts.id_keys:
                if type(value) is not str:
                    raise FastPathDeclined(f"{key} is not a string")
                mentioned.add(value)
            elif key in contexts.type_keys:
                scoped = self.types(key, value)
                if scoped is not None and scoped_type is not None:
                    raise FastPathDeclined(f"types with a scoped context in {key} and more")
                scoped_type = scoped or scoped_type
            elif key == "@graph" or key in contexts.graph_terms:
                self.nodes(key, value, depth)
            elif key[:1] == "@":
                raise FastPathDeclined(f"the key {key!r}")
            elif key in contexts.refused_terms:
                raise FastPathDeclined(f"the term {key!r} (a JSON literal or a null context)")
            else:
                self.value(value, depth)
        if scoped_type is not None:
            self.type_scope_leaks(node, scoped_type)

    def type_scope_leaks(self, node: dict[str, Any], scoped_type: str) -> None:
        """Under a property with a scoped context in a node with a type-scoped context,
        pyoxigraph keeps the type's context in the nodes just below (pyld, as the specification,
        does not) and loses the property's context in the nodes below those (pyld keeps it).
        Those nodes must not use a term the two would resolve otherwise: for the first, one of
        the type's context that the property's does not define; for the others, one of either
        context; terms defined alike at the top level and in every scope are safe, terms with a
        scoped context never (its IRIs would be expanded against the other context)."""
        scoped_contexts = self.contexts.scoped_contexts
        stable = self.contexts.stable_terms
        type_terms = frozenset().union(*scoped_contexts.get(scoped_type, ()))
        for key, value in node.items():
            if key in scoped_contexts and type(value) in (dict, list):
                property_terms = frozenset.intersection(*scoped_contexts[key])
                # a scoped context there is processed against the other context too
                near = (type_terms - property_terms - stable) | self.contexts.scoped_terms
                far = (type_terms | property_terms) - stable | self.contexts.scoped_terms
                if _scope_leaks(value, near, far):
                    raise FastPathDeclined(
                        f"a term of the {scoped_type} or {key} context under {key}"
                    )

    def value_object(self, node: dict[str, Any]) -> None:
        if not node.keys() <= _VALUE_KEYS:
            raise FastPathDeclined(f"a value object with {sorted(node)}")
        value = node["@value"]
        kind = type(value)
        if kind is float:
            self.number(value)
        elif kind is not str and kind is not bool and kind is not int:
            raise FastPathDeclined("a @value that is not a string, number or boolean")
        for key in ("@language", "@type"):
            if key in node and (type(node[key]) is not str or node[key].startswith("@")):
                raise FastPathDeclined(f"a value object's {key} {node[key]!r}")
        if "@type" in node:
            self.mentioned.add(node["@type"])

    def types(self, key: str, value: Any) -> str | None:
        """Check the types; the one naming a term with a scoped context, if any."""
        types = value if type(value) is list else [value]
        if not types or not all(type(name) is str and name[:1] != "@" for name in types):
            raise FastPathDeclined(f"{key} is not one or more type names")
        self.mentioned.update(types)
        scoped = [name for name in types if name in self.contexts.scoped_terms]
        if len(scoped) > 1:
            raise FastPathDeclined(f"several types with a scoped context: {scoped}")
        return scoped[0] if scoped else None

    def nodes(self, key: str, value: Any, depth: int) -> None:
        nodes = value if type(value) is list else [value]
        if not nodes or not all(type(node) is dict and "@value" not in node for node in nodes):
            raise FastPathDeclined(f"{key} does not hold node objects")
        for node in nodes:
            self.object(node, depth + 1)


def _scope_leaks(value: Any, near: frozenset[str], far: frozenset[str]) -> bool:
    """Whether the nodes in ``value`` mention a term of ``near``, or nodes below them one of
    ``far`` (see :meth:`_DocumentCheck.type_scope_leaks`)."""
    if type(value) is list:
        return any(_scope_leaks(item, near, far) for item in value)
    if type(value) is dict and "@value" not in value:
        return any(
            _mentions(key, near) or _level_mentions(item, near, far) for key, item in value.items()
        )
    return _mentions(value, near)


def _level_mentions(value: Any, near: frozenset[str], far: frozenset[str]) -> bool:
    if type(value) is list:
        return any(_level_mentions(item, near, far) for item in value)
    if type(value) is dict and "@value" not in value:
        return _mentions(value, far)
    return _mentions(value, near)


def _mentions(value: Any, terms: frozenset[str]) -> bool:
    """Whether a key or string in ``value`` is one of ``terms`` or a compact IRI on one."""
    if type(value) is str:
        return value in terms or value.partition(":")[0] in terms
    if type(value) is dict:
        return any(_mentions(key, terms) or _mentions(item, terms) for key, item in value.items())
    if type(value) is list:
        return any(_mentions(item, terms) for item in value)
    return False


def _with_placeholders(node: Any, slots: list[tuple[str, ...]], token: str) -> Any:
    """A copy of ``node`` with each ``@context`` value a numbered placeholder (``slots``)."""
    if type(node) is dict:
        result: dict[str, Any] = {}
        for key, value in node.items():
            if key == "@context":
                slots.append(_context_urls(value))
                result[key] = f"{token}{len(slots) - 1}@"
            else:
                result[key] = _with_placeholders(value, slots, token)
        return result
    if type(node) is list:
        return [_with_placeholders(item, slots, token) for item in node]
    return node


# -- the canonicalizer --------------------------------------------------------------------------


class OxigraphCanonicalizer:
    """RDFC-1.0 with pyoxigraph where shown equal to pyld, pyld (strict) everywhere else.

    ``loader`` is the offline document loader (the pyld ``documentLoader`` shape); documents are
    processed without a base IRI and with the strict checks of :class:`PyldCanonicalizer`.
    """

    def __init__(
        self,
        loader: DocumentLoader,
        *,
        max_quads: int = DEFAULT_MAX_QUADS,
        max_blank_nodes: int = DEFAULT_MAX_BLANK_NODES,
        max_work: int = DEFAULT_MAX_WORK,
        remember: int = 16,
    ) -> None:
        if max_quads < 1 or max_blank_nodes < 0 or max_work < 0 or remember < 0:
            raise ValueError(
                "max_quads must be positive, max_blank_nodes, max_work and remember not negative"
            )
        self.loader = loader
        self.max_quads = max_quads
        self.max_blank_nodes = max_blank_nodes
        #: units of RDFC-1.0 N-degree hashing allowed per document (app/jsonld/poison.py)
        self.max_work = max_work
        self.fast_path_enabled = pyoxigraph.__version__ in TESTED_PYOXIGRAPH_VERSIONS
        if not self.fast_path_enabled:
            logger.warning(
                "pyoxigraph %s is not a version the fast path was tested on: canonicalizing "
                "every document with pyld",
                pyoxigraph.__version__,
            )
        self._contexts: dict[str, ContextInfo] = {}
        self._combined: dict[tuple[str, ...], _Contexts] = {}
        self._prunable_urls: dict[tuple[str, ...], bool] = {}
        self._pruned: dict[tuple[tuple[str, ...], frozenset[str]], dict[str, str]] = {}
        #: pruning the contexts to what each document can reach (see _pruned_contexts); off, the
        #: whole vendored contexts are inlined (the tests compare the two)
        self.prune_contexts = True
        #: the N-Quads of the last ``remember`` documents, by their JSON text as given: issuing
        #: an EDC canonicalizes it to validate it against the SHACL shapes and again to sign it
        #: (a benchmark signing one document over and over must remember none)
        self.remember = remember
        self._recent: OrderedDict[bytes, str] = OrderedDict()
        self._recent_lock = threading.Lock()
        #: how many canonicalizations the memory answered
        self.reused = 0
        # Context placeholders carry a per-process random token, so no string of a document
        # can pass for one.
        self._token = f"\u0000microcred-context-{secrets.token_hex(16)}-"

    def canonicalize(self, document: Mapping[str, Any]) -> str:
        """The canonical N-Quads; under a :class:`~app.jsonld.deferral.Deferral`, those of a
        large document are computed elsewhere."""
        return heavy(CANONICALIZE, document, lambda: self._canonicalize(document))

    def _canonicalize(self, document: Mapping[str, Any]) -> str:
        try:
            return self.canonicalize_fast(document)
        except FastPathDeclined as declined:
            logger.debug("canonicalizing with pyld: %s", declined)
        return self._canonicalize_with_pyld(document)

    def canonicalize_fast(self, document: Mapping[str, Any]) -> str:
        """The canonical N-Quads by pyoxigraph; :class:`FastPathDeclined` when the document is
        outside the fast path, :class:`JsonLdProcessingError` beyond the limits or for an
        unknown context URL."""
        if not self.fast_path_enabled:
            raise FastPathDeclined(f"pyoxigraph {pyoxigraph.__version__} is not a tested version")
        if not self.remember:
            return self._canonicalize_text(self._inline_contexts(document))
        # Keyed by the document's own JSON text, so that a document seen again skips the checks
        # and the inlining too (the same text, the same contexts: the same N-Quads).
        key = _json_bytes(document)
        if key is not None:
            with self._recent_lock:
                nquads = self._recent.get(key)
                if nquads is not None:
                    self.reused += 1
                    return nquads
        nquads = self._canonicalize_text(self._inline_contexts(document))
        if key is not None:
            with self._recent_lock:
                self._recent[key] = nquads
                if len(self._recent) > self.remember:
                    self._recent.popitem(last=False)
        return nquads

    def _canonicalize_text(self, text: str) -> str:
        dataset = self._parse(text)
        quads: list[Quad] = []  # those naming a blank node, read once for both checks

        def blank_nodes() -> int:
            quads.extend(oxigraph_quads(dataset))
            return _count_blank_nodes(quads)

        self.check_limits(len(dataset), blank_nodes)
        check_work(quads, max_work=self.max_work)
        dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.RDFC_1_0)
        lines = str(dataset).split("\n")  # not splitlines(): literals may hold U+2028 etc.
        lines.pop()  # the empty string after the last newline
        lines.sort()
        nquads = "".join(line + "\n" for line in lines)
        if _SENTINEL_MARK in nquads:
            raise FastPathDeclined("an undefined term or a relative IRI (or the sentinel text)")
        if not _NQUADS.fullmatch(nquads):
            raise FastPathDeclined("N-Quads outside the grammar both libraries share")
        _check_numbers(nquads)
        return nquads

    def context_info(self, url: str) -> ContextInfo:
        """The analysis of one vendored context (raises :class:`UnknownContextError`)."""
        info = self._contexts.get(url)
        if info is None:
            info = _analyse_context(url, self.loader(url, None)["document"])
            self._contexts[url] = info
        return info

    def _contexts_for(self, urls: tuple[str, ...]) -> _Contexts:
        combined = self._combined.get(urls)
        if combined is None:
            combined = _combine(tuple(self.context_info(url) for url in dict.fromkeys(urls)))
            if len(self._combined) < 256:
                self._combined[urls] = combined
        return combined

    def _inline_contexts(self, document: Mapping[str, Any]) -> str:
        """The document's JSON text with each ``@context`` inlined, after the checks."""
        if not isinstance(document, Mapping):
            raise FastPathDeclined("the document is not a JSON object")
        body = {key: value for key, value in document.items() if key != "@context"}
        slots = [_context_urls(document.get("@context", []))]
        check = _DocumentCheck(self._contexts_for(slots[0]))
        check.object(body, 0)
        if check.nested_contexts:
            nested = tuple(url for urls in check.nested_contexts for url in urls)
            combined = self._contexts_for(slots[0] + nested)
            if combined != check.contexts:
                _DocumentCheck(combined).object(body, 0)
            body = _with_placeholders(body, slots, self._token)
        text = _json_text({"@context": f"{self._token}0@", **body})
        texts = self._context_texts(tuple(url for urls in slots for url in urls), check.mentioned)
        for index, urls in enumerate(slots):
            inlined = [texts[url] for url in urls]
            if index == 0:
                inlined.insert(0, _SENTINEL_CONTEXT)
            placeholder = json.dumps(f"{self._token}{index}@", ensure_ascii=False)
            if text.count(placeholder) != 1:
                raise FastPathDeclined("a context placeholder is ambiguous")
            text = text.replace(placeholder, "[" + ",".join(inlined) + "]")
        return text

    def _context_texts(self, urls: tuple[str, ...], mentioned: set[str]) -> dict[str, str]:
        """The text to inline for each context of a document that mentions ``mentioned``."""
        if not self.prune_contexts or not self._prunable(urls):
            return {url: self.context_info(url).text for url in urls}
        contexts = self._contexts_for(urls)
        seeds = _names(mentioned, contexts.terms)
        texts = self._pruned.get((urls, seeds))
        if texts is None:
            texts = _pruned_contexts(contexts.infos, contexts.terms, seeds)
            if len(self._pruned) < 1024:
                self._pruned[(urls, seeds)] = texts
        return texts

    def _prunable(self, urls: tuple[str, ...]) -> bool:
        """Whether pyld processes these contexts, unpruned and in this order, without error."""
        prunable = self._prunable_urls.get(urls)
        if prunable is None:
            probe = {"@context": list(urls), "@id": "urn:x-microcred:probe"}
            options = {"documentLoader": self.loader, "base": None}
            try:
                run_pyld(lambda: StrictProcessor().expand(probe, options))
                prunable = True
            except JsonLdProcessingError as exc:
                logger.debug("not pruning the contexts %s: %s", urls, exc)
                prunable = False
            if len(self._prunable_urls) < 256:
                self._prunable_urls[urls] = prunable
        return prunable

    @staticmethod
    def _parse(text: str) -> Any:
        try:
            parser = pyoxigraph.parse(
                text,
                format=pyoxigraph.RdfFormat.JSON_LD,
                base_iri=SENTINEL_BASE,
                lenient=True,
            )
            return pyoxigraph.Dataset(parser)
        except (SyntaxError, ValueError) as exc:
            raise FastPathDeclined(f"pyoxigraph: {exc}") from None
        except BaseException as exc:  # a Rust panic surfaces as pyo3's PanicException
            if type(exc).__name__ == "PanicException":
                raise FastPathDeclined(f"pyoxigraph failed: {exc}") from None
            raise

    def check_limits(self, quads: int, blank_nodes: Callable[[], int]) -> None:
        """Refuse a dataset of more quads or blank nodes than allowed (counted lazily)."""
        if quads > self.max_quads:
            raise JsonLdProcessingError(
                f"the document has {quads} RDF statements, more than the {self.max_quads} allowed"
            )
        count = blank_nodes()
        if count > self.max_blank_nodes:
            raise JsonLdProcessingError(
                f"the document has {count} blank nodes, more than the {self.max_blank_nodes} "
                "allowed"
            )

    def _canonicalize_with_pyld(self, document: Mapping[str, Any]) -> str:
        options = {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": self.loader,
            "base": None,
        }
        processor = _BoundedStrictProcessor(self)
        nquads: str = run_pyld(lambda: processor.normalize(dict(document), options))
        return nquads


class _BoundedStrictProcessor(StrictProcessor):
    """pyld with the strict checks, refusing datasets beyond the limits before URDNA2015."""

    def __init__(self, limits: OxigraphCanonicalizer) -> None:
        super().__init__()
        self._limits = limits

    def to_rdf(self, input_: Any, options: Any) -> Any:
        dataset = super().to_rdf(input_, options)
        if isinstance(dataset, dict):
            quads = sum(len(triples) for triples in dataset.values())
            self._limits.check_limits(quads, lambda: _count_pyld_blank_nodes(dataset))
            check_work(pyld_quads(dataset), max_work=self._limits.max_work)
        return dataset


# -- the output ---------------------------------------------------------------------------------


def _check_numbers(nquads: str) -> None:
    """Numbers as pyld writes them. pyld writes a JSON float with 16 significant digits
    (``{value:1.15E}``, trailing zeros dropped; an integral one below 1e21 as an integer),
    pyoxigraph with the fewest digits that read back (0.30000000000000004, 99999999999999.9);
    pyoxigraph writes huge integers with all their digits, and reads an integer token just below
    1e21 as 1e21. A string coerced to xsd:double pyld rewrites."""
    for literal in _XSD_DOUBLE_LITERAL.finditer(nquads):
        if not _DOUBLE_FORM.fullmatch(f' "{literal.group(1)}"'):
            raise FastPathDeclined(f"the xsd:double {literal.group(1)!r}")
    for double in _DOUBLE_FORM.finditer(nquads):
        lexical = double.group()[2:-1]
        value = float(lexical)
        if (value.is_integer() and abs(value) < 1e21) or _pyld_double(value) != lexical:
            raise FastPathDeclined(f"the number {lexical}")


def _pyld_double(value: float) -> str:
    """pyld's (and jsonld.js's) xsd:double form: ``1.5E-5``, ``1.0E21``."""
    mantissa, exponent = f"{value:.15E}".split("E")
    mantissa = mantissa.rstrip("0")
    if mantissa.endswith("."):
        mantissa += "0"
    return f"{mantissa}E{int(exponent)}"


def _json_bytes(document: Mapping[str, Any]) -> bytes | None:
    """The document as orjson writes it (key order kept), or None where orjson cannot."""
    try:
        return orjson.dumps(document)
    except (orjson.JSONEncodeError, TypeError):
        return None


def _json_text(value: dict[str, Any]) -> str:
    """JSON text for pyoxigraph; the document check has refused NaN, infinities and floats from
    1e16 up, so orjson's digits and the standard library's read back as the same doubles.
    What orjson refuses (an integer beyond 64 bits, a lone surrogate, nesting deeper than 255)
    the standard library writes, or declines as not plain JSON."""
    written = _json_bytes(value)
    if written is not None:
        return written.decode("utf-8")
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise FastPathDeclined(f"not plain JSON: {exc}") from None


def _count_blank_nodes(quads: list[Quad]) -> int:
    """The blank nodes of ``quads``; :class:`FastPathDeclined` if a quad names one twice.

    pyld adds such a quad twice to the node's quads in Hash First Degree Quads (RDFC-1.0
    4.6), so its labels differ from pyoxigraph's, e.g. for ``_:b <p> _:b .`` beside another
    blank node.
    """
    nodes = set()
    for subject, _, obj, graph in quads:
        in_quad = [term for term in (subject, obj, graph) if term.startswith("_:")]
        if len(in_quad) > 1 and len(set(in_quad)) < len(in_quad):
            raise FastPathDeclined("a quad that names a blank node twice")
        nodes.update(in_quad)
    return len(nodes)


def _count_pyld_blank_nodes(dataset: dict[str, Any]) -> int:
    nodes = {name for name in dataset if name.startswith("_:")}
    for triples in dataset.values():
        for triple in triples:
            for part in (triple["subject"], triple["object"]):
                if part.get("type") == "blank node":
                    nodes.add(part["value"])
    return len(nodes)
