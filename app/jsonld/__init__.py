"""Offline JSON-LD: a document loader over ``contexts/`` and RDF canonicalization (pyld, or
pyoxigraph where proven equal to pyld)."""

from app.jsonld.canonical import Canonicalizer, PyldCanonicalizer
from app.jsonld.errors import (
    ContextIntegrityError,
    JsonLdProcessingError,
    UndefinedTermError,
    UnknownContextError,
)
from app.jsonld.loader import OfflineDocumentLoader
from app.jsonld.oxigraph import OxigraphCanonicalizer
from app.jsonld.poison import PoisonGraphError

__all__ = [
    "Canonicalizer",
    "ContextIntegrityError",
    "JsonLdProcessingError",
    "OfflineDocumentLoader",
    "OxigraphCanonicalizer",
    "PoisonGraphError",
    "PyldCanonicalizer",
    "UndefinedTermError",
    "UnknownContextError",
]
