"""RDF Dataset Canonicalization (RDFC-1.0) of JSON-LD documents, behind one small interface.

The cryptosuites only see :class:`Canonicalizer`, so a faster implementation can replace pyld
without touching them (it must then produce the same N-Quads on every fixture).

pyld ignores JSON-LD "safe mode": a property or type the context does not define is silently
dropped, which would let a credential carry claims the signature does not cover. This module
turns every such drop into :class:`UndefinedTermError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pyld import jsonld

from app.jsonld.errors import JsonLdProcessingError, UndefinedTermError, UnknownContextError

DocumentLoader = Callable[[str, Mapping[str, Any] | None], dict[str, Any]]


class Canonicalizer(Protocol):
    def canonicalize(self, document: Mapping[str, Any]) -> str:
        """Return the canonical N-Quads (each line ending in a newline) of ``document``."""
        ...


def _raise_dropped(expanded_property: str | None) -> None:
    name = expanded_property or "a term"
    raise UndefinedTermError(f"{name} is not defined by the document's @context")


def _check_types(node: Any) -> None:
    """Reject ``@type`` values that stayed relative IRIs (types the context does not define)."""
    if isinstance(node, list):
        for item in node:
            _check_types(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "@type" and "@value" not in node:
                for type_iri in value if isinstance(value, list) else [value]:
                    if isinstance(type_iri, str) and ":" not in type_iri:
                        raise UndefinedTermError(
                            f"type {type_iri!r} is not defined by the document's @context"
                        )
            elif key != "@value":
                _check_types(value)


class _StrictProcessor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(on_property_dropped=_raise_dropped)

    def expand(self, input_: Any, options: Any) -> Any:
        expanded = super().expand(input_, options)
        _check_types(expanded)
        return expanded


def translate_pyld_error(exc: BaseException) -> JsonLdProcessingError:
    """Find our own error inside pyld's wrapping, or describe pyld's innermost one."""
    seen: BaseException | None = exc
    innermost = exc
    while seen is not None:
        if isinstance(seen, UnknownContextError | UndefinedTermError):
            return seen
        innermost = seen
        seen = seen.__cause__ or seen.__context__
    if isinstance(innermost, jsonld.JsonLdError):
        reason = innermost.code or innermost.args[0]
        return JsonLdProcessingError(f"invalid JSON-LD: {reason}")
    return JsonLdProcessingError(f"invalid JSON-LD: {innermost}")


class PyldCanonicalizer:
    """RDFC-1.0 (URDNA2015) with pyld, contexts only from the given offline loader."""

    def __init__(self, loader: DocumentLoader) -> None:
        self.loader = loader

    def expand(self, document: Mapping[str, Any]) -> list[Any]:
        try:
            result: list[Any] = _StrictProcessor().expand(
                dict(document), {"documentLoader": self.loader}
            )
        except JsonLdProcessingError:
            raise
        except Exception as exc:  # pyld raises bare exceptions on some malformed input
            raise translate_pyld_error(exc) from exc
        return result

    def canonicalize(self, document: Mapping[str, Any]) -> str:
        options = {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": self.loader,
        }
        try:
            nquads: str = _StrictProcessor().normalize(dict(document), options)
        except JsonLdProcessingError:
            raise
        except Exception as exc:  # pyld raises bare exceptions on some malformed input
            raise translate_pyld_error(exc) from exc
        return nquads
