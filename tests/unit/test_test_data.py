"""The copied test data is what its READMEs say: each file listed with its sha256, none unlisted."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
FOLDERS = [
    "testvectors/eddsa",
    "testvectors/bitstring-status-list",
    "edc/samples",
    "edc/examples",
    "obv3",
]
ROW = re.compile(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", re.MULTILINE)


def listed(folder: Path) -> dict[str, str]:
    """File (relative to ``folder``) → sha256, from the table in ``folder/README.md``."""
    rows = ROW.findall((folder / "README.md").read_text(encoding="utf-8"))
    table = dict(rows)
    assert len(table) == len(rows), "a file is listed twice"
    return table


def present(folder: Path) -> set[str]:
    return {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and path.name != "README.md"
    }


@pytest.mark.parametrize("name", FOLDERS)
def test_every_file_has_the_sha256_its_readme_gives(name: str) -> None:
    folder = DATA / name
    table = listed(folder)
    assert table, f"{folder}/README.md lists no file"
    assert present(folder) == set(table)
    for file, sha256 in table.items():
        assert hashlib.sha256((folder / file).read_bytes()).hexdigest() == sha256, file


def test_every_file_of_the_test_data_belongs_to_a_listed_folder() -> None:
    covered = {f"{name}/{file}" for name in FOLDERS for file in listed(DATA / name)}
    assert present(DATA) == covered
    assert all((DATA / name / "README.md").is_file() for name in FOLDERS)
