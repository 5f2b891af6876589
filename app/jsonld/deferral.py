"""Heavy work on large documents, done elsewhere (a worker process) instead of on the caller's
thread, while the code that needs it stays synchronous.

A caller runs a pure synchronous *step* (verify a document's proofs, sign one, validate an EDC)
under a :class:`Deferral` (:func:`deferring`). Each heavy operation the step reaches goes
through :func:`heavy`: on a small document it runs at once; on a large one it either answers the
outcome computed elsewhere for that exact JSON text, or stops the step with :class:`Deferred`
naming the :class:`Job` it needs. The caller then computes the job elsewhere, records its outcome
and runs the step again, which gets one step further each time.

So a step must have no effect before its last heavy operation (it may run several times), and
every outcome is a function of the operation and the document's JSON text alone: what the
worker computes from the text is what the step would have computed itself.

:class:`Deferred` is a :class:`BaseException`, so the ``except Exception`` (and ``except
ValueError``) clauses a step has for the operation's own errors let it pass.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeVar

import orjson

from app.jsonwalk import json_values

_T = TypeVar("_T")

#: The operations a worker knows (app/services/offload.py): the canonical N-Quads of a document,
#: the SHACL report of an EDC against the pinned shapes, the one-reading form check.
CANONICALIZE = "canonicalize"
EDC_SHACL = "edc-shacl"
PINNED_FORM = "pinned-form"


@dataclass(frozen=True)
class Job:
    """One heavy operation on one document, named by the document's JSON text."""

    operation: str
    text: bytes


class Deferred(BaseException):  # noqa: N818 - a signal to the step's runner, not an error
    """The step needs ``job`` done elsewhere first."""

    def __init__(self, job: Job) -> None:
        super().__init__(job.operation)
        self.job = job


@dataclass
class Deferral:
    """The outcomes computed elsewhere for one run of a step; ``is_large`` picks the documents
    whose heavy operations are deferred."""

    is_large: Callable[[Mapping[str, Any]], bool]
    #: job -> its result, or the exception the operation raised
    outcomes: dict[Job, Any] = field(default_factory=dict)
    #: ``id(document)`` -> the document and whether it is large: a step asks about the same
    #: document several times (form check, SHACL, the proof), and counting its values walks
    #: all of it. The document is kept, so its id is not reused while the step runs. Which
    #: path a document takes changes how long it holds the loop, never the outcome.
    sizes: dict[int, tuple[Mapping[str, Any], bool]] = field(default_factory=dict)

    def large(self, document: Mapping[str, Any]) -> bool:
        known = self.sizes.get(id(document))
        if known is not None and known[0] is document:
            return known[1]
        answer = self.is_large(document)
        self.sizes[id(document)] = (document, answer)
        return answer


_CURRENT: ContextVar[Deferral | None] = ContextVar("microcred_deferral", default=None)


@contextmanager
def deferring(deferral: Deferral) -> Iterator[None]:
    """Run the heavy operations of the enclosed (synchronous) code under ``deferral``."""
    token = _CURRENT.set(deferral)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def json_text(document: Mapping[str, Any]) -> bytes:
    """The document's JSON text; parsing it gives an equal document (keys in their order)."""
    try:
        return orjson.dumps(document)
    except TypeError:  # an integer beyond 64 bits, which orjson does not write
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def heavy(operation: str, document: Mapping[str, Any], compute: Callable[[], _T]) -> _T:
    """``compute()`` now, or the outcome computed elsewhere, or :class:`Deferred`."""
    deferral = _CURRENT.get()
    if deferral is None or not deferral.large(document):
        return compute()
    job = Job(operation, json_text(document))
    if job not in deferral.outcomes:
        raise Deferred(job)
    outcome = deferral.outcomes[job]
    if isinstance(outcome, BaseException):
        raise copy.copy(outcome)  # a fresh instance each time: no traceback piles up
    result: _T = outcome
    return result


def count_values(document: Any, limit: int) -> int:
    """The JSON values of ``document`` (objects, arrays, scalars), counted up to ``limit``: how
    much RDF it can make, which canonicalizing it costs in proportion (member names aside)."""
    return sum(1 for _ in islice(json_values(document), limit))
