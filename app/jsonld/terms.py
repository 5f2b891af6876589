"""The strict check of :mod:`app.jsonld.canonical` for suites that sign JSON, not RDF.

``eddsa-jcs-2022`` signs the JSON text, so an undefined term is signed too; but a verifier that
reads the credential as JSON-LD (as every ``eddsa-rdfc-2022`` one does) drops it, and would see
another credential than the one signed. So the document is expanded with the same strict pyld
processing that ``eddsa-rdfc-2022`` uses, which refuses undefined terms, undefined types and
relative IRIs (:class:`~app.jsonld.errors.UndefinedTermError`).

Expansion costs about a millisecond for a small credential, ten times the rest of a jcs
signature, and credentials issued from one template differ only in their values. So the check
remembers the *shapes* of documents that passed: the JSON with every string value that cannot
decide the outcome replaced by a placeholder of its class. Whether expansion refuses a document
depends on its contexts, its keys, and the strings that may be read as terms, types or IRIs;
the shape keeps all of those:

- ``@context`` values and keys as they are; a document with an inline context object is not
  remembered at all (its terms are not known beforehand);
- strings that are a term of a vendored context (in any scope: keeping more strings than the
  document's contexts define only makes more shapes), keywords, the empty string, and ``ltr``
  and ``rtl`` (the only values of ``@direction``; pyld checks no other value, not even a
  language tag, beyond its being a string);
- any other string with a ``:`` is an absolute or compact IRI wherever an IRI is expected (never
  relative, never undefined): how it expands depends on its prefix when that is a term (or
  ``_``), whether ``//`` follows the colon, whether pyld takes it for an absolute IRI and
  whether it holds whitespace; those are kept, the rest is replaced;
- any other string without a ``:`` would be relative (or undefined) wherever an IRI or a type
  is expected, and a plain literal elsewhere, whatever its characters: only whether it holds
  whitespace is kept;
- numbers by ``0`` or ``0.5`` (their type stays), ``true``/``false``/``null`` as they are.

Two documents of one shape are refused alike, so a shape that passed once passes again.
Refusals are not remembered (their messages name the value). The shape is digested in one pass
over the document, as a flat list of tokens: a dict is the array of its keys (then its
``@context`` as it is), followed by its values' tokens; a list is ``"["`` and its size; no token
of a value can be taken for those.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import orjson

from app.jsonld.canonical import DocumentLoader, PyldCanonicalizer
from app.jsonwalk import json_values

#: How many document shapes that passed are remembered (32-byte digests).
REMEMBERED_SHAPES = 4096
#: How many strings' tokens are remembered, and the longest remembered: ~5 MB at most.
REMEMBERED_STRINGS = 16_384
LONGEST_REMEMBERED_STRING = 256
#: The only strings besides terms and keywords whose exact value expansion checks (@direction).
_KEPT_AS_IS = frozenset({"", "ltr", "rtl"})
#: The scheme of pyld's test for an absolute IRI (``pyld.jsonld._is_absolute_iri``, the regex
#: ``^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$``), on which some of its checks depend (the ``@type``
#: of a value object).
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+-.]*|_")


class _NotRemembered(Exception):
    """The document's shape cannot be taken for it (an inline context, not JSON)."""


def _context_urls(value: Any) -> None:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        raise _NotRemembered


class DefinedTermsCheck:
    """``check(document)`` raises :class:`~app.jsonld.errors.JsonLdProcessingError` for an
    undefined term, type or relative IRI, as signing and verifying with eddsa-rdfc-2022 would."""

    def __init__(self, loader: DocumentLoader, *, remember: int = REMEMBERED_SHAPES) -> None:
        self.loader = loader
        self._strict = PyldCanonicalizer(loader)
        self._terms: frozenset[str] | None = None
        #: the token of each string seen lately (a template's strings recur in every document)
        self._string_tokens: dict[str, str] = {}
        self._passed: OrderedDict[bytes, None] = OrderedDict()
        self._remember = remember
        self._lock = threading.Lock()
        #: how many documents were expanded (the others matched a shape that passed)
        self.expanded = 0

    def check(self, document: Mapping[str, Any]) -> None:
        digest: bytes | None = None
        if self._remember and self._all_terms() is not None:
            try:
                digest = self._shape_digest(document)
            except _NotRemembered:
                digest = None
        if digest is not None:
            with self._lock:
                if digest in self._passed:
                    self._passed.move_to_end(digest)
                    return
        self.expanded += 1
        self._strict.expand(document)
        if digest is not None:
            with self._lock:
                self._passed[digest] = None
                if len(self._passed) > self._remember:
                    self._passed.popitem(last=False)

    def _shape_digest(self, document: Mapping[str, Any]) -> bytes:
        terms = self._all_terms() or frozenset()
        tokens_of = self._string_tokens
        if len(tokens_of) >= REMEMBERED_STRINGS:
            tokens_of.clear()  # start over rather than keep the first strings forever
        tokens: list[Any] = []
        append = tokens.append
        stack: list[Any] = [document]
        pop = stack.pop
        while stack:
            node = pop()
            kind = type(node)
            if kind is str:
                token = tokens_of.get(node)
                if token is None:
                    if node in terms or node[:1] == "@" or node in _KEPT_AS_IS:
                        token = node
                    else:
                        token = _placeholder(node, terms)
                    if len(node) <= LONGEST_REMEMBERED_STRING:
                        tokens_of[node] = token
                append(token)
            elif kind is dict:
                append(tuple(node))  # its keys, in order
                if "@context" in node:
                    context = node["@context"]
                    _context_urls(context)
                    append(context)
                    stack.extend(value for key, value in node.items() if key != "@context")
                else:
                    stack.extend(node.values())
            elif kind is list:
                append("[")
                append(len(node))
                stack.extend(node)
            elif kind is bool or node is None:
                append(node)
            elif kind is int:
                append(0)
            elif kind is float:
                append(0.5)
            else:
                raise _NotRemembered
        try:
            text = orjson.dumps(tokens)
        except (orjson.JSONEncodeError, TypeError):  # a key that is not a string
            raise _NotRemembered from None
        return hashlib.sha256(text).digest()

    def _all_terms(self) -> frozenset[str] | None:
        """Every term of every context the loader has, in any scope (computed once); None when
        the loader cannot list its contexts: then no shape is remembered (a string that is a
        term must never be taken for one that is not)."""
        if self._terms is None:
            urls = getattr(self.loader, "urls", None)
            if urls is None:
                return None
            found: set[str] = set()
            for url in sorted(urls):
                _definitions(self.loader(url, None)["document"], found)
            self._terms = frozenset(found)
        return self._terms


def _definitions(context_document: Any, terms: set[str]) -> None:
    """Add the terms a context document defines, in any scope, to ``terms``."""
    for node in json_values(context_document):
        if isinstance(node, dict):
            terms.update(key for key in node if not key.startswith("@"))


def _has_whitespace(text: str) -> bool:
    """Whether ``text`` holds whitespace (as ``\\s`` means it; a C loop, not a regex scan)."""
    return text.split(None, 1) != [text] if text else False


def _placeholder(value: str, terms: frozenset[str]) -> str:
    """What the expansion can depend on of a string that is no term (``\\x00`` first)."""
    prefix, colon, rest = value.partition(":")
    if not colon:
        return "\x00 " if _has_whitespace(value) else "\x00"
    kept = prefix if prefix in terms or prefix == "_" else ""
    slashes = "//" if rest.startswith("//") else ""
    # pyld's absolute IRI: a scheme (or "_"), ":" and no whitespace ("$" matches before a final
    # newline too)
    if _SCHEME.fullmatch(prefix) and not _has_whitespace(rest.removesuffix("\n")):
        return f"\x00{kept}:{slashes}a"
    return f"\x00{kept}:{slashes}r" + (" " if _has_whitespace(value) else "")
