"""Processes the tests start: each leads a session of its own and is stopped with its whole group.

:func:`start` runs a command with ``start_new_session=True`` (its process group id is its pid)
and records the group; :func:`stop` signals the whole group (SIGTERM, then SIGKILL after
``grace``), reaps the leader and waits until no member of the group is left, so the workers a
``microcred serve`` spawned go too even when their supervisor was killed first.
:func:`survivors` lists what is still alive of every group started in this run: a session
fixture in ``tests/conftest.py`` fails the run on any. That fixture also makes pytest a child
subreaper (:func:`become_subreaper`), so that a process orphaned by a child of pytest becomes a
child of pytest instead of init's, and :func:`descendants` finds it however it was started.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h

#: The process groups started by :func:`start` in this run (each group id is its leader's pid).
STARTED_GROUPS: set[int] = set()


def start(command: list[str], **options: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(command, **options)`` in a new session, recorded for :func:`stop`."""
    process: subprocess.Popen[bytes] = subprocess.Popen(command, start_new_session=True, **options)
    STARTED_GROUPS.add(process.pid)
    return process


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux); whether it is now."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _stat_fields(pid: str) -> list[str] | None:
    """``/proc/<pid>/stat`` after the command name: state, ppid, pgrp, session, ..."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone meanwhile
        return None
    return text[text.rindex(")") + 2 :].split()


def live_processes() -> dict[int, tuple[int, int]]:
    """Every live process (zombies left out: they hold no socket or file) → (ppid, pgrp)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry.name)
        if fields is not None and fields[0] != "Z":
            found[int(entry.name)] = (int(fields[1]), int(fields[2]))
    return found


def members(group: int) -> list[int]:
    """The live processes of process group ``group``."""
    return sorted(pid for pid, (_, pgrp) in live_processes().items() if pgrp == group)


def survivors() -> dict[int, list[int]]:
    """Group → its live processes, for every group started in this run that has any left."""
    alive: dict[int, list[int]] = {}
    for pid, (_, pgrp) in live_processes().items():
        if pgrp in STARTED_GROUPS:
            alive.setdefault(pgrp, []).append(pid)
    return alive


def descendants(ancestor: int) -> list[int]:
    """The live processes whose parent chain includes ``ancestor``."""
    table = live_processes()
    found = []
    for pid in table:
        parent = table[pid][0]
        while parent > 1 and parent != ancestor and parent in table:
            parent = table[parent][0]
        if parent == ancestor:
            found.append(pid)
    return sorted(found)


def _signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except ProcessLookupError:  # the whole group has exited already
        pass


def _wait_until_gone(group: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while members(group):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Stop ``process`` and every process of its group; return once all of them have exited.

    SIGTERM goes to the whole group (the service's own shutdown runs), SIGKILL after ``grace``
    seconds to whatever is left. Safe to call on a process that has exited already.
    """
    group = process.pid
    _signal_group(group, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    if not _wait_until_gone(group, 0 if process.returncode is None else grace):
        _signal_group(group, signal.SIGKILL)
    process.wait(timeout=30)
    if not _wait_until_gone(group, 30):
        raise RuntimeError(f"process group {group} still has {members(group)} after SIGKILL")


def run(command: list[str], timeout: float, **options: Any) -> subprocess.CompletedProcess[str]:
    """Like ``subprocess.run(command, capture_output=True, text=True, timeout=timeout)``, but in
    a group of its own that is stopped whole, whether the command ended, timed out or failed."""
    process = start(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        stop(process)
    return subprocess.CompletedProcess(
        command, process.returncode, stdout.decode(), stderr.decode()
    )


def wait_until_serving(
    url: str, process: subprocess.Popen[bytes], log: Path, within: float = 60
) -> None:
    """Wait until the service started as ``process`` answers ``GET {url}/health`` with 200;
    fail with its log if it exits first or does not answer ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"the service at {url} did not start"
        time.sleep(0.2)
