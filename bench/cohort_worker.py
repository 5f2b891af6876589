"""``microcred worker`` with clocks: where a cohort job's time goes, from inside the worker.

    python -m bench.cohort_worker OUT.json [--cprofile]

Runs the real worker (``app.cli`` ``worker``, its environment as the bench sets it) with the
stage clocks of :mod:`bench.profile` (page rendering, building, SHACL, the proof, every database
driver call) and, with ``--cprofile``, a cProfile of the whole process. On SIGTERM the worker
stops as it always does; then the figures, per row done, go to OUT.json. Its own process: the
clocks replace functions of the application and its libraries. The clocks (and cProfile) start
at SIGUSR1, after a warm-up: imports, the first course preparation and idle polling are left
out; so is the time spent waiting in ``epoll`` (idle or waiting for the database).
"""

from __future__ import annotations

import argparse
import cProfile
import signal
import sys
import time
from pathlib import Path

from bench.common import Json, write_json
from bench.profile import StageClock, cprofile_summary, install_clocks

#: What waits rather than works: the event loop's poll (idle, or waiting for PostgreSQL).
IDLE = ("<method 'poll' of 'select.epoll' objects>",)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cohort_worker")
    parser.add_argument("out", type=Path)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args(argv)
    from app import cli

    clock = StageClock()
    install_clocks(clock)
    profiler = cProfile.Profile() if args.cprofile else None
    started = [time.perf_counter()]

    def start(*_: object) -> None:
        clock.reset()
        clock.enabled = True
        started[0] = time.perf_counter()
        if profiler is not None:
            profiler.enable()

    signal.signal(signal.SIGUSR1, start)
    try:
        code = cli.main(["worker"])
    finally:
        if profiler is not None:
            profiler.disable()
    report: Json = {
        "wall_seconds": time.perf_counter() - started[0],
        "stages_seconds": dict(clock.totals),
        "stage_calls": dict(clock.counts),
    }
    if profiler is not None:
        profiler.dump_stats(args.out.with_suffix(".prof"))  # for pstats: callers, callees
        report["cprofile"] = cprofile_summary(profiler, 1, top=25, idle=IDLE)
    write_json(args.out, report)
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
