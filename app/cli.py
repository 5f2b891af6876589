"""The ``microcred`` command: serve, worker, migrate, openapi, and the administration commands
(:mod:`app.cli_admin`); the database part is in :mod:`app.cli_db`.

Every mistake (an unknown command, a bad option, a missing secret, a database that cannot be
reached) ends in one line on stderr and a non-zero exit, never a traceback. In a folder with a
``.env.local`` (what ``make run`` writes: ``MICROCRED_ENV=development`` and local secrets), the
command reads its settings from it, unless the environment sets another ``MICROCRED_ENV``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from alembic.util.exc import CommandError
from pydantic import ValidationError

from app.cli_admin import (
    cmd_api_key_create,
    cmd_api_key_delete,
    cmd_course,
    cmd_credential_status,
    cmd_issuer_create,
    cmd_issuer_revoke_key,
    cmd_issuer_rotate,
    cmd_issuer_show,
    cmd_trust_list,
    cmd_trust_put,
    cmd_trust_remove,
)
from app.cli_db import DatabaseUnusable, database_errors, migrate, one_line
from app.config import (
    ConfigurationError,
    dev_secrets_file,
    ensure_development_secrets,
    get_settings,
    load_development_settings,
)
from app.problems import Problem
from app.resources import PackageDataError
from app.services.apikeys import SCOPES

DESCRIPTION = "Issue and verify EU micro-credentials as W3C Verifiable Credentials."
EPILOG = """settings come from MICROCRED_* environment variables (see README.md), or from
.env.local in the working directory (written by 'make run'); 'microcred COMMAND --help'
describes a command"""


def _prepare_environment() -> None:
    """Read ``.env.local`` unless the environment asks for another mode; in development, make
    the local secrets once and say so once."""
    if os.environ.get("MICROCRED_ENV", "development") == "development":
        load_development_settings(dev_secrets_file())
    if os.environ.get("MICROCRED_ENV") == "development" and ensure_development_secrets():
        print(
            "microcred: development secrets were created in .env.local (keep it private):\n"
            f"  MICROCRED_ADMIN_TOKEN={os.environ['MICROCRED_ADMIN_TOKEN']}\n"
            "  use it as 'Authorization: Bearer <token>' on /admin/*",
            file=sys.stderr,
        )


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = get_settings()
    migrate(settings.database_url)
    print("microcred: database is at the latest schema", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from app.serve import serve

    if (
        os.environ.get("MICROCRED_ENV") == "development"
        and "MICROCRED_PUBLIC_URL" not in os.environ
    ):
        # A local trial: DIDs and status-list URLs name the address actually served.
        os.environ["MICROCRED_PUBLIC_URL"] = f"http://{args.host}:{args.port}"
        get_settings.cache_clear()
    settings = get_settings()
    migrate(settings.database_url)
    return serve(args.host, args.port, args.workers, settings.log_level.lower())


def cmd_worker(args: argparse.Namespace) -> int:
    """Run background jobs (no HTTP) until SIGTERM or Ctrl-C; as many as wanted, anywhere that
    reaches the database."""
    import signal

    from app.main import create_app
    from app.state import state_of

    settings = get_settings().model_copy(update={"jobs_runner": True})
    migrate(settings.database_url)

    async def run() -> None:
        app = create_app(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with app.router.lifespan_context(app):
            runner = state_of(app).job_runner
            assert runner is not None  # jobs_runner is on
            print(f"microcred: worker {runner.owner} polling", file=sys.stderr)
            await stop.wait()

    with database_errors():
        asyncio.run(run())
    return 0


def cmd_issue(args: argparse.Namespace) -> int:
    """``issue --course ID --file FILE SLUG``: a cohort (:mod:`app.cli_issue`)."""
    from app.cli_issue import issue_cohort

    with database_errors():
        return issue_cohort(args)


def cmd_openapi(args: argparse.Namespace) -> int:
    from app.openapi import openapi_yaml

    sys.stdout.write(openapi_yaml())
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake reported in one line (``--help`` shows the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="microcred",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(
        dest="command", required=True, title="commands", metavar="COMMAND"
    )

    serve = commands.add_parser("serve", help="apply migrations and serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="run background jobs (cohorts, bulk status)")
    worker.set_defaults(handler=cmd_worker)

    migrate_cmd = commands.add_parser("migrate", help="apply database migrations")
    migrate_cmd.set_defaults(handler=cmd_migrate)

    openapi_cmd = commands.add_parser("openapi", help="print the OpenAPI document as YAML")
    openapi_cmd.set_defaults(handler=cmd_openapi)

    issuer = commands.add_parser("issuer", help="manage issuers and their signing keys")
    issuer_commands = issuer.add_subparsers(dest="issuer_command", required=True)
    create = issuer_commands.add_parser("create", help="create an issuer with a new key")
    create.add_argument("slug")
    create.add_argument("--name", action="append", required=True, help="LANG=TEXT, repeatable")
    create.add_argument("--country", required=True, help="ISO 3166-1 alpha-3, e.g. IRL")
    create.add_argument("--legal-identifier", required=True)
    create.add_argument("--homepage")
    create.add_argument("--did-method", choices=["web", "key"], default="web")
    create.add_argument(
        "--suspension", action="store_true", help="credentials also get a suspension entry"
    )
    create.set_defaults(handler=cmd_issuer_create)
    show = issuer_commands.add_parser("list", help="show one issuer or all")
    show.add_argument("slug", nargs="?")
    show.set_defaults(handler=cmd_issuer_show)
    rotate = issuer_commands.add_parser("rotate-key", help="a new key signs from now on")
    rotate.add_argument("slug")
    rotate.set_defaults(handler=cmd_issuer_rotate)
    revoke = issuer_commands.add_parser("revoke-key", help="revoke a compromised key")
    revoke.add_argument("slug")
    revoke.add_argument("key_id", help="e.g. key-1")
    revoke.set_defaults(handler=cmd_issuer_revoke_key)

    api_key = commands.add_parser("api-key", help="manage issuer API keys")
    api_key_commands = api_key.add_subparsers(dest="api_key_command", required=True)
    make = api_key_commands.add_parser("create", help="make a key (shown once)")
    make.add_argument("slug")
    make.add_argument("--name", required=True)
    make.add_argument(
        "--scope", action="append", required=True, choices=list(SCOPES), help="repeatable"
    )
    make.set_defaults(handler=cmd_api_key_create)
    delete = api_key_commands.add_parser("delete", help="delete a key; it stops working at once")
    delete.add_argument("slug")
    delete.add_argument("key_id")
    delete.set_defaults(handler=cmd_api_key_delete)

    trusted = commands.add_parser("trust", help="the service's own issuer trust list")
    trust_commands = trusted.add_subparsers(dest="trust_command", required=True)
    put = trust_commands.add_parser("put", help="vouch for an issuer DID (or replace its entry)")
    put.add_argument("did")
    put.add_argument("--legal-name", required=True)
    put.add_argument("--country", required=True, help="ISO 3166-1 alpha-3")
    put.add_argument("--legal-identifier", required=True)
    put.add_argument("--accreditation", help="JSON object: the evidence of accreditation")
    put.add_argument("--note")
    put.set_defaults(handler=cmd_trust_put)
    remove = trust_commands.add_parser("remove", help="take an issuer DID off the list")
    remove.add_argument("did")
    remove.set_defaults(handler=cmd_trust_remove)
    trust_commands.add_parser("list", help="show the list").set_defaults(handler=cmd_trust_list)

    course = commands.add_parser("course", help="an issuer's courses (JSON files as in the API)")
    course_commands = course.add_subparsers(dest="action", required=True)
    for action, text in (
        ("create", "describe a course (version 1) from a JSON file"),
        ("list", "the issuer's courses at their current version"),
        ("show", "one course, at its current version or --version"),
        ("update", "replace the current version, or make the next one if it has credentials"),
    ):
        command = course_commands.add_parser(action, help=text)
        command.add_argument("slug", help="the issuer")
        if action in ("show", "update"):
            command.add_argument("course_id")
        if action in ("create", "update"):
            command.add_argument("file", help="the course body as JSON ('-': standard input)")
        if action == "show":
            command.add_argument("--version", type=int)
        command.set_defaults(handler=cmd_course)

    issue = commands.add_parser(
        "issue",
        help="issue a course's cohort from a spreadsheet, with a progress bar",
        description="Issue a credential (or, with --offers, a wallet offer and PIN) to each "
        "learner of a CSV or XLSX file (the columns of GET /courses/{id}/template.csv) from the "
        "course's current version, showing progress; then write the results file. Rows issued "
        "before (same course version, format and values) are not issued again. Exits 1 when a "
        "row failed.",
    )
    issue.add_argument("slug", help="the issuer")
    issue.add_argument("--course", required=True, help="the course id")
    issue.add_argument("--file", required=True, help="the cohort, CSV (UTF-8) or XLSX")
    issue.add_argument("--format", choices=["edc", "obv3"], default="edc")
    issue.add_argument("--offers", action="store_true", help="wallet offers with PINs instead")
    issue.add_argument(
        "--out", help="the results file, .csv or .xlsx (default: FILE's name + .results.csv)"
    )
    issue.set_defaults(handler=cmd_issue)

    credential = commands.add_parser("credential", help="revoke, suspend or unsuspend")
    credential_commands = credential.add_subparsers(dest="change", required=True)
    for change, text in (
        ("revoke", "revoke a credential (final)"),
        ("suspend", "suspend a credential"),
        ("unsuspend", "lift a suspension"),
    ):
        command = credential_commands.add_parser(change, help=text)
        command.add_argument("slug", help="the issuer")
        command.add_argument("credential_id")
        command.add_argument("--reason")
        command.set_defaults(handler=cmd_credential_status)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _prepare_environment()
        handler = args.handler
        result: int = handler(args)
        return result
    except (ConfigurationError, PackageDataError) as exc:
        print(f"microcred: {one_line(exc)}", file=sys.stderr)
        return 2
    except Problem as exc:
        print(f"microcred: {exc.title}: {one_line(exc.detail or '')}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        for error in exc.errors():
            where = "/".join(str(part) for part in error["loc"])
            print(f"microcred: {where}: {one_line(error['msg'])}", file=sys.stderr)
        return 1
    except DatabaseUnusable as exc:  # down, refusing us, or not where the URL says
        print(f"microcred: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:  # e.g. a folder that cannot be written, a bad file
        print(f"microcred: {one_line(exc)}", file=sys.stderr)
        return 1
    except CommandError as exc:  # e.g. a database at a revision this version does not know
        print(f"microcred: migrations: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
