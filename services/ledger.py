"""The credit ledger: the only code that changes an account's balance.

Every change is one transaction holding a conditional update of `account.credits` and the
ledger row, so `balance == sum(amount)` and `balance >= 0` hold under any concurrency, across
processes: the database, not the caller, decides whether a deduction fits.
"""

from __future__ import annotations

from typing import Any, cast

from tortoise.models import Model

from models.accounts import Account
from models.billing import CreditTransaction
from models.db import BeginStep, atomic, insert_select, popped_row, prefixed_columns, raw_query
from models.jobs import Job
from services.errors import InsufficientCredits, NotFound, ValidationFailed

# {0}: the amount; {1}: the account; a deduction's {2}: what it takes (the balance must cover it).
# Columns named with their table: `settle_steps` adds a row source that may have the same names.
CREDIT_SQL = (
    'UPDATE "account" SET "credits" = "account"."credits" + {0} '
    'WHERE "account"."id" = {1} RETURNING "account"."credits"'
)
DEDUCT_SQL = (
    'UPDATE "account" SET "credits" = "credits" + {0} WHERE "id" = {1} AND "credits" >= {2} RETURNING "credits"'
)


async def balance(account_id: int) -> int:
    values = cast("list[int]", await Account.filter(id=account_id).values_list("credits", flat=True))
    if not values:
        raise NotFound("Account not found.")
    return int(values[0])


async def _apply(
    account_id: int,
    amount: int,
    *,
    kind: str,
    operation: str = "",
    job_id: int | None = None,
    description: str = "",
) -> CreditTransaction:
    async with atomic():  # a job's reservation and settlement run inside the job's transaction
        # One statement changes the balance, checks it (the condition makes the check and the
        # deduction atomic) and returns the new one: a job reserves and settles, so this saves
        # a round trip twice per job.
        if amount < 0:
            rows = await raw_query(DEDUCT_SQL, [amount, account_id, -amount])
        else:
            rows = await raw_query(CREDIT_SQL, [amount, account_id])
        if not rows:
            if amount < 0:
                raise InsufficientCredits(required=-amount, available=await balance(account_id))
            raise NotFound("Account not found.")
        balance_after = int(rows[0]["credits"])
        return await CreditTransaction.create(
            account_id=account_id,
            amount=amount,
            balance_after=balance_after,
            kind=kind,
            operation=operation,
            job_id=job_id,
            description=description[:500],
        )


async def grant(account_id: int, amount: int, *, kind: str = "grant", description: str = "") -> CreditTransaction:
    """Add credits (grant/purchase), or take them away as an adjustment when negative.

    A negative adjustment never takes the balance below zero: it takes what is there.
    """
    if amount == 0:
        raise ValidationFailed("The amount must not be zero.", errors={"amount": ["Must not be 0."]})
    if amount > 0:
        return await _apply(account_id, amount, kind=kind, description=description)
    available = await balance(account_id)
    return await _apply(account_id, -min(-amount, available), kind="adjustment", description=description)


def _reserved(amount: int, operation: str) -> str:
    return f"Reserved {amount} credits for {operation}"


async def reserve(account_id: int, amount: int, *, operation: str, job_id: int | None) -> CreditTransaction:
    """Hold `amount` before calling a model; raises `InsufficientCredits` (402) if short."""
    return await _apply(
        account_id,
        -amount,
        kind="usage",
        operation=operation,
        job_id=job_id,
        description=_reserved(amount, operation),
    )


async def reserve_new_job(
    job: Job, amount: int, *, begin: BeginStep | None = None
) -> tuple[Job, CreditTransaction, Model | None]:
    """PostgreSQL: insert the unsaved `job` and reserve `amount` for it in one statement; the
    job as stored, the reservation's ledger row, and the row `begin` returned.

    The deduction is `reserve`'s own (`DEDUCT_SQL`); the job and the ledger row are inserted only
    if it took the credits, so a short balance leaves nothing behind (`InsufficientCredits`).
    One statement is one transaction: no `BEGIN`/`COMMIT`, four round trips fewer than the job's
    insert and `reserve` in a transaction — a job-starting request's largest share of them.

    `begin`: a model and its statement over a row source with the job's columns (`UPDATE …
    FROM <source> … RETURNING` at most one row of the model), run over the inserted job in the
    same statement — a job made already taken by its actor begins with it (`jobs.Taking`)."""
    operation = job.kind
    entry = CreditTransaction(
        account_id=job.account_id,
        amount=-amount,
        balance_after=0,  # the statement writes the balance it leaves
        kind="usage",
        operation=operation,
        description=_reserved(amount, operation),
    )
    insert_job, job_values = insert_select(job, '"held"', 3)
    insert_entry, entry_values = insert_select(
        entry,
        '"held", "job"',
        3 + len(job_values),
        computed={"balance_after": '"held"."credits"', "job_id": '"job"."id"'},
    )
    begun_step, begun_columns, begun_join = "", "", ""
    if begin is not None:
        model, statement = begin
        begun_step = ', "begun" AS (' + statement('"job"') + ")"
        begun_columns = prefixed_columns(model, '"begun"', "__begun__")
        begun_join = ' LEFT JOIN "begun" ON TRUE'
    rows = await raw_query(
        f'WITH "held" AS ({DEDUCT_SQL}), "job" AS ({insert_job}), "entry" AS ({insert_entry}){begun_step} '
        'SELECT "job".*, "entry"."id" AS "entry_id", "entry"."balance_after" AS "entry_balance_after"'
        f'{begun_columns} FROM "job" CROSS JOIN "entry"{begun_join}',
        [-amount, job.account_id, amount, *job_values, *entry_values],
    )
    if not rows:
        raise InsufficientCredits(required=amount, available=await balance(job.account_id))
    row = rows[0]
    entry.id, entry.balance_after = row.pop("entry_id"), row.pop("entry_balance_after")
    begun = None if begin is None else popped_row(row, begin[0], "__begun__")
    stored = Job._init_from_db(**row)
    entry.job_id = stored.id
    entry._saved_in_db = True
    return stored, entry, begun


def _refund(reserved: int, used: int) -> int:
    """What a job's settlement gives back: the reservation less what it used (never below 0)."""
    return reserved - max(0, min(used, reserved))


def _refund_description(refund: int, reserved: int) -> str:
    return f"Refund of {refund} unused credits of {reserved} reserved"


async def settle(
    account_id: int, reserved: int, used: int, *, operation: str, job_id: int | None
) -> CreditTransaction | None:
    """Capture `used` out of `reserved` and refund the rest (all of it on failure or cancel)."""
    refund = _refund(reserved, used)
    if refund == 0:
        return None
    return await _apply(
        account_id,
        refund,
        kind="refund",
        operation=operation,
        job_id=job_id,
        description=_refund_description(refund, reserved),
    )


def settle_steps(
    account_id: int, reserved: int, used: int, *, operation: str, job_id: int, gate: str, first: int
) -> tuple[str, list[Any], CreditTransaction] | None:
    """PostgreSQL: `settle` as `WITH` steps of a caller's statement: "refunded" credits the
    account, "entry" is the ledger row with the balance it leaves; both only if `gate` (a row
    source) has a row. Parameters numbered from `first`; the ledger row as it will be (its id and
    balance come back as "entry"'s). None when nothing is refunded."""
    refund = _refund(reserved, used)
    if refund == 0:
        return None
    entry = CreditTransaction(
        account_id=account_id,
        amount=refund,
        balance_after=0,  # the statement writes the balance it leaves
        kind="refund",
        operation=operation,
        job_id=job_id,
        description=_refund_description(refund, reserved),
    )
    insert, values = insert_select(entry, '"refunded"', first + 2, computed={"balance_after": '"refunded"."credits"'})
    credit = CREDIT_SQL.replace(" WHERE ", f" FROM {gate} WHERE ", 1)
    credit = credit.replace("{0}", f"{{{first}}}").replace("{1}", f"{{{first + 1}}}")
    return f'"refunded" AS ({credit}), "entry" AS ({insert})', [refund, account_id, *values], entry
