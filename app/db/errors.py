"""What a database error means for the request: a value the database refused, or a database out
of reach (as opposed to a fault in what was asked). The HTTP layer turns each into its problem
(:mod:`app.api.problems`)."""

from __future__ import annotations

import traceback

from sqlalchemy import exc as sa_exc

#: Seconds a client should wait before retrying after the database was unreachable.
DATABASE_RETRY_AFTER = 5


def driver_error(exc: sa_exc.DBAPIError) -> BaseException | None:
    """The driver's own exception (SQLAlchemy's asyncpg adapter wraps it once more)."""
    orig = exc.orig
    return orig.__cause__ if orig is not None and orig.__cause__ is not None else orig


def database_refused_value(exc: BaseException) -> bool:
    """Whether the database refused a value sent with the request, not the request's shape.

    PostgreSQL text cannot hold U+0000 and its integers are bounded (SQLSTATE class 22, "data
    exception"; asyncpg checks some arguments itself and raises a ``ValueError``). SQLite takes
    both, so input that passed validation can still fail here, on one backend only.
    """
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if isinstance(exc, sa_exc.DataError):
        return True
    driver = driver_error(exc)
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return isinstance(driver, ValueError) or (
        isinstance(sqlstate, str) and sqlstate.startswith("22")
    )


def database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (or is too busy) right now.

    Connection-level failures only: a lost or refused connection, no pooled connection free in
    time, an operational error (SQLite "database is locked", a server shutting down). Errors in
    what was asked (constraint violations, bad SQL, refused values) stay what they are.
    """
    if isinstance(exc, sa_exc.TimeoutError):  # the pool had no connection to give in time
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError):
            return True
        return isinstance(exc, sa_exc.InterfaceError) and not database_refused_value(exc)
    # A driver's connect failure (refused, unknown host, "too many clients") reaches us
    # unwrapped; it is recognized by having been raised while the pool opened a connection.
    return any(
        str(frame.f_globals.get("__name__", "")).startswith("sqlalchemy.pool")
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )
