"""The ``microcred`` command: serve, migrate, openapi, and administration commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app.config import (
    PROJECT_ROOT,
    ConfigurationError,
    ensure_development_secrets,
    get_settings,
)


def alembic_config(database_url: str) -> object:
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate(database_url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)  # type: ignore[arg-type]


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)  # type: ignore[arg-type]


def _prepare_environment() -> None:
    """Development mode: make and load local secrets once, and say so once."""
    import os

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
    import uvicorn

    settings = get_settings()
    migrate(settings.database_url)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from app.openapi import openapi_yaml

    sys.stdout.write(openapi_yaml())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="microcred", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply migrations and serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=cmd_serve)

    migrate_cmd = commands.add_parser("migrate", help="apply database migrations")
    migrate_cmd.set_defaults(handler=cmd_migrate)

    openapi_cmd = commands.add_parser("openapi", help="print the OpenAPI document as YAML")
    openapi_cmd.set_defaults(handler=cmd_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _prepare_environment()
        handler = args.handler
        result: int = handler(args)
        return result
    except ConfigurationError as exc:
        print(f"microcred: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
