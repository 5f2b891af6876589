"""The store step of issuing: a credential, its status entries, its audit row and the lists' counts.

Written as Core statements, without the ORM's unit of work. PostgreSQL runs it as one statement:
in autocommit where the step is its transaction's only work (:func:`store_alone`), in a
savepoint of the caller's transaction otherwise (:func:`store_within`); SQLite runs the
statements in turn. Either way a status index
or idempotency key stored meanwhile by another request raises ``IntegrityError`` and nothing of
the step is kept.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam, insert, literal, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.engine import on_postgresql
from app.db.models import AuditEvent, Credential, StatusEntry, StatusList

_CREDENTIALS = Credential.__table__  # type: ignore[attr-defined]
_ENTRIES = StatusEntry.__table__  # type: ignore[attr-defined]
_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_LISTS = StatusList.__table__  # type: ignore[attr-defined]

_INSERT_CREDENTIAL = insert(_CREDENTIALS)
_INSERT_ENTRIES = insert(_ENTRIES)
_INSERT_EVENT = insert(_EVENTS)
_COUNT = (
    update(_LISTS)
    .where(_LISTS.c.id == bindparam("list_id"))
    .values(allocated=_LISTS.c.allocated + 1)
)
_COUNT_BY = (
    update(_LISTS)
    .where(_LISTS.c.id == bindparam("list_id"))
    .values(allocated=_LISTS.c.allocated + bindparam("by"))
)


@dataclass(frozen=True)
class IssuedRows:
    """What one issued credential adds: its row, its status entries and its audit row."""

    credential: dict[str, Any]
    entries: list[dict[str, Any]]
    event: dict[str, Any]

    @property
    def counted(self) -> list[str]:
        """The status lists whose ``allocated`` count grows, in a fixed order: two transactions
        counting the same lists cannot deadlock."""
        return sorted(entry["list_id"] for entry in self.entries)


async def insert_audit_event(session: AsyncSession, event: dict[str, Any]) -> None:
    """Insert one ``audit_events`` row now, in the session's transaction."""
    await session.exec(_INSERT_EVENT, params=event)


async def store_alone(session: AsyncSession, rows: IssuedRows) -> None:
    """The store step as the only work of a transaction that has not begun; the caller commits
    (or rolls back on ``IntegrityError``) right after.

    On PostgreSQL the credential, its entries, the audit row and the counts are data-modifying
    CTEs of one statement (:func:`_store_statement`) run in autocommit: atomic on its own, one
    round trip instead of six (BEGIN, four statements, COMMIT), and the list rows locked only
    while it runs. On SQLite the statements run in turn in the transaction they begin.
    """
    if not on_postgresql(session):
        await _store_step_by_step(session, rows)
        return
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    await _store_in_one(session, rows, rows.counted)


async def _store_in_one(session: AsyncSession, rows: IssuedRows, counted: list[str]) -> None:
    """The store step as one PostgreSQL statement (:func:`_store_statement`), adding one to the
    ``allocated`` count of each list in ``counted``."""
    params = {f"credential_{name}": value for name, value in rows.credential.items()}
    for number, row in enumerate(rows.entries):
        params.update({f"entry{number}_{name}": value for name, value in row.items()})
    params.update({f"event_{name}": value for name, value in rows.event.items()})
    params["counted"] = counted
    await session.exec(_store_statement(len(rows.entries)), params=params)


async def store_within(
    session: AsyncSession, rows: IssuedRows, counts: Counter[str] | None = None
) -> None:
    """The store step inside the caller's transaction, in a savepoint: on ``IntegrityError``
    the savepoint is rolled back and the caller's other work is kept.

    With ``counts`` the lists' counts are added there instead of written: the caller writes
    them (:func:`add_counts`) at the end of a transaction that stores several credentials, so
    that the list rows, which every issue of the issuer updates, stay locked only from then on.
    """
    async with session.begin_nested():
        if on_postgresql(session):  # one round trip rather than three or four
            await _store_in_one(session, rows, rows.counted if counts is None else [])
        else:
            await _store_step_by_step(session, rows, count=counts is None)
    if counts is not None:
        counts.update(rows.counted)


async def add_counts(session: AsyncSession, counts: Counter[str]) -> None:
    """Write the lists' counts gathered by :func:`store_within` (in a fixed order: two
    transactions counting the same lists cannot deadlock)."""
    for list_id in sorted(counts):
        await session.exec(_COUNT_BY, params={"list_id": list_id, "by": counts[list_id]})


async def _store_step_by_step(session: AsyncSession, rows: IssuedRows, count: bool = True) -> None:
    await session.exec(_INSERT_CREDENTIAL, params=rows.credential)
    if rows.entries:  # a credential issued without a status entry has none to store
        await session.exec(_INSERT_ENTRIES, params=rows.entries)
    await insert_audit_event(session, rows.event)
    # Last: every issue of the issuer updates the same list row, which stays locked until the
    # transaction ends.
    for list_id in rows.counted if count else ():
        await session.exec(_COUNT, params={"list_id": list_id})


@cache
def _store_statement(entries: int) -> Any:
    """The store step with ``entries`` status entries as one PostgreSQL statement."""
    tables = {
        "credential": _CREDENTIALS,
        "event": _EVENTS,
        **{f"entry{n}": _ENTRIES for n in range(entries)},
    }
    inserts = [
        insert(table)
        .values(
            {
                c.name: bindparam(f"{prefix}_{c.name}", type_=c.type)
                for c in table.c
                if c is not table.autoincrement_column  # the audit event's id
            }
        )
        .cte(prefix)
        for prefix, table in tables.items()
    ]
    counts = (
        update(_LISTS)
        .where(_LISTS.c.id.in_(bindparam("counted", expanding=True)))
        .values(allocated=_LISTS.c.allocated + 1)
        .cte("counts")
    )
    return select(literal(1)).add_cte(*inserts, counts)
