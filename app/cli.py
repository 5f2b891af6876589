"""The ``microcred`` command: serve, migrate, openapi, and administration commands.

Every mistake (an unknown command, a bad option, a missing secret, a database that cannot be
reached) ends in one line on stderr and a non-zero exit, never a traceback. In a folder with a
``.env.local`` (what ``make run`` writes: ``MICROCRED_ENV=development`` and local secrets), the
command reads its settings from it, unless the environment sets another ``MICROCRED_ENV``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

from alembic.util.exc import CommandError
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import (
    ConfigurationError,
    Settings,
    dev_secrets_file,
    ensure_development_secrets,
    get_settings,
    load_development_settings,
)
from app.problems import Problem
from app.resources import MIGRATIONS_DIR, PackageDataError
from app.services import audit
from app.services.apikeys import SCOPES

DESCRIPTION = "Issue and verify EU micro-credentials as W3C Verifiable Credentials."
EPILOG = """settings come from MICROCRED_* environment variables (see README.md), or from
.env.local in the working directory (written by 'make run'); 'microcred COMMAND --help'
describes a command"""


def alembic_config(database_url: str) -> object:
    from alembic.config import Config

    config = Config()  # no alembic.ini: the migrations are package data (app/resources.py)
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


class DatabaseUnusable(RuntimeError):
    """The database cannot be reached or used (the message is one line, without the URL)."""


@contextmanager
def _database_errors() -> Iterator[None]:
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnusable(_database_error(exc)) from exc


def migrate(database_url: str, revision: str = "head") -> None:
    from alembic import command

    with _database_errors():
        command.upgrade(alembic_config(database_url), revision)  # type: ignore[arg-type]


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)  # type: ignore[arg-type]


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

    with _database_errors():
        asyncio.run(run())
    return 0


def _run_with_session(work: Callable[[AsyncSession, Settings], Awaitable[object]]) -> object:
    """Run one admin operation in a transaction, as the HTTP admin API would."""
    from app.db.engine import create_engine, session_factory

    settings = get_settings()

    async def run() -> object:
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await work(session, settings)
        finally:
            await engine.dispose()

    with _database_errors():
        return asyncio.run(run())


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def cmd_issuer_create(args: argparse.Namespace) -> int:
    from app.schemas import IssuerCreateRequest
    from app.services.admin import create_issuer_from

    body = IssuerCreateRequest.model_validate(
        {
            "slug": args.slug,
            "name": dict(_lang_pair(n) for n in args.name),
            "country": args.country,
            "legalIdentifier": args.legal_identifier,
            "homepage": args.homepage,
            "didMethod": args.did_method,
            "suspensionEnabled": args.suspension,
        }
    )

    async def work(session: AsyncSession, settings: Settings) -> object:
        return (await create_issuer_from(session, body, settings)).model_dump(mode="json")

    _print_json(_run_with_session(work))
    return 0


def _lang_pair(text: str) -> tuple[str, str]:
    lang, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--name takes LANG=TEXT, got {text!r}")
    return lang, value


def cmd_issuer_show(args: argparse.Namespace) -> int:
    from app.services import issuers
    from app.services.admin import issuer_out

    async def work(session: AsyncSession, settings: Settings) -> object:
        found = (
            [await issuers.get_issuer(session, args.slug)]
            if args.slug
            else (await issuers.list_issuers(session))
        )
        return [
            issuer_out(i, await issuers.keys_of(session, i.id or 0)).model_dump(mode="json")
            for i in found
        ]

    _print_json(_run_with_session(work))
    return 0


def cmd_issuer_rotate(args: argparse.Namespace) -> int:
    from app.services import issuers
    from app.services.admin import key_out

    async def work(session: AsyncSession, settings: Settings) -> object:
        issuer = await issuers.get_issuer(session, args.slug)
        key = await issuers.rotate_key(session, issuer, master_key=settings.master_key_bytes)
        return key_out(key).model_dump(mode="json")

    _print_json(_run_with_session(work))
    return 0


def cmd_issuer_revoke_key(args: argparse.Namespace) -> int:
    from app.services import issuers
    from app.services.admin import key_out

    async def work(session: AsyncSession, settings: Settings) -> object:
        issuer = await issuers.get_issuer(session, args.slug)
        return key_out(await issuers.revoke_key(session, issuer, args.key_id)).model_dump(
            mode="json"
        )

    _print_json(_run_with_session(work))
    return 0


def cmd_api_key_create(args: argparse.Namespace) -> int:
    from app.schemas import ApiKeyCreateRequest
    from app.services import apikeys, issuers

    body = ApiKeyCreateRequest.model_validate({"name": args.name, "scopes": args.scope})

    async def work(session: AsyncSession, settings: Settings) -> object:
        issuer = await issuers.get_issuer(session, args.slug)
        row, key = await apikeys.create_api_key(session, issuer, name=body.name, scopes=body.scopes)
        return {"id": row.id, "name": row.name, "scopes": row.scopes, "key": key}

    _print_json(_run_with_session(work))
    return 0


def cmd_api_key_delete(args: argparse.Namespace) -> int:
    from app.services import apikeys, issuers

    async def work(session: AsyncSession, settings: Settings) -> object:
        issuer = await issuers.get_issuer(session, args.slug)
        await apikeys.delete_api_key(session, issuer, args.key_id)
        return {"deleted": args.key_id}

    _print_json(_run_with_session(work))
    return 0


def cmd_credential_status(args: argparse.Namespace) -> int:
    from app.services import issuance, issuers, status

    purpose, value = {
        "revoke": (status.REVOCATION, True),
        "suspend": (status.SUSPENSION, True),
        "unsuspend": (status.SUSPENSION, False),
    }[args.change]

    async def work(session: AsyncSession, settings: Settings) -> object:
        issuer = await issuers.get_issuer(session, args.slug)
        credential = await issuance.find_credential(session, issuer, args.credential_id)
        flags = await status.set_status(
            session, credential, purpose, value, actor=audit.ADMIN, reason=args.reason
        )
        return {"credentialId": args.credential_id, **flags}

    _print_json(_run_with_session(work))
    return 0


def _course_file(path: str) -> object:
    """The JSON course body in ``path`` (``-``: standard input)."""
    from pathlib import Path

    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None


def cmd_course(args: argparse.Namespace) -> int:
    """``course create|list|show|update``: the services ``POST/GET/PUT /courses`` call."""
    from app.credentials.course import CourseIn
    from app.services import courses, issuers

    body = CourseIn.model_validate(_course_file(args.file)) if "file" in args else None

    async def work(session: AsyncSession, settings: Settings) -> object:
        issuer = await issuers.get_issuer(session, args.slug)
        base = settings.public_url
        if args.action == "create":
            state = await courses.create_course(session, issuer, body, actor=audit.ADMIN)
        elif args.action == "update":
            state = await courses.update_course(
                session, issuer, args.course_id, body, actor=audit.ADMIN
            )
        elif args.action == "show":
            state = await courses.get_course(session, issuer, args.course_id, args.version)
        else:
            listed = await courses.list_courses(session, issuer)
            return [courses.describe(s, issuer, base) for s in listed]
        return courses.describe(state, issuer, base)

    _print_json(_run_with_session(work))
    return 0


def cmd_issue(args: argparse.Namespace) -> int:
    """``issue --course ID --file FILE SLUG``: a cohort (:mod:`app.cli_issue`)."""
    from app.cli_issue import issue_cohort

    with _database_errors():
        return issue_cohort(args)


def cmd_trust_put(args: argparse.Namespace) -> int:
    from app.schemas import Did, TrustEntryRequest
    from app.services.admin import put_trusted_from

    did = TypeAdapter(Did).validate_python(args.did)
    try:
        accreditation = json.loads(args.accreditation) if args.accreditation else None
    except ValueError:
        print("microcred: --accreditation is not JSON", file=sys.stderr)
        return 2
    body = TrustEntryRequest.model_validate(
        {
            "legalName": args.legal_name,
            "country": args.country,
            "legalIdentifier": args.legal_identifier,
            "accreditation": accreditation,
            "note": args.note,
        }
    )

    async def work(session: AsyncSession, settings: Settings) -> object:
        return (await put_trusted_from(session, did, body)).model_dump(mode="json")

    _print_json(_run_with_session(work))
    return 0


def cmd_trust_remove(args: argparse.Namespace) -> int:
    from app.services import trust

    async def work(session: AsyncSession, settings: Settings) -> object:
        await trust.remove_entry(session, args.did)
        return None

    _run_with_session(work)
    return 0


def cmd_trust_list(args: argparse.Namespace) -> int:
    from app.services import trust
    from app.services.admin import trust_entry_out

    async def work(session: AsyncSession, settings: Settings) -> object:
        entries = await trust.list_entries(session)
        return [trust_entry_out(e).model_dump(mode="json") for e in entries]

    _print_json(_run_with_session(work))
    return 0


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


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _database_error(exc: SQLAlchemyError | OSError) -> str:
    """What went wrong with the database, without the URL (it may hold a password)."""
    reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if isinstance(reason, SQLAlchemyError):
        # SQLAlchemy appends a "Background on this error" link to its own messages.
        text = str(reason).split("(Background on this error", 1)[0]
    else:
        text = str(reason) or type(reason).__name__
    return f"the database (MICROCRED_DATABASE_URL) cannot be used: {_one_line(text)}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _prepare_environment()
        handler = args.handler
        result: int = handler(args)
        return result
    except (ConfigurationError, PackageDataError) as exc:
        print(f"microcred: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Problem as exc:
        print(f"microcred: {exc.title}: {_one_line(exc.detail or '')}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        for error in exc.errors():
            where = "/".join(str(part) for part in error["loc"])
            print(f"microcred: {where}: {_one_line(error['msg'])}", file=sys.stderr)
        return 1
    except DatabaseUnusable as exc:  # down, refusing us, or not where the URL says
        print(f"microcred: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:  # e.g. a folder that cannot be written, a bad file
        print(f"microcred: {_one_line(exc)}", file=sys.stderr)
        return 1
    except CommandError as exc:  # e.g. a database at a revision this version does not know
        print(f"microcred: migrations: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
