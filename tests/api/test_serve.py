"""``microcred serve --workers 2``: a socket per worker, connections spread, clean stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

from app.config import new_master_key
from tests import processes
from tests.conftest import ADMIN_TOKEN

ROOT = Path(__file__).resolve().parents[2]
LISTEN, ESTABLISHED = "0A", "01"

pytestmark = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="reads the sockets of the workers from /proc"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def socket_inodes(port: int, state: str) -> set[str]:
    """The inodes of the TCP sockets with local ``port`` in ``state`` (/proc/net/tcp codes)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            inodes.add(fields[9])
    return inodes


def sockets_of(pid: int, inodes: set[str]) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            count += 1
    return count


def workers_of(pid: int) -> list[int]:
    """The worker processes ``serve`` spawned (not multiprocessing's resource tracker)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    children = [int(child) for child in text.split()]
    return [
        child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def serve(tmp_path: Path, port: int, workers: int, log: BinaryIO) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
    env.update(
        MICROCRED_ENV="production",
        MICROCRED_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/serve.db",
        MICROCRED_ADMIN_TOKEN=ADMIN_TOKEN,
        MICROCRED_MASTER_KEY=new_master_key(),
        MICROCRED_PUBLIC_URL="https://credentials.example.edu",
        MICROCRED_LOG_LEVEL="WARNING",
    )
    command = ["-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)]
    return processes.start(
        [sys.executable, *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = serve(tmp_path, port, 2, log)
    try:
        deadline = time.monotonic() + 60
        while len(socket_inodes(port, LISTEN)) < 2:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "the two workers did not both listen"
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
        yield process, port
    finally:
        processes.stop(process)
        log.close()


def test_each_worker_listens_on_its_own_socket_and_takes_connections(
    two_workers: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = two_workers
    workers = workers_of(process.pid)
    assert len(workers) == 2
    listening = socket_inodes(port, LISTEN)
    assert [sockets_of(pid, listening) for pid in workers] == [1, 1]
    # 32 keep-alive connections opened at once: with one shared socket a single worker could
    # accept them all; with a socket each the kernel spreads them (all on one: p = 2^-31).
    connections = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(32)]
    try:
        for connection in connections:
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        for connection in connections:
            assert connection.recv(65536).startswith(b"HTTP/1.1 200")
        established = socket_inodes(port, ESTABLISHED)
        per_worker = [sockets_of(pid, established) for pid in workers]
        assert sum(per_worker) == 32
        assert min(per_worker) >= 1, per_worker
    finally:
        for connection in connections:
            connection.close()


def test_sigterm_stops_the_workers_and_serve_exits_0(
    two_workers: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, _ = two_workers
    workers = workers_of(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_a_worker_that_dies_is_replaced(two_workers: tuple[subprocess.Popen[bytes], int]) -> None:
    process, port = two_workers
    first, _ = workers_of(process.pid)
    time.sleep(10)  # past the start-up grace: a later death is not a failed start
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        now_serving = workers_of(process.pid)
        if first not in now_serving and len(now_serving) == 2:
            if len(socket_inodes(port, LISTEN)) == 2:
                break
        assert process.poll() is None
        assert time.monotonic() < deadline, "the dead worker was not replaced"
        time.sleep(0.2)
    assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200


def test_workers_that_cannot_bind_make_serve_exit_3(tmp_path: Path) -> None:
    port = free_port()
    with (
        socket.socket() as taken,  # held without SO_REUSEPORT: no worker can join it
        (tmp_path / "serve.log").open("wb") as log,
    ):
        taken.bind(("127.0.0.1", port))
        taken.listen()
        process = serve(tmp_path, port, 2, log)
        try:
            assert process.wait(timeout=60) == 3
        finally:
            processes.stop(process)
    assert "failed at start-up" in (tmp_path / "serve.log").read_text()


def test_workers_exit_when_the_supervisor_is_killed(
    two_workers: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = two_workers
    workers = workers_of(process.pid)
    assert len(workers) == 2
    process.send_signal(signal.SIGKILL)  # no chance to stop its workers itself
    assert process.wait(timeout=10) == -signal.SIGKILL
    deadline = time.monotonic() + 40  # each worker stops gracefully (SIGTERM from the kernel)
    while [pid for pid in workers if pid in processes.live_processes()]:
        assert time.monotonic() < deadline, "the workers outlived their supervisor"
        time.sleep(0.2)
    assert not socket_inodes(port, LISTEN)


def test_the_parent_watch_stops_a_process_whose_parent_died() -> None:
    """The fallback of :func:`app.serve.exit_with_parent` where there is no prctl."""
    watcher = (  # the watch in a thread, as in a worker, while the main thread works on
        "import sys, threading, time; from app.serve import _watch_parent; "
        "threading.Thread(target=_watch_parent, args=(int(sys.argv[1]),), daemon=True).start(); "
        "time.sleep(120)"
    )
    parent = (
        "import os, subprocess, sys; "
        f"child = subprocess.Popen([sys.executable, '-c', {watcher!r}, str(os.getpid())]); "
        "print(child.pid, flush=True)"
    )  # then exits, leaving the child without its parent
    process = processes.start([sys.executable, "-c", parent], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        child = int(process.stdout.readline())
        assert process.wait(timeout=30) == 0
        deadline = time.monotonic() + 20
        while child in processes.live_processes():
            assert time.monotonic() < deadline, "the process outlived its parent"
            time.sleep(0.1)
    finally:
        processes.stop(process)
        if process.stdout is not None:
            process.stdout.close()
