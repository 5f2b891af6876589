"""``microcred issue --course ID --file cohort.xlsx SLUG``: a cohort issued from the command line.

The job is the one ``POST /courses/{id}/cohorts`` makes (:mod:`app.services.cohorts`), run in
this process with a progress bar on standard error; if another instance's worker claims it
first, the bar follows that worker's progress instead. At the end the results file is written
(CSV, or XLSX when ``--out`` ends in ``.xlsx``) and a summary printed as JSON.

The bar is drawn in place (``\\r``) on a terminal; elsewhere (a pipe, a log) only the final line
is written, so logs do not fill with redraws.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from app.config import get_settings

#: Seconds between two looks at the job's progress.
POLL_SECONDS = 0.2
BAR_WIDTH = 30


@dataclass
class ProgressBar:
    """``label [#######.......] 420/1000  42%  3 failed``, redrawn in place on a terminal."""

    out: TextIO
    label: str
    tty: bool = field(init=False)
    _last: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.tty = self.out.isatty()

    @staticmethod
    def line(label: str, done: int, failed: int, total: int) -> str:
        finished = done + failed
        fraction = finished / total if total else 1.0
        filled = int(BAR_WIDTH * fraction)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        return f"{label} [{bar}] {finished}/{total} {fraction:4.0%}  {failed} failed"

    def update(self, done: int, failed: int, total: int) -> None:
        text = self.line(self.label, done, failed, total)
        if self.tty and text != self._last:
            self.out.write("\r" + text)
            self.out.flush()
        self._last = text

    def finish(self) -> None:
        self.out.write(("\r" if self.tty else "") + self._last + "\n")
        self.out.flush()


def results_path(args: argparse.Namespace) -> Path:
    if args.out:
        return Path(args.out)
    source = Path(args.file)
    return source.with_name(source.stem + ".results.csv")


def issue_cohort(args: argparse.Namespace) -> int:
    """Issue a cohort of a course from a CSV or XLSX file: 0 when every row was issued, 1 when
    a row failed (the results file says why)."""
    from app.cli_db import migrate
    from app.main import create_app
    from app.services import audit, cohorts, issuers, jobs, spreadsheets
    from app.state import state_of

    out = results_path(args)
    data = Path(args.file).read_bytes()
    settings = get_settings().model_copy(update={"jobs_runner": False, "log_level": "WARNING"})
    migrate(settings.database_url)

    async def run() -> dict[str, Any]:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            sessionmaker = state_of(app).sessionmaker
            async with sessionmaker() as session, session.begin():
                issuer = await issuers.get_issuer(session, args.slug)
                cohort = await cohorts.create_cohort(
                    session,
                    issuer,
                    args.course,
                    data,
                    format=args.format,
                    offers=args.offers,
                    actor=audit.ADMIN,
                )
                job_id = cohort.job.id
            runner = jobs.Runner(sessionmaker, services=state_of(app))
            work = None
            if await runner.claim(job_id=job_id) is not None:
                work = asyncio.create_task(runner.process(job_id))
            bar = ProgressBar(sys.stderr, Path(args.file).name)
            while True:
                async with sessionmaker() as session:
                    job = await jobs.find(session, issuer, job_id)
                    bar.update(job.done, job.failed, job.total)
                    if job.state in (jobs.DONE, jobs.FAILED):
                        header, lines = jobs.results_table(job, await jobs.rows_of(session, job))
                        break
                if work is not None and work.done():
                    work.result()  # a runner that stopped short raises here
                await asyncio.sleep(POLL_SECONDS)
            bar.finish()
            if work is not None:
                await work
        if out.suffix.lower() == ".xlsx":
            out.write_bytes(spreadsheets.write_xlsx(header, lines))
        else:
            out.write_bytes(spreadsheets.write_csv(header, lines))
        return {
            "job": job.id,
            "state": job.state,
            "course": args.course,
            "version": cohort.course.version.version,
            "total": job.total,
            "done": job.done,
            "failed": job.failed,
            "error": job.error,
            "results": str(out),
        }

    started = time.monotonic()
    summary = asyncio.run(run())
    summary["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(summary, indent=2))
    return 0 if summary["state"] == "done" and not summary["failed"] else 1
