"""Node peers of the interop tests: each folder here pins its npm packages in a committed
``package-lock.json``; :func:`ensure_installed` runs ``npm ci`` from it (once, until the lock
changes) and :func:`run_node` runs one of the folder's scripts with a JSON request on stdin and
its JSON reply on stdout."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

PEERS = Path(__file__).resolve().parent


def ensure_installed(peer: Path, what: str) -> None:
    """``npm ci`` in ``peer`` from the committed lock file, unless node_modules already matches
    it; the test skips where node or npm is missing (``what`` names the peer in the reason)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip(f"node and npm are needed for {what}")
    lock = peer / "package-lock.json"
    installed = peer / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    completed = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=peer,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]


def run_node(peer: Path, script: str, request: dict[str, Any]) -> dict[str, Any]:
    """Run ``peer/script`` with ``request`` as JSON on stdin; its JSON reply."""
    completed = subprocess.run(
        ["node", str(peer / script)],
        cwd=peer,
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    reply: dict[str, Any] = json.loads(completed.stdout)
    return reply
