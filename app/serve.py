"""``microcred serve``: uvicorn, with one listening socket per worker when there are several.

uvicorn's own multi-worker mode shares one listening socket between its workers, and a worker's
event loop accepts every pending connection each time it wakes. A burst of new keep-alive
connections (a reverse proxy filling its pool, a load test) can then all land on one worker
while the others idle: the bench saw its 16 connections all on one of two workers for a whole
run. Here each worker binds its own socket to the port with ``SO_REUSEPORT``, and the kernel
spreads new connections over the sockets by a hash of their addresses.

The parent only supervises: a worker that dies is replaced, unless it died within
:data:`STARTUP_GRACE` seconds of its start (a port in use, a database that cannot be reached):
then every worker is stopped and ``serve`` exits 3, as uvicorn does when its app fails to start.
SIGTERM or SIGINT stops the workers gracefully (uvicorn finishes the requests under way). A
supervisor that dies without stopping them (SIGKILL, the OOM killer) takes them along: each worker
asks the kernel for SIGTERM when its parent dies (:func:`exit_with_parent`).
"""

from __future__ import annotations

import ctypes
import gc
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn

APP = "app.serve:served_app"
#: A worker that exits sooner than this after its start failed to start.
STARTUP_GRACE = 10.0
#: Seconds a worker has to finish the requests under way after SIGTERM.
SHUTDOWN_TIMEOUT = 30.0

log = logging.getLogger("microcred.serve")


#: The collector's first-generation threshold once the app has started (CPython's: 700).
GC_THRESHOLD = 20_000


def tune_gc() -> None:
    """Once the app has started: freeze what start-up built and collect less often.

    Start-up leaves ~180,000 long-lived objects (compiled SHACL shapes, JSON-LD contexts,
    vocabularies) that every full collection would walk again; at the default threshold about
    one collection ran per EDC issued (what it saves: bench/README.md).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


class _TunedAfterStartup:
    """The app, with :func:`tune_gc` run and the offload's worker processes started when its
    lifespan start-up completes."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def sent(message: Any) -> None:
            if message["type"] == "lifespan.startup.complete":
                tune_gc()
                # before the first request: starting one takes half a second of a core
                await self.app.state.services.issuing.offload.prestart()
            await send(message)

        await self.app(scope, receive, sent)


def served_app() -> Any:
    """The app as ``microcred serve`` runs it (see :func:`tune_gc`)."""
    from app.main import create_app

    return _TunedAfterStartup(create_app())


def _options(host: str, port: int, log_level: str) -> dict[str, Any]:
    return {
        "factory": True,
        "host": host,
        "port": port,
        "log_level": log_level,
        "log_config": None,  # the app logs JSON lines itself (app/observability.py)
        "access_log": False,
        "proxy_headers": True,
    }


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` in the port's ``SO_REUSEPORT`` group."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


#: linux/prctl.h: the signal this process gets when its parent dies
PR_SET_PDEATHSIG = 1
#: Seconds between two looks at the parent where the kernel cannot be asked (not Linux).
PARENT_POLL_SECONDS = 1.0


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)


def exit_with_parent(parent: int) -> bool:
    """Have this process get SIGTERM (a graceful uvicorn stop) once ``parent`` has died.

    On Linux the kernel sends it (``prctl(PR_SET_PDEATHSIG)``), elsewhere a thread polls the
    parent's pid. Returns False when the parent is already gone (it died before the request
    took effect): the caller should not start.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        asked = libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
    except (OSError, AttributeError):  # no prctl: not Linux
        asked = False
    if not asked:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    return os.getppid() == parent


def _worker(host: str, port: int, log_level: str, parent: int) -> None:
    """One worker process: its own socket, its own event loop; it ends with its supervisor."""
    if not exit_with_parent(parent):
        return
    config = uvicorn.Config(APP, **_options(host, port, log_level))
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def serve(host: str, port: int, workers: int, log_level: str) -> int:
    """Serve until stopped; the exit code (3: the app failed to start, as with uvicorn)."""
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, workers=max(workers, 1), **_options(host, port, log_level))
        return 0
    if port == 0:
        raise SystemExit("serve: several workers need a fixed --port (each worker binds it)")
    return _supervise(host, port, workers, log_level)


def _supervise(host: str, port: int, workers: int, log_level: str) -> int:
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)

    def start() -> tuple[BaseProcess, float]:
        process = context.Process(
            target=_worker, args=(host, port, log_level, os.getpid()), name="worker"
        )
        process.start()
        log.info("started worker %s", process.pid)
        return process, time.monotonic()

    running = [start() for _ in range(workers)]
    code = 0
    while not stop.wait(0.5):
        for slot, (process, started) in enumerate(running):
            if process.is_alive():
                continue
            if time.monotonic() - started < STARTUP_GRACE:
                log.error("worker %s failed at start-up (exit %s)", process.pid, process.exitcode)
                code = 3
                stop.set()
                break
            log.warning("worker %s exited (%s): starting another", process.pid, process.exitcode)
            running[slot] = start()
    for process, _ in running:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes the requests under way
    deadline = time.monotonic() + SHUTDOWN_TIMEOUT
    for process, _ in running:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
    return code
