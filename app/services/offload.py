"""Canonicalization, SHACL validation and the form check of large documents in worker
processes, off the event loop.

Signing and verifying run on the event loop: for an ordinary credential (an EDC of ~50 KB, 476
JSON values) a thread or a process would cost more than it frees. A document near the caps
(20,000 statements, a 2 MB body) held the loop for a good part of a second or more, and no other
request of that worker was served meanwhile (figures: bench/README.md).

A thread does not help: pyld is pure Python, and pyoxigraph keeps the GIL while it canonicalizes
(a thread canonicalizing a large dataset let the main thread run not once; parsing lets it run,
but the checks around both are Python again). So the
heavy operations of a large document (:mod:`app.jsonld.deferral`: its canonical N-Quads, an
EDC's SHACL report, the one-reading form check) run in a worker process (``anyio.to_process``),
at most ``workers`` at a time per service process, each stopped (the process killed) after
``timeout`` seconds, when it then fails as JSON-LD that cannot be processed. A worker that
crashes (pyoxigraph aborts the process on some inputs) fails its document, not the service.
The workers keep the normal priority: at nice 10 their share of a machine loaded by
seven other busy processes would be ~3% of a core (by the scheduler's weights, 110 against
1024 each), a 0.3 s job some 10 s, while an event loop that mostly waits is scheduled promptly
anyway. ``microcred serve`` starts them with the service (:meth:`Offload.prestart`): starting one
takes a noticeable share of a core, which with the first large document competed with the
event loops.

A document is large from ``min_values`` JSON values on (2,500 by default): canonicalization costs
grow with the number of values, and a document below that stays within a few tens of
milliseconds inline; the service's EDC (476 values) and the
official Europass sample (925) stay on the loop. Requests with a large body are handled one at a
time per process (:meth:`Offload.large_request`, app/limits.py), which also checks their JSON in
a worker.

What a worker computes is a function of the operation and the document's JSON text only, with a
canonicalizer built from the service's own settings (:class:`WorkerSpec`): the same N-Quads and
the same verdict as inline, and the same limits (statements, blank nodes, poison graphs).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import pickle
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio
from anyio import to_process

from app.config import Settings
from app.jsonld import (
    Canonicalizer,
    JsonLdProcessingError,
    OfflineDocumentLoader,
    OxigraphCanonicalizer,
    PyldCanonicalizer,
)
from app.jsonld.deferral import (
    CANONICALIZE,
    EDC_SHACL,
    PINNED_FORM,
    Deferral,
    Deferred,
    Job,
    count_values,
    deferring,
)
from app.jsonld.form import PinnedForm

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

DEFAULT_MIN_VALUES = 2_500
DEFAULT_TIMEOUT = 10.0
#: runs of one step at most (each computes one more job elsewhere); a step needs one per large
#: document it canonicalizes (a proof chain one per proof), then it runs inline
MAX_ROUNDS = 16


class OffloadFailed(JsonLdProcessingError):
    """The worker process did not give an outcome (killed at the timeout, or crashed)."""


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker builds its canonicalizer from: the service's settings (picklable)."""

    contexts_dir: str
    canonicalizer: Literal["oxigraph", "pyld"] = "oxigraph"
    max_quads: int = 20_000
    max_blank_nodes: int = 2_000


@dataclass(frozen=True)
class _Tools:
    loader: OfflineDocumentLoader
    canonicalizer: Canonicalizer
    form: PinnedForm


@lru_cache(maxsize=4)
def _tools(spec: WorkerSpec) -> _Tools:
    loader = OfflineDocumentLoader(Path(spec.contexts_dir))
    canonicalizer: Canonicalizer = (
        OxigraphCanonicalizer(
            loader, max_quads=spec.max_quads, max_blank_nodes=spec.max_blank_nodes, remember=0
        )
        if spec.canonicalizer == "oxigraph"
        else PyldCanonicalizer(loader)
    )
    return _Tools(loader, canonicalizer, PinnedForm(loader))


def prepare(spec: WorkerSpec) -> None:
    """In a worker process: build its canonicalizer and form check (once)."""
    _tools(spec)


def perform(spec: WorkerSpec, job: Job) -> Any:
    """In a worker process: the job's outcome, its result or the exception it raised."""
    prepare(spec)
    tools = _tools(spec)
    document = json.loads(job.text)
    try:
        if job.operation == CANONICALIZE:
            return tools.canonicalizer.canonicalize(document)
        if job.operation == PINNED_FORM:
            return tools.form.check(document)
        if job.operation == EDC_SHACL:
            from app.credentials.shacl import validate_edc

            return validate_edc(document, tools.loader, canonicalizer=tools.canonicalizer)
        raise ValueError(f"unknown operation {job.operation!r}")
    except Exception as exc:  # the outcome of the operation, raised again in the service
        return _transferable(exc)


def _transferable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling as it is, else a plain error with its text."""
    try:
        copy.copy(pickle.loads(pickle.dumps(exc)))
    except Exception:
        return JsonLdProcessingError(f"{type(exc).__name__}: {exc}")
    return exc


class Offload:
    """Runs steps on the event loop with their large documents' heavy work in worker processes.

    ``workers`` 0 runs everything inline.
    """

    def __init__(
        self,
        spec: WorkerSpec,
        *,
        workers: int = 1,
        min_values: int = DEFAULT_MIN_VALUES,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if workers < 0 or min_values < 1 or timeout <= 0:
            raise ValueError("workers must not be negative, min_values and timeout positive")
        self.spec = spec
        self.workers = workers
        self.min_values = min_values
        self.timeout = timeout
        #: jobs done in a worker (and of those, stopped at the timeout or failed), for tests
        #: and metrics
        self.performed = 0
        self.failed = 0
        self._limiters: dict[asyncio.AbstractEventLoop, tuple[Any, Any, Any]] = {}

    def is_large(self, document: Mapping[str, Any]) -> bool:
        return count_values(document, self.min_values) >= self.min_values

    async def run(self, step: Callable[[], _T]) -> _T:
        """``step()``, a pure synchronous function (see :mod:`app.jsonld.deferral`), with the
        heavy operations it reaches on large documents done in a worker process."""
        if not self.workers:
            return step()
        deferral = Deferral(self.is_large)
        for _ in range(MAX_ROUNDS):
            with deferring(deferral):
                try:
                    return step()
                except Deferred as deferred:
                    job = deferred.job
            deferral.outcomes[job] = await self._perform(job)
        logger.warning("a step needed more than %d jobs: running the rest inline", MAX_ROUNDS)
        return step()

    async def _perform(self, job: Job) -> Any:
        return await self.call(job.operation, perform, self.spec, job)

    async def call(self, name: str, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` in a worker process (a module-level function; picklable
        arguments and result); :class:`OffloadFailed` as the result when the worker overran the
        timeout or failed."""
        waiting, running, _ = self._limiters_of_this_loop()
        outcome: Any = OffloadFailed(f"{name} took longer than {self.timeout:g} s and was stopped")
        async with waiting:
            try:
                # A worker is started (or an idle one taken) and made ready outside the timeout:
                # anyio kills a worker cancelled while it runs a job, not one cancelled while
                # it starts. The job then goes to that worker, the most recently used.
                await to_process.run_sync(prepare, self.spec, cancellable=True, limiter=running)
                with anyio.move_on_after(self.timeout):
                    # cancellable: at the timeout the worker process is killed
                    outcome = await to_process.run_sync(
                        function, *args, cancellable=True, limiter=running
                    )
            except Exception as exc:  # the worker crashed or could not start
                logger.warning("a worker process failed: %r", exc)
                outcome = OffloadFailed(f"the worker process for {name} failed")
        self.performed += 1
        if isinstance(outcome, OffloadFailed):
            self.failed += 1
        return outcome

    async def prestart(self) -> None:
        """Start the worker processes now, and make them ready."""
        async with anyio.create_task_group() as group:
            for _ in range(self.workers):
                group.start_soon(self.call, "the start", prepare, self.spec)

    @asynccontextmanager
    async def large_request(self) -> AsyncIterator[None]:
        """Enclose the handling of a request with a large body: such requests are handled one
        at a time per process (as many as workers), the others wait their turn before they are
        parsed. Each one's work on the event loop comes in steps of some milliseconds (parsing,
        writing JSON), and only one request's steps are ready at a time: a health check waits
        for one step at most, not for one of each large request."""
        async with self._limiters_of_this_loop()[2]:
            yield

    def _limiters_of_this_loop(self) -> tuple[Any, Any, Any]:
        """The limiters of the running event loop (anyio's worker processes belong to one):
        one that jobs wait on (outside the timeout), and the one the workers are taken under."""
        loop = asyncio.get_running_loop()
        limiters = self._limiters.get(loop)
        if limiters is None:
            for stale in [other for other in self._limiters if other.is_closed()]:
                del self._limiters[stale]
            size = max(self.workers, 1)
            limiters = (
                anyio.CapacityLimiter(size),
                anyio.CapacityLimiter(size),
                anyio.CapacityLimiter(size),
            )
            self._limiters[loop] = limiters
        return limiters


def offload_for(settings: Settings) -> Offload:
    """The service's offload, from its settings."""
    spec = WorkerSpec(
        contexts_dir=str(settings.contexts_dir),
        canonicalizer=settings.canonicalizer,
        max_quads=settings.canonical_max_quads,
        max_blank_nodes=settings.canonical_max_blank_nodes,
    )
    return Offload(
        spec,
        workers=settings.offload_workers,
        min_values=settings.offload_min_values,
        timeout=settings.offload_timeout_seconds,
    )
