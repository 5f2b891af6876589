"""The JavaScript peer (``bench/peer``): installed from the npm registry, run as a Node process.

The Node process stays up for the whole comparison and answers one command per line, so that
short timed rounds of ours and of the peer's can alternate: on a machine shared with other work,
two rounds next to each other see about the same load, and their ratio is what is reported.
"""

from __future__ import annotations

import json
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from bench.common import PEER_DIR, Json


class PeerUnavailable(RuntimeError):
    """Node or npm is missing, the install failed, or the peer script failed."""


def ensure_installed() -> None:
    """``npm ci`` from the committed lock file, unless node_modules already matches it."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise PeerUnavailable("node and npm are needed for the peer (Node 20 or later)")
    lock = PEER_DIR / "package-lock.json"
    installed = PEER_DIR / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    print("bench: installing the peer (npm ci in bench/peer)", file=sys.stderr)
    try:
        completed = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=PEER_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PeerUnavailable("npm ci took more than 5 minutes") from exc
    if completed.returncode != 0:
        raise PeerUnavailable(f"npm ci failed:\n{completed.stderr[-2000:]}")


class PeerProcess:
    """``node peer.mjs CONFIG``: set up (and warmed up) once, then driven command by command."""

    def __init__(self, config: Json, config_path: Path, *, start_timeout: float) -> None:
        config_path.write_text(json.dumps(config))
        self.stderr_path = config_path.with_suffix(".stderr")
        self.stderr: IO[bytes] = self.stderr_path.open("wb")
        self.process = subprocess.Popen(
            ["node", str(PEER_DIR / "peer.mjs"), str(config_path)],
            cwd=PEER_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self._read(start_timeout)

    def __enter__(self) -> PeerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _read(self, timeout: float) -> Json:
        stdout = self.process.stdout
        assert stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([stdout], [], [], max(0.0, remaining))
            if not ready:
                raise PeerUnavailable(f"the peer did not answer within {timeout:.0f} s")
            line = stdout.readline()
            if not line:
                detail = self.stderr_path.read_text(errors="replace")[-2000:]
                raise PeerUnavailable(f"the peer exited: {detail}")
            if line.strip():
                break
        reply: Json = json.loads(line)
        if "error" in reply:
            raise PeerUnavailable(f"the peer failed: {reply['error'][:2000]}")
        return reply

    def ask(self, command: Json, timeout: float) -> Json:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        return self._read(timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps({"op": "exit"}) + "\n")
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(timeout=10)
        self.stderr.close()
