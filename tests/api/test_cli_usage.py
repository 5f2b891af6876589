"""The ``microcred`` command as a user meets it, run as a real process from an empty folder:
plain help, one-line errors for every mistake (never a traceback), and ``.env.local`` read by
itself in development."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import new_master_key
from tests import processes
from tests.api.test_serve import free_port
from tests.conftest import ADMIN_TOKEN

COMMANDS = ("serve", "worker", "migrate", "openapi", "issuer", "api-key", "credential")
ISSUER = ["issuer", "create", "uni-cli", "--name", "en=Uni", "--country", "IRL"]
ISSUER += ["--legal-identifier", "IE1"]


def microcred(args: list[str], cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """``microcred ARGS`` in ``cwd`` with only the given ``MICROCRED_*`` settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
    env.update({f"MICROCRED_{name.upper()}": value for name, value in settings.items()})
    return processes.run([sys.executable, "-m", "app.cli", *args], 120, cwd=cwd, env=env)


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("microcred"), result.stderr
    return lines[0]


def test_help_is_plain_text_listing_the_commands(tmp_path: Path) -> None:
    result = microcred(["--help"], tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    for command in COMMANDS:
        assert f"\n    {command} " in result.stdout or f"\n    {command}\n" in result.stdout
    assert "``" not in result.stdout and "\x1b[" not in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["bogus"],
        ["serve", "--port", "eighty"],
        ["migrate", "--no-such-option"],
        ["issuer", "create"],
        ["api-key", "create", "uni", "--name", "x", "--scope", "everything"],
    ],
    ids=["no-command", "unknown-command", "bad-port", "unknown-option", "missing", "bad-choice"],
)
def test_a_usage_mistake_is_one_line_and_exit_2(args: list[str], tmp_path: Path) -> None:
    line = assert_one_line_error(microcred(args, tmp_path), 2)
    assert "--help" in line
    assert result_files(tmp_path) == []


def result_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.mark.parametrize("args", [["migrate"], ["issuer", "list"], ["serve", "--port", "0"]])
def test_an_unreachable_database_is_one_line_without_the_password(
    args: list[str], tmp_path: Path
) -> None:
    url = f"postgresql+asyncpg://microcred:s3cret-pw@127.0.0.1:{free_port()}/none"
    result = microcred(
        args,
        tmp_path,
        env="production",
        admin_token=ADMIN_TOKEN,
        master_key=new_master_key(),
        database_url=url,
    )
    line = assert_one_line_error(result, 1)
    assert "database" in line and "s3cret-pw" not in line


def test_a_missing_master_key_in_production_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = microcred(["migrate"], tmp_path, env="production", admin_token=ADMIN_TOKEN)
    line = assert_one_line_error(result, 2)
    assert "MICROCRED_MASTER_KEY" in line and "MICROCRED_ADMIN_TOKEN" not in line


def test_the_command_reads_env_local_by_itself(tmp_path: Path) -> None:
    # No settings and no .env.local: production, which needs secrets.
    assert_one_line_error(microcred(["migrate"], tmp_path), 2)
    # Development once (what `make run` does): .env.local is written...
    first = microcred(["migrate"], tmp_path, env="development")
    assert first.returncode == 0, first.stderr
    written = (tmp_path / ".env.local").read_text()
    assert "MICROCRED_ENV=development" in written and "MICROCRED_MASTER_KEY=" in written
    assert (tmp_path / "data" / "microcred.db").is_file()
    # ...and later commands, with no MICROCRED_* variable at all, use it and the same database.
    created = microcred(ISSUER, tmp_path)
    assert created.returncode == 0, created.stderr
    listed = microcred(["issuer", "list"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [issuer["slug"] for issuer in json.loads(listed.stdout)] == ["uni-cli"]
    # An explicit other mode is not overridden by the file.
    assert_one_line_error(microcred(["issuer", "list"], tmp_path, env="production"), 2)
