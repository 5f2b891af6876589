"""One JSON reading of a JSON-LD document: the compact form under the contexts it pins.

With ``eddsa-rdfc-2022`` a signature covers the RDF, not the JSON, so many JSON texts carry one
signature: a member written as its full IRI or a compact IRI, an alias from another context, an
inline context that swaps two unprotected terms, the node wrapped in ``@graph``, ``@id`` for
``id``. Checks that read members by their terms would miss what such a spelling says. So a
document is taken only in the one spelling those checks read (:func:`check_pinned_form`):

* every ``@context`` is one or more URLs of contexts this service holds (no inline context), and
  no context of the document gives a term another IRI than an earlier context gives it;
* every member name is a term those contexts define (no IRI, no compact IRI, no keyword but
  ``@context`` and those of a language-tagged string), and no term another context defines for
  its IRI;
* a ``type`` is never written as the IRI of a defined term, and no identifier value is a compact
  IRI over a defined prefix.

Anything else is :class:`NotPinnedForm` (the same rule at issuance: what is signed has one
reading). The work is a walk of the document plus, once per context URL, pyld's processing of it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyld import jsonld

from app.jsonld.canonical import PYLD_LOCK, DocumentLoader
from app.jsonld.deferral import PINNED_FORM, heavy
from app.jsonld.errors import JsonLdProcessingError

#: keys of the one value object taken (``{"@value": …, "@language": …}``)
VALUE_OBJECT_KEYS = frozenset({"@value", "@language", "@direction"})
#: the walk refuses documents nested deeper (the request limits allow 48)
MAX_DEPTH = 64
_MAX_CACHED_COMBINATIONS = 256


class NotPinnedForm(JsonLdProcessingError):
    """The document is not in the compact form of its data under its pinned contexts."""

    def __init__(self, pointer: str, detail: str) -> None:
        super().__init__(f"{detail} (at {pointer or '/'})")
        self.pointer = pointer
        self.reason = detail

    def __reduce__(self) -> tuple[type[NotPinnedForm], tuple[str, str]]:  # from a worker
        return type(self), (self.pointer, self.reason)


@dataclass(frozen=True)
class _ContextTerms:
    """What one pinned context defines: its terms (anywhere) and their IRIs (top level)."""

    url: str
    #: every term name the context defines, at the top level or in a scoped context
    names: frozenset[str]
    #: top-level term -> IRI (keyword aliases map to the keyword)
    iris: Mapping[str, str]
    #: terms whose values are identifiers (``@type: @id`` / ``@vocab``) in some definition
    id_valued: frozenset[str]
    #: terms whose values are maps (``@container`` ``@language``, ``@index``, ``@id``, ``@type``)
    maps: frozenset[str]
    #: terms whose scoped context is ``null``: their values are documents of their own
    resets: frozenset[str]
    vocab: str | None


@dataclass(frozen=True)
class _Vocabulary:
    """The terms of a document's contexts, combined."""

    names: frozenset[str]
    id_keys: frozenset[str]
    type_keys: frozenset[str]
    id_valued: frozenset[str]
    maps: frozenset[str]
    resets: frozenset[str]
    #: the last ``@vocab`` of the contexts: undefined terms are read against it
    vocab: str | None
    #: the IRIs of the top-level terms that are not keywords
    term_iris: frozenset[str]
    #: terms naming the IRI of a term of another context (refused as member names and types)
    aliases: Mapping[str, str]
    #: why the combination of contexts is refused, or None
    conflict: str | None


_MAP_CONTAINERS = frozenset({"@language", "@index", "@id", "@type"})


@dataclass
class _Definitions:
    names: set[str]
    id_valued: set[str]
    maps: set[str]
    resets: set[str]


def _walk_definitions(context: Any, found: _Definitions, depth: int = 0) -> None:
    """Collect the term names, identifier-valued and map-valued terms of a context and its
    scoped contexts."""
    if depth > 8 or not isinstance(context, Mapping):
        return
    for term, definition in context.items():
        if term.startswith("@"):
            continue
        found.names.add(term)
        if isinstance(definition, Mapping):
            if definition.get("@type") in ("@id", "@vocab"):
                found.id_valued.add(term)
            if set(_as_contexts(definition.get("@container", []))) & _MAP_CONTAINERS:
                found.maps.add(term)
            if "@context" in definition and definition["@context"] is None:
                found.resets.add(term)
            elif "@context" in definition:
                for scoped in _as_contexts(definition["@context"]):
                    _walk_definitions(scoped, found, depth + 1)


def _as_contexts(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class PinnedForm:
    """Checks documents against the contexts of an offline loader (one per process)."""

    def __init__(self, loader: DocumentLoader) -> None:
        self._loader = loader
        self._contexts: dict[str, _ContextTerms] = {}
        self._vocabularies: dict[tuple[str, ...], _Vocabulary] = {}
        self._lock = threading.Lock()

    # -- contexts -------------------------------------------------------------------------------

    def _context(self, url: str) -> _ContextTerms:
        terms = self._contexts.get(url)
        if terms is None:
            terms = self._analyse(url)
            with self._lock:
                self._contexts[url] = terms
        return terms

    def _analyse(self, url: str) -> _ContextTerms:
        document = self._loader(url, None)["document"]  # UnknownContextError for others
        found = _Definitions(set(), set(), set(), set())
        for context in _as_contexts(document.get("@context")):
            _walk_definitions(context, found)
        options = {"documentLoader": self._loader, "base": None, "processingMode": "json-ld-1.1"}
        try:
            with PYLD_LOCK:
                processor = jsonld.JsonLdProcessor()
                active = processor.process_context(
                    processor._get_initial_context(options), [url], options
                )
        except Exception as exc:  # pyld raises its own errors and bare ones
            raise JsonLdProcessingError(f"the context {url} cannot be processed") from exc
        iris = {
            term: str(mapping["@id"])
            for term, mapping in active["mappings"].items()
            if mapping and isinstance(mapping.get("@id"), str)
        }
        vocab = active.get("@vocab")
        return _ContextTerms(
            url,
            names=frozenset(found.names),
            iris=iris,
            id_valued=frozenset(found.id_valued),
            maps=frozenset(found.maps),
            resets=frozenset(found.resets),
            vocab=vocab if isinstance(vocab, str) else None,
        )

    def vocabulary(self, urls: tuple[str, ...]) -> _Vocabulary:
        """The combined terms of ``urls`` (in document order), cached per combination."""
        vocabulary = self._vocabularies.get(urls)
        if vocabulary is None:
            vocabulary = _combine([self._context(url) for url in dict.fromkeys(urls)])
            with self._lock:
                if len(self._vocabularies) < _MAX_CACHED_COMBINATIONS:
                    self._vocabularies[urls] = vocabulary
        return vocabulary

    # -- documents ------------------------------------------------------------------------------

    def check(self, document: Mapping[str, Any]) -> None:
        """Raise :class:`NotPinnedForm` unless ``document`` is in its pinned compact form (under a
        :class:`~app.jsonld.deferral.Deferral`, a large document is checked elsewhere)."""
        heavy(PINNED_FORM, document, lambda: self._check(document, []))

    def _check(self, document: Mapping[str, Any], path: list[str | int]) -> None:
        """The values of a term whose scoped context is ``null`` (``verifiableCredential`` of a
        VC 2.0 presentation) are documents of their own, checked under their own contexts."""
        own: list[str] = []
        _Contexts(own, frozenset(), path).collect({"@context": document.get("@context")})
        resets = self.vocabulary(tuple(own)).resets
        urls: list[str] = []
        _Contexts(urls, resets, path).collect(document)
        vocabulary = self.vocabulary(tuple(urls))
        if vocabulary.conflict is not None:
            raise NotPinnedForm(_pointer([*path, "@context"]), vocabulary.conflict)
        _Walk(self, vocabulary, path).node(document)


def _combine(contexts: list[_ContextTerms]) -> _Vocabulary:
    conflict = None
    defined: dict[str, tuple[str, str]] = {}  # term -> (IRI, context URL)
    for context in contexts:
        for term, iri in context.iris.items():
            earlier = defined.get(term)
            if earlier is not None and earlier[0] != iri and conflict is None:
                conflict = (
                    f"the context {context.url} gives the term {term!r} another meaning than "
                    f"{earlier[1]} does"
                )
            defined[term] = (iri, context.url)
    vocab = None
    for context in contexts:
        vocab = context.vocab or vocab
    by_iri: dict[str, dict[str, str]] = {}  # IRI -> term -> context URL
    for term, (iri, url) in defined.items():
        if not iri.startswith("@"):
            by_iri.setdefault(iri, {})[term] = url
    aliases: dict[str, str] = {}
    for terms in by_iri.values():
        if len(set(terms.values())) > 1:  # synonyms one context defines are its author's design
            for term in terms:
                aliases[term] = ", ".join(sorted(set(terms) - {term}))
    return _Vocabulary(
        names=frozenset().union(*(c.names for c in contexts)),
        id_keys=frozenset(t for t, (iri, _) in defined.items() if iri == "@id"),
        type_keys=frozenset(t for t, (iri, _) in defined.items() if iri == "@type"),
        id_valued=frozenset().union(*(c.id_valued for c in contexts)),
        maps=frozenset().union(*(c.maps for c in contexts)),
        resets=frozenset().union(*(c.resets for c in contexts)),
        vocab=vocab,
        term_iris=frozenset(iri for iri, _ in defined.values() if not iri.startswith("@")),
        aliases=aliases,
        conflict=conflict,
    )


def _pointer(path: list[str | int]) -> str:
    """The JSON Pointer of a path (built only for an error: the walk keeps the path as a list)."""
    return "".join(
        f"/{step}" if isinstance(step, int) else "/" + step.replace("~", "~0").replace("/", "~1")
        for step in path
    )


def _too_deep(path: list[str | int]) -> NotPinnedForm:
    return NotPinnedForm(_pointer(path), f"the document is nested deeper than {MAX_DEPTH} levels")


class _Contexts:
    """Every ``@context`` value of the document must be pinned URLs; gathers them in order
    (not below the terms of ``resets``, whose values are documents of their own)."""

    def __init__(self, urls: list[str], resets: frozenset[str], path: list[str | int]) -> None:
        self.urls = urls
        self.resets = resets
        self.path = path

    def collect(self, node: Any) -> None:
        path = self.path
        if len(path) > MAX_DEPTH:
            raise _too_deep(path)
        if type(node) is dict:
            for key, value in node.items():
                if key == "@context":
                    self.contexts(value)
                elif key not in self.resets and type(value) in (dict, list):
                    path.append(key)
                    self.collect(value)
                    path.pop()
        elif type(node) is list:
            for index, item in enumerate(node):
                if type(item) in (dict, list):
                    path.append(index)
                    self.collect(item)
                    path.pop()

    def contexts(self, value: Any) -> None:
        for index, url in enumerate(_as_contexts(value)):
            if type(url) is not str:
                raise NotPinnedForm(
                    _pointer([*self.path, "@context", index]),
                    "an inline @context: only the URLs of contexts this service holds are taken",
                )
            self.urls.append(url)


class _Walk:
    """One walk over a document: member names, types and identifiers (the path kept as a list,
    a pointer built only for an error)."""

    def __init__(self, form: PinnedForm, vocabulary: _Vocabulary, path: list[str | int]) -> None:
        self.form = form
        self.vocabulary = vocabulary
        self.prefixes = vocabulary.names
        self.path = path

    def fail(self, detail: str, *steps: str | int) -> NotPinnedForm:
        return NotPinnedForm(_pointer([*self.path, *steps]), detail)

    def node(self, node: Any) -> None:
        path = self.path
        if len(path) > MAX_DEPTH:
            raise _too_deep(path)
        if type(node) is list:
            for index, item in enumerate(node):
                if type(item) in (dict, list):
                    path.append(index)
                    self.node(item)
                    path.pop()
            return
        if type(node) is not dict:
            return
        if "@value" in node:
            self.value_object(node)
            return
        vocabulary = self.vocabulary
        for key, value in node.items():
            if key == "@context":
                continue  # URLs, checked by _Contexts
            path.append(key)
            if key[:1] == "@":
                raise self.fail(f"the keyword {key}: write the term the contexts define")
            if key not in vocabulary.names:
                self.undefined(key)
            elif key in vocabulary.aliases:
                raise self.fail(f"the term {key!r} is an alias of {vocabulary.aliases[key]}")
            if key in vocabulary.type_keys:
                self.types(value)
            elif key in vocabulary.id_keys or key in vocabulary.id_valued:
                self.identifiers(value)
            if key in vocabulary.resets:
                self.documents(value)
            elif key in vocabulary.maps and type(value) is dict:
                for entry, item in value.items():  # language tags, indexes: not terms
                    if type(item) in (dict, list):
                        path.append(entry)
                        self.node(item)
                        path.pop()
            elif type(value) in (dict, list):
                self.node(value)
            path.pop()

    def documents(self, value: Any) -> None:
        if type(value) is not list:
            if type(value) is dict:
                self.form._check(value, self.path)
            return
        for index, item in enumerate(value):
            if type(item) is dict:
                self.path.append(index)
                self.form._check(item, self.path)
                self.path.pop()

    def undefined(self, key: str) -> None:
        """A member the contexts do not define: only a plain name read against ``@vocab``."""
        if ":" in key:
            raise self.fail(f"the member {key!r} is an IRI: write its term")
        vocab = self.vocabulary.vocab
        if vocab is None:
            raise self.fail(f"the term {key!r} is not defined by the contexts")
        if vocab + key in self.vocabulary.term_iris:
            raise self.fail(f"the member {key!r} names the IRI of a defined term")

    def value_object(self, node: Mapping[str, Any]) -> None:
        """Only a string with a language (and direction) is written as a value object: a typed
        or bare one is the long spelling of what a term's coercion writes as a plain value, and
        checks read plain values (a ``created`` or ``validUntil`` as an object would not be
        read as a date at all)."""
        extra = set(node) - VALUE_OBJECT_KEYS
        if extra or "@language" not in node:
            raise self.fail("a value object other than a string with a @language")
        if type(node["@value"]) is not str:
            raise self.fail("@value must be a string", "@value")

    def types(self, value: Any) -> None:
        listed = type(value) is list
        for index, item in enumerate(value if listed else [value]):
            steps = (index,) if listed else ()
            if type(item) is not str:
                raise self.fail("a type must be a string", *steps)
            if item in self.vocabulary.aliases:
                raise self.fail(f"the type {item!r} is an alias of another context's", *steps)
            if ":" in item:
                self.compact(item, steps)
                if item in self.vocabulary.term_iris:
                    raise self.fail(f"the type {item!r} is the IRI of a term: write it", *steps)

    def identifiers(self, value: Any) -> None:
        if type(value) is str:
            self.compact(value, ())
        elif type(value) is list:
            for index, item in enumerate(value):
                if type(item) is str:
                    self.compact(item, (index,))

    def compact(self, value: str, steps: tuple[int, ...]) -> None:
        prefix, colon, suffix = value.partition(":")
        if colon and prefix in self.prefixes and not suffix.startswith("//"):
            raise self.fail(
                f"{value!r} is a compact IRI over the term {prefix!r}: write the full IRI", *steps
            )
