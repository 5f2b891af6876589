"""``microcred issue --course … --file …``: a cohort from the command line, its progress bar seen
in a real terminal (the command runs under a pseudo-terminal), the results file, and a second
run that issues nothing new."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import select
import sys
import time
from pathlib import Path

import pytest

from app.cli import main
from app.cli_issue import ProgressBar
from tests import processes
from tests.api.test_cohorts import BAD, as_csv, as_xlsx, cohort_rows
from tests.api.test_course_cli import ISSUER, cli_db  # noqa: F401 (a fixture)
from tests.api.test_courses import course_body

ROOT = Path(__file__).resolve().parents[2]
ROWS = 40


def under_a_terminal(command: list[str], within: float = 120) -> tuple[int, str]:
    """Run ``command`` with a pseudo-terminal as its standard output and error; its exit code
    and everything it wrote there."""
    leader, follower = os.openpty()
    try:
        process = processes.start(
            command,
            cwd=ROOT,
            env=dict(os.environ),
            stdin=follower,
            stdout=follower,
            stderr=follower,
        )
    finally:
        os.close(follower)
    seen = bytearray()
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side closed (the command ended)
                break
            if not chunk:
                break
            seen += chunk
        process.wait(timeout=30)
    finally:
        processes.stop(process)
        os.close(leader)
    return process.returncode, seen.decode("utf-8", "replace")


def test_the_bar_s_line() -> None:
    assert ProgressBar.line("c.csv", 0, 0, 10) == "c.csv [" + "." * 30 + "] 0/10   0%  0 failed"
    assert ProgressBar.line("c.csv", 7, 3, 10) == "c.csv [" + "#" * 30 + "] 10/10 100%  3 failed"


def test_issue_a_cohort_with_a_progress_bar_in_a_terminal(
    cli_db: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["migrate"]) == 0
    assert main(ISSUER) == 0
    body = cli_db / "course.json"
    body.write_text(json.dumps(course_body()), encoding="utf-8")
    capsys.readouterr()
    assert main(["course", "create", "uni-cli", str(body)]) == 0
    course_id = json.loads(capsys.readouterr().out)["id"]
    bad = {5: BAD[101]}
    cohort = cli_db / "cohort.csv"
    cohort.write_bytes(as_csv(cohort_rows(ROWS, bad)))
    out = cli_db / "results.csv"

    command = [sys.executable, "-m", "app.cli", "issue", "uni-cli", "--course", course_id]
    command += ["--file", str(cohort), "--format", "obv3", "--out", str(out)]
    code, seen = under_a_terminal(command)
    assert code == 1, seen  # a row failed
    # redrawn in place: several states of the bar, each after a carriage return, then the end
    frames = re.findall(r"\rcohort\.csv \[[#.]{30}\] (\d+)/40 +\d+%  (\d+) failed", seen)
    assert len(frames) >= 2, seen
    assert frames[0] != frames[-1] and frames[-1] == ("40", "1")
    assert [int(n) for n, _ in frames] == sorted(int(n) for n, _ in frames)
    assert "\rcohort.csv [" + "#" * 30 + "] 40/40 100%  1 failed\r\n" in seen
    summary = json.loads(seen[seen.index('{\r\n  "job"') :].replace("\r\n", "\n"))
    assert (summary["state"], summary["total"], summary["done"], summary["failed"]) == (
        "done",
        ROWS,
        ROWS - 1,
        1,
    )
    assert summary["results"] == str(out)
    results = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    failed = [(r["row"], r["column"]) for r in results if r["outcome"] == "failed"]
    assert failed == [("5", "awarded on")]
    issued = {r["row"]: r["credentialId"] for r in results if r["outcome"] == "done"}
    assert len(set(issued.values())) == ROWS - 1 and all(issued.values())

    # The same learners again, as XLSX, without a terminal: nothing new, the same credentials;
    # only the bar's last line is written.
    again = cli_db / "again.xlsx"
    again.write_bytes(as_xlsx(cohort_rows(ROWS, bad)))
    capsys.readouterr()
    code = main(
        ["issue", "uni-cli", "--course", course_id, "--file", str(again)]
        + ["--format", "obv3", "--out", str(cli_db / "again.xlsx.csv")]
    )
    assert code == 1
    captured = capsys.readouterr()
    assert "\r" not in captured.err
    assert captured.err.strip().endswith("40/40 100%  1 failed")
    second = list(csv.DictReader(io.StringIO((cli_db / "again.xlsx.csv").read_text("utf-8-sig"))))
    assert {r["row"]: r["credentialId"] for r in second if r["outcome"] == "done"} == issued
    assert json.loads(captured.out)["done"] == ROWS - 1

    missing = main(["issue", "uni-cli", "--course", "nope", "--file", str(cohort)])
    assert missing == 1
    assert "Course not found" in capsys.readouterr().err
