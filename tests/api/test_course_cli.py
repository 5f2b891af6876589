"""``microcred course create|list|show|update``: JSON files in, the services' replies out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.config import get_settings, new_master_key
from tests.api.test_courses import course_body
from tests.conftest import ADMIN_TOKEN

ISSUER = ["issuer", "create", "uni-cli", "--name", "en=Uni", "--country", "IRL"]
ISSUER += ["--legal-identifier", "IE1"]


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("MICROCRED_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MICROCRED_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("MICROCRED_MASTER_KEY", new_master_key())
    monkeypatch.setenv("MICROCRED_PUBLIC_URL", "https://credentials.uni.example")
    monkeypatch.setenv("MICROCRED_ENV", "production")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_course_commands(cli_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(ISSUER) == 0
    capsys.readouterr()
    first = cli_db / "course.json"
    first.write_text(json.dumps(course_body()), encoding="utf-8")
    assert main(["course", "create", "uni-cli", str(first)]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["version"] == 1 and created["published"] is True
    assert created["publicUrl"] == (
        f"https://credentials.uni.example/catalogue/uni-cli/courses/{created['id']}/1"
    )

    edited = cli_db / "edited.json"
    edited.write_text(json.dumps(course_body(eqfLevel=7)), encoding="utf-8")
    assert main(["course", "update", "uni-cli", created["id"], str(edited)]) == 0
    assert json.loads(capsys.readouterr().out)["eqfLevel"] == 7  # not frozen: same version
    assert main(["course", "show", "uni-cli", created["id"], "--version", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["eqfLevel"] == 7
    assert main(["course", "list", "uni-cli"]) == 0
    assert [c["id"] for c in json.loads(capsys.readouterr().out)] == [created["id"]]

    bad = cli_db / "bad.json"
    bad.write_text(json.dumps(course_body(eqfLevel=12)), encoding="utf-8")
    assert main(["course", "create", "uni-cli", str(bad)]) == 1
    assert "eqfLevel" in capsys.readouterr().err
    (cli_db / "not.json").write_text("{", encoding="utf-8")
    assert main(["course", "create", "uni-cli", str(cli_db / "not.json")]) == 1
    assert "not JSON" in capsys.readouterr().err
    assert main(["course", "show", "uni-cli", "no-such-course"]) == 1
    assert "Course not found" in capsys.readouterr().err
