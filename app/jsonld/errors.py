"""Errors of JSON-LD processing (no web imports: the service maps them to problems)."""

from __future__ import annotations


class JsonLdProcessingError(ValueError):
    """The document cannot be processed as JSON-LD."""


class UnknownContextError(JsonLdProcessingError):
    """A context URL that is not vendored in ``contexts/``; it is never fetched."""

    def __init__(self, url: str) -> None:
        super().__init__(f"context {url!r} is not one this service knows (none is ever fetched)")
        self.url = url

    def __reduce__(self) -> tuple[type[UnknownContextError], tuple[str]]:  # from a worker
        return type(self), (self.url,)


class UndefinedTermError(JsonLdProcessingError):
    """A property or type the active context does not define (it would silently be unsigned)."""


class ContextIntegrityError(RuntimeError):
    """A vendored context file does not match its recorded sha256: refuse to start."""
