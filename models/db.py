"""Database set-up: the Tortoise config, aerich migrations per dialect, and reference data."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from aerich import Command
from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.context import TortoiseContext, _current_context
from tortoise.fields.base import Field
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models import MODEL_MODULES

MIGRATIONS_ROOT = Path(__file__).resolve().parent.parent / "migrations"
REFERENCE_FILE = Path(__file__).resolve().parent.parent / "config" / "data" / "reference.json"


def dialect_of(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


def tortoise_config(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite://") and not database_url.startswith("sqlite://:memory:"):
        # An unusable folder is left for the database check to report (health says "down").
        with contextlib.suppress(OSError):
            Path(database_url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
    return {
        "connections": {"default": database_url},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def migrations_location(database_url: str) -> str:
    """One aerich migration set per dialect, generated from the same models."""
    return str(MIGRATIONS_ROOT / dialect_of(database_url))


def bind_orm(ctx: TortoiseContext) -> None:
    """Make `ctx` the ORM context of the running task (and of tasks it starts)."""
    _current_context.set(ctx)


def atomic() -> contextlib.AbstractAsyncContextManager[Any]:
    """A transaction, or the caller's when one is open.

    Nested, Tortoise would open a savepoint: two more round trips, and nothing here needs one,
    since an error inside rolls the caller's whole transaction back anyway."""
    if isinstance(connections.get("default"), TransactionalDBClient):
        return contextlib.nullcontext()
    return in_transaction()


async def raw_records(sql: str, values: list[Any]) -> list[Any]:
    """Run a SELECT written for PostgreSQL (`$1`… parameters) and return asyncpg's records as
    they come, with Tortoise's connection (so its transactions) and its error translation.

    Only for fast paths, where converting rows to dicts and models costs more than the query."""
    _, rows = await connections.get("default").execute_query(sql, values)
    return list(rows)


def on_postgres() -> bool:
    """Whether the default connection is PostgreSQL (for statements only it can run)."""
    return bool(connections.get("default").capabilities.dialect == "postgres")


# `insert_select`'s source for a row of parameters alone.
ONE_ROW = '(SELECT 1) AS "one"'


def insert_select(
    instance: Model, source: str, first: int, computed: dict[str, str] | None = None
) -> tuple[str, list[Any]]:
    """PostgreSQL: `INSERT INTO <table> (…) SELECT … FROM <source> RETURNING *` for an unsaved
    `instance`, to put in a statement of several steps (a `WITH` query).

    The values are those Tortoise's own insert would write (defaults, `auto_now_add`), each
    parameter cast to its column's type, since a SELECT list gives its parameters none; the
    columns named in `computed` take an SQL expression over `source` instead. `{first}`,
    `{first + 1}`… mark the parameters, as `raw_query` takes them."""
    sql, fields = _insert_shape(type(instance), source, first, tuple(computed.items()) if computed else ())
    return sql, [field.to_db_value(getattr(instance, name), instance) for name, field in fields]


@functools.lru_cache(maxsize=64)
def _insert_shape(
    model: type[Model], source: str, first: int, computed: tuple[tuple[str, str], ...]
) -> tuple[str, tuple[tuple[str, Field[Any]], ...]]:
    """`insert_select`'s statement and the fields whose values it takes, in parameter order: the
    same for every row of a call site, built once (walking the model's fields cost a job-starting
    request more than encoding its values)."""
    meta = model._meta
    expressions = dict(computed)
    columns: list[str] = []
    selected: list[str] = []
    fields: list[tuple[str, Field[Any]]] = []
    for name, column in meta.fields_db_projection.items():
        field = meta.fields_map[name]
        if field.generated:
            continue
        columns.append(f'"{column}"')
        if column in expressions:
            selected.append(expressions[column])
            continue
        selected.append(f"{{{first + len(fields)}}}::{field.get_for_dialect('postgres', 'SQL_TYPE')}")
        fields.append((name, field))
    sql = f'INSERT INTO "{meta.db_table}" ({", ".join(columns)}) SELECT {", ".join(selected)} FROM {source} RETURNING *'
    return sql, tuple(fields)


# A kind's begin statement with the model of the row it returns: the statement made over a row
# source with a job's columns (`UPDATE … FROM <source> … RETURNING` at most one row of the model).
BeginStep = tuple[type[Model], Callable[[str], str]]


def prefixed_columns(model: type[Model], source: str, prefix: str) -> str:
    """`, <source>."<column>" AS "<prefix><column>"` for every column of `model`: a row of it
    selected beside another's in one result row (`popped_row` takes it back out)."""
    return "".join(f', {source}."{c}" AS "{prefix}{c}"' for c in model._meta.fields_db_projection.values())


def popped_row(row: dict[str, Any], model: type[Model], prefix: str) -> Model | None:
    """The `model` row selected with `prefixed_columns` (taken out of `row`); None when the row
    source it came from had none (a `LEFT JOIN` of nothing)."""
    made = {c: row.pop(f"{prefix}{c}") for c in model._meta.fields_db_projection.values()}
    return None if made[model._meta.db_pk_column] is None else model._init_from_db(**made)


async def locked_ids(model: type[Model], ids: Iterable[int]) -> set[int]:
    """Which of `ids` are rows of `model`, locked until the caller's transaction ends (PostgreSQL,
    in id order; SQLite runs one transaction at a time). Tortoise leaves `FOR UPDATE` out of
    `values_list()` and `exists()` queries, so `select_for_update()` can't lock rows this way."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    marks = ",".join(f"{{{n}}}" for n in range(len(wanted)))
    lock = " FOR UPDATE" if on_postgres() else ""
    sql = f'SELECT "id" FROM "{model._meta.db_table}" WHERE "id" IN ({marks}) ORDER BY "id"{lock}'
    return {row["id"] for row in await raw_query(sql, wanted)}


async def save_changes(row: Model, changes: dict[str, Any]) -> Any:
    """Apply `changes` to `row` and write those fields only (with `updated_at`): a column that a
    job or another request changed since `row` was read (a status, a count, a password hash, a
    sync status) is not written back as it was then."""
    row.update_from_dict(changes)
    touched = ["updated_at"] if "updated_at" in row._meta.fields_map else []
    await row.save(update_fields=[*changes, *touched])
    return row


async def raw_query(sql: str, values: list[Any]) -> list[dict[str, Any]]:
    """Run hand-written SQL on the default connection; `{0}`, `{1}`… mark the parameters.

    Only for hot paths where the ORM's query building costs more than the query itself.
    """
    conn = connections.get("default")
    numbered = _numbered(sql, conn.capabilities.dialect == "postgres", len(values))
    return list(await conn.execute_query_dict(numbered, values))


@functools.lru_cache(maxsize=256)
def _numbered(sql: str, postgres: bool, count: int) -> str:
    """`sql` with its `{n}` marks as the dialect's numbered parameters (`$n`, or `?n` in SQLite,
    so a parameter may appear out of order or twice); a hot statement is formatted once."""
    return sql.format(*(f"${n + 1}" if postgres else f"?{n + 1}" for n in range(count)))


def unicode_upper(value: Any) -> Any:
    """SQLite's `upper()` with Unicode case mapping, one character for one as PostgreSQL maps
    (`ß` stays `ß`); anything but text passes through (NULL stays NULL)."""
    if not isinstance(value, str):
        return value
    upper = value.upper()
    if len(upper) == len(value):
        return upper
    return "".join(u if len(u := c.upper()) == 1 else c for c in value)


class UnicodeSqliteClient(SqliteClient):
    """SQLite whose `upper()` folds every letter, not only ASCII ones.

    Case-insensitive lookups (`icontains`, `iexact`: every `search=`) compare `UPPER(column)`
    with `UPPER(value)`; SQLite's built-in folds only A–Z, so `ÜNÏ` would miss `ünï` where
    PostgreSQL finds it. Replacing the function on the connection makes both backends agree.
    """

    async def _post_connect(self) -> None:
        await super()._post_connect()
        assert self._connection is not None
        await self._connection.create_function("upper", 1, unicode_upper, deterministic=True)


# Tortoise finds a backend's client through its engine module's `client_class`: `open_database`
# names this module as the SQLite engine.
client_class = UnicodeSqliteClient


async def _keep_session(connection: Any) -> None:
    """Pool `reset` that does nothing (see `open_database`)."""


async def open_database(database_url: str) -> TortoiseContext:
    """Initialise Tortoise in a context of its own and make it current for this task."""
    config = tortoise_config(database_url)
    if dialect_of(database_url) == "postgres":
        # asyncpg resets a connection on every return to the pool (advisory locks, cursors,
        # LISTEN, session settings): one extra round trip per query. This code uses none of
        # those (its advisory locks are a transaction's, gone at its end) and Tortoise ends every
        # transaction it opens, so the reset is skipped.
        connection = expand_db_url(database_url)
        connection["credentials"]["reset"] = _keep_session
        config["connections"]["default"] = connection
    else:
        connection = expand_db_url(database_url)
        connection["engine"] = __name__
        config["connections"]["default"] = connection
    ctx = TortoiseContext()
    bind_orm(ctx)
    await ctx.init(config=config)
    return ctx


async def migrate(database_url: str) -> list[str]:
    """Apply every migration not yet applied; return the names applied."""

    async def upgrade() -> list[str]:
        command = Command(
            tortoise_config=tortoise_config(database_url),
            app="models",
            location=migrations_location(database_url),
        )
        async with command:
            await command.init()
            return await command.upgrade(run_in_transaction=True)

    # aerich initialises Tortoise in whatever context is current; a task with an empty context
    # keeps that from leaking into the caller's (the app's) ORM context.
    task = asyncio.get_running_loop().create_task(upgrade(), context=contextvars.Context())
    return await task


async def make_migration(database_url: str, name: str) -> str | None:
    """Write the migration that brings `database_url`'s dialect up to the models; None if none is needed.

    The database is first migrated to the latest existing migration, so give it an empty one.
    """
    await migrate(database_url)

    async def diff() -> str | None:
        command = Command(
            tortoise_config=tortoise_config(database_url), app="models", location=migrations_location(database_url)
        )
        async with command:
            await command.init()
            return await command.migrate(name=name, no_input=True) or None

    return await asyncio.get_running_loop().create_task(diff(), context=contextvars.Context())


async def load_reference_data(path: Path = REFERENCE_FILE) -> dict[str, int]:
    """Load industries, sectors and seed keywords once; a second call changes nothing."""
    from models.reference import Industry, IndustrySector, SeedKeyword

    if await Industry.exists():
        return {"industries": 0, "sectors": 0, "seed_keywords": 0}
    data = json.loads(await asyncio.to_thread(path.read_text))
    counts = {"industries": 0, "sectors": 0, "seed_keywords": 0}
    conn = connections.get("default")
    async with conn._in_transaction():
        for industry_data in data["industries"]:
            industry = await Industry.create(name=industry_data["name"], slug=industry_data["slug"])
            counts["industries"] += 1
            for sector_data in industry_data["sectors"]:
                sector = await IndustrySector.create(
                    industry=industry, name=sector_data["name"], slug=sector_data["slug"]
                )
                counts["sectors"] += 1
                rows = [
                    SeedKeyword(
                        industry_id=industry.id,
                        sector_id=sector.id,
                        keyword=keyword,
                        volume=volume,
                        difficulty=difficulty,
                        intent=intent,
                    )
                    for keyword, volume, difficulty, intent in sector_data["keywords"]
                ]
                await SeedKeyword.bulk_create(rows)
                counts["seed_keywords"] += len(rows)
    return counts
