"""Offline JSON-LD: a document loader over ``contexts/`` and RDF canonicalization."""

from app.jsonld.canonical import Canonicalizer, PyldCanonicalizer
from app.jsonld.errors import (
    ContextIntegrityError,
    JsonLdProcessingError,
    UndefinedTermError,
    UnknownContextError,
)
from app.jsonld.loader import OfflineDocumentLoader

__all__ = [
    "Canonicalizer",
    "ContextIntegrityError",
    "JsonLdProcessingError",
    "OfflineDocumentLoader",
    "PyldCanonicalizer",
    "UndefinedTermError",
    "UnknownContextError",
]
