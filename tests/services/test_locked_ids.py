"""`models.db.locked_ids`: the rows it names are locked until the transaction ends."""

from __future__ import annotations

import asyncpg
import pytest
from tortoise.transactions import in_transaction

from models.accounts import Account
from models.db import locked_ids
from tests.conftest import BACKEND
from tests.helpers import Api


async def test_it_names_the_rows_there_are(api: Api) -> None:
    owner = await api.register()
    mine = owner.account["id"]
    async with in_transaction():
        assert await locked_ids(Account, [mine, mine, 99_999_999]) == {mine}
        assert await locked_ids(Account, []) == set()


@pytest.mark.skipif(BACKEND != "postgres", reason="row locks are PostgreSQL's; SQLite runs one transaction at a time")
async def test_the_rows_stay_locked_until_the_transaction_ends(api: Api, database_url: str) -> None:
    """What `select_for_update().values_list(…)` looks like it does and doesn't: Tortoise leaves
    `FOR UPDATE` out of such a query, so nothing was locked."""
    owner = await api.register()
    mine = owner.account["id"]
    other = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    ask = 'SELECT "id" FROM "account" WHERE "id" = $1 FOR UPDATE NOWAIT'
    try:
        async with in_transaction():
            assert await locked_ids(Account, [mine]) == {mine}
            with pytest.raises(asyncpg.LockNotAvailableError):
                await other.fetchval(ask, mine)
        assert await other.fetchval(ask, mine) == mine  # free once the transaction ended
    finally:
        await other.close()
