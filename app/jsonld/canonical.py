"""RDF Dataset Canonicalization (RDFC-1.0) of JSON-LD documents, behind one small interface.

The cryptosuites only see :class:`Canonicalizer`, so a faster implementation can replace pyld
without touching them (it must then produce the same N-Quads on every fixture).

pyld ignores JSON-LD "safe mode": a property or type the context does not define is silently
dropped, which would let a credential carry claims the signature does not cover. This module
turns every such drop into :class:`UndefinedTermError`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from pyld import jsonld

from app.jsonld.deferral import CANONICALIZE, heavy
from app.jsonld.errors import JsonLdProcessingError, UndefinedTermError
from app.jsonld.nodemap import check_node_map_cost
from app.jsonld.poison import check_work, pyld_quads

DocumentLoader = Callable[[str, Mapping[str, Any] | None], dict[str, Any]]
_T = TypeVar("_T")


class Canonicalizer(Protocol):
    #: the offline document loader its contexts come from
    loader: DocumentLoader

    def canonicalize(self, document: Mapping[str, Any]) -> str:
        """Return the canonical N-Quads (each line ending in a newline) of ``document``."""
        ...


def _raise_dropped(expanded_property: str | None) -> None:
    name = expanded_property or "a term"
    raise UndefinedTermError(f"{name} is not defined by the document's @context")


def _is_relative(iri: str) -> bool:
    return not iri.startswith("@") and ":" not in iri


def _check_iris(node: Any) -> None:
    """Reject relative IRIs left in the expanded document (expansion runs without a base IRI).

    A ``@type`` that stayed relative is a type the context does not define; a relative ``@id``
    would be dropped from the RDF dataset (pyld skips quads whose subject or object is relative),
    so either would leave a claim unsigned. JSON-LD safe mode rejects both.
    """
    if isinstance(node, list):
        for item in node:
            _check_iris(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "@type" and "@value" not in node:
                for type_iri in value if isinstance(value, list) else [value]:
                    if isinstance(type_iri, str) and _is_relative(type_iri):
                        raise UndefinedTermError(
                            f"type {type_iri!r} is not defined by the document's @context"
                        )
            elif key == "@id" and isinstance(value, str) and _is_relative(value):
                raise JsonLdProcessingError(f"@id {value!r} is a relative IRI; use an absolute one")
            elif key != "@value":
                _check_iris(value)


class StrictProcessor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """pyld's processor refusing what the cryptosuites refuse: a dropped (undefined) term, an
    invalid IRI, a node map too costly to build."""

    def __init__(self) -> None:
        super().__init__(on_property_dropped=_raise_dropped)

    def expand(self, input_: Any, options: Any) -> Any:
        expanded = super().expand(input_, options)
        _check_iris(expanded)
        check_node_map_cost(expanded)
        return expanded


class _GuardedProcessor(StrictProcessor):
    """The strict processor, refusing poison graphs before URDNA2015 (:mod:`app.jsonld.poison`)."""

    def to_rdf(self, input_: Any, options: Any) -> Any:
        dataset = super().to_rdf(input_, options)
        if isinstance(dataset, dict):
            check_work(pyld_quads(dataset))
        return dataset


def translate_pyld_error(exc: BaseException) -> JsonLdProcessingError:
    """Find our own error inside pyld's wrapping, or describe pyld's innermost one.

    An error of ours is returned as it is (the caller raises it outside the ``except`` block, so
    its chain does not loop back through pyld's wrappers); a new one has ``exc`` as its cause.
    """
    seen: BaseException | None = exc
    innermost = exc
    while seen is not None:
        if isinstance(seen, JsonLdProcessingError):
            return seen
        innermost = seen
        seen = seen.__cause__ or seen.__context__
    if isinstance(innermost, jsonld.JsonLdError):
        reason = innermost.code or innermost.args[0]
        error = JsonLdProcessingError(f"invalid JSON-LD: {reason}")
    else:
        error = JsonLdProcessingError(f"invalid JSON-LD: {innermost}")
    error.__cause__ = exc
    return error


#: pyld keeps process-wide caches (resolved contexts, keyed by generated ids, in cachetools LRU
#: caches) that are not thread-safe: when signing and verification ran in worker threads, two
#: threads inside pyld at once occasionally failed valid documents under load. The service now
#: calls pyld from its event loop only, but the library (and its tests) may be used from
#: threads: pyld is pure Python, holding the GIL anyway, so one lock costs almost no parallelism.
PYLD_LOCK = threading.RLock()


def run_pyld(operation: Callable[[], _T]) -> _T:
    """Run ``operation`` (which calls pyld) under :data:`PYLD_LOCK`, translating its errors."""
    failure: BaseException
    try:
        with PYLD_LOCK:
            return operation()
    except JsonLdProcessingError:
        raise
    except Exception as exc:  # pyld raises bare exceptions on some malformed input
        failure = exc
    # Raised here, not inside ``except``: re-raising our own error found inside pyld's wrappers
    # there would make it its own (indirect) cause, an exception chain with a cycle.
    raise translate_pyld_error(failure)


class PyldCanonicalizer:
    """RDFC-1.0 (URDNA2015) with pyld, contexts only from the given offline loader; poison graphs
    are refused (:class:`~app.jsonld.poison.PoisonGraphError`).

    Documents are processed without a base IRI (pyld would otherwise resolve relative IRIs
    against ``http://example.org/base/``, hiding undefined types); relative IRIs are refused.
    """

    def __init__(self, loader: DocumentLoader) -> None:
        self.loader = loader

    def expand(self, document: Mapping[str, Any]) -> list[Any]:
        options = {"documentLoader": self.loader, "base": None}
        result: list[Any] = run_pyld(lambda: StrictProcessor().expand(dict(document), options))
        return result

    def canonicalize(self, document: Mapping[str, Any]) -> str:
        return heavy(CANONICALIZE, document, lambda: self._canonicalize(document))

    def _canonicalize(self, document: Mapping[str, Any]) -> str:
        options = {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": self.loader,
            "base": None,
        }
        nquads: str = run_pyld(lambda: _GuardedProcessor().normalize(dict(document), options))
        return nquads
