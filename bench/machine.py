"""What the figures were measured on: CPU, cores, memory, runtimes and library versions."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.common import PROJECT_ROOT, Json

PACKAGES = (
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "sqlmodel",
    "asyncpg",
    "aiosqlite",
    "pyld",
    "pyoxigraph",
    "pynacl",
    "rfc8785",
    "pyshacl",
    "rdflib",
    "pillow",
    "httpx",
    "orjson",
    "uvloop",
    "httptools",
)


def _cpuinfo_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _command_output(command: list[str]) -> str | None:
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=10, cwd=PROJECT_ROOT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def _versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def describe() -> Json:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpu_model": _cpuinfo_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "node": _command_output(["node", "--version"]),
        "commit": _command_output(["git", "rev-parse", "--short", "HEAD"]),
        "packages": _versions(),
    }
