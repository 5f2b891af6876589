"""The database from the command line: migrations (up and down), and every failure to reach or
use the database turned into :class:`DatabaseUnusable`, one line without the URL (it may hold a
password), which the ``microcred`` command prints instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from app.resources import MIGRATIONS_DIR


def alembic_config(database_url: str) -> object:
    from alembic.config import Config

    config = Config()  # no alembic.ini: the migrations are package data (app/resources.py)
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


class DatabaseUnusable(RuntimeError):
    """The database cannot be reached or used (the message is one line, without the URL)."""


@contextmanager
def database_errors() -> Iterator[None]:
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnusable(_database_error(exc)) from exc


def migrate(database_url: str, revision: str = "head") -> None:
    from alembic import command

    with database_errors():
        command.upgrade(alembic_config(database_url), revision)  # type: ignore[arg-type]


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)  # type: ignore[arg-type]


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def _database_error(exc: SQLAlchemyError | OSError) -> str:
    """What went wrong with the database, without the URL (it may hold a password)."""
    reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if isinstance(reason, SQLAlchemyError):
        # SQLAlchemy appends a "Background on this error" link to its own messages.
        text = str(reason).split("(Background on this error", 1)[0]
    else:
        text = str(reason) or type(reason).__name__
    return f"the database (MICROCRED_DATABASE_URL) cannot be used: {one_line(text)}"
