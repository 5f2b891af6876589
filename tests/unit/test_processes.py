"""``tests.processes``: a stopped group leaves nothing alive, and what is left is seen."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from tests import processes

#: A leader that starts a grandchild deaf to SIGTERM (as a worker stuck in C code can be), then
#: waits.
LEADER = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
time.sleep(120)
"""


def wait_for(predicate: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_orphan_is_seen_and_stop_kills_the_whole_group() -> None:
    process = processes.start([sys.executable, "-c", LEADER])
    group = process.pid
    try:
        wait_for(lambda: len(processes.members(group)) == 2)
        (orphan,) = [pid for pid in processes.members(group) if pid != group]
        os.kill(group, signal.SIGKILL)  # the leader only, as a crashed supervisor
        process.wait(timeout=20)
        assert processes.survivors()[group] == [orphan]
        # re-parented to pytest, the subreaper (tests/conftest.py), not to init
        assert orphan in processes.descendants(os.getpid())
    finally:
        processes.stop(process, grace=1)
    assert processes.members(group) == []
    assert group not in processes.survivors()


def test_stop_lets_a_process_end_on_sigterm_first() -> None:
    script = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))\n"
        "print(flush=True)\n"
        "time.sleep(120)\n"
    )
    process = processes.start([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert process.stdout is not None
    with process.stdout:
        process.stdout.readline()  # the handler is installed
        processes.stop(process)
    assert process.returncode == 7
    assert processes.members(process.pid) == []


def test_a_child_started_without_the_helper_is_a_descendant_of_pytest() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        assert child.pid in processes.descendants(os.getpid())
    finally:
        child.kill()
        child.wait(timeout=20)
    assert child.pid not in processes.descendants(os.getpid())


def test_run_returns_the_output_and_stops_its_group() -> None:
    # the command leaves a grandchild behind when it exits: run stops it with the group
    script = (
        "import subprocess, sys; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
        "print('out'); print('err', file=sys.stderr); sys.exit(3)"
    )
    before = set(processes.STARTED_GROUPS)
    result = processes.run([sys.executable, "-c", script], timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
    (group,) = processes.STARTED_GROUPS - before
    assert processes.members(group) == []
