"""How busy the machine was with other work while each part of the bench ran.

On a shared 2-core machine another process (a test suite, a build) takes CPU from the service
and from the load generator, and the figures drop with no change in our code. A thread samples
``/proc`` once a second and splits the CPU time used during each section between the bench's own
process tree, PostgreSQL's processes (ours and anyone else's), and every other process; the
report prints it next to the figures. Processes shorter than a sample interval are missed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import Json

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
GROUPS = ("bench", "postgres", "others")


def _snapshot() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds so far) for every readable process."""
    found = {}
    try:
        entries = list(os.scandir("/proc"))
    except OSError:
        return {}
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        name_end = raw.rfind(")")
        name = raw[raw.find("(") + 1 : name_end]
        fields = raw[name_end + 2 :].split()
        if len(fields) < 13:
            continue
        found[int(entry.name)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / TICKS)
    return found


class Neighbours:
    """Samples in a daemon thread; :meth:`section` measures one part of the run."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.me = os.getpid()
        self.lock = threading.Lock()
        self.last: dict[int, float] = {}
        self.groups: dict[int, str] = {}
        self.totals = dict.fromkeys(GROUPS, 0.0)
        self.sections: dict[str, Json] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="neighbours", daemon=True)

    def start(self) -> None:
        self.sample()
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.sample()

    def _group(self, pid: int, snapshot: dict[int, tuple[int, str, float]]) -> str:
        known = self.groups.get(pid)
        if known is not None:
            return known
        group = "others"
        if snapshot[pid][1].startswith("postgres"):
            group = "postgres"
        else:
            current, seen = pid, 0
            while current in snapshot and seen < 64:
                if current == self.me:
                    group = "bench"
                    break
                current, seen = snapshot[current][0], seen + 1
        self.groups[pid] = group
        return group

    def sample(self) -> None:
        snapshot = _snapshot()
        with self.lock:
            for pid, (_, _, cpu) in snapshot.items():
                before = self.last.get(pid)
                if before is not None and cpu >= before:
                    self.totals[self._group(pid, snapshot)] += cpu - before
                self.last[pid] = cpu
            for pid in set(self.last) - set(snapshot):
                del self.last[pid]
                self.groups.pop(pid, None)

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        self.sample()
        with self.lock:
            before = dict(self.totals)
        started = time.monotonic()
        try:
            yield
        finally:
            self.sample()
            wall = time.monotonic() - started
            with self.lock:
                used = {group: self.totals[group] - before[group] for group in GROUPS}
            self.sections[name] = {
                "seconds": wall,
                **{f"{group}_cores": used[group] / wall if wall else 0.0 for group in GROUPS},
            }
