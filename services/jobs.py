"""Jobs (CONTRACT §8): creation with the credit reservation, completion with its settlement,
the control plane (cancel asked for by any process, read by the owning actor between items),
the `job.*` and `credits.changed` events, and waiting for a job through the event bus."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from tortoise.functions import Count, Sum
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.billing import CreditTransaction
from models.db import ONE_ROW, BeginStep, insert_select, on_postgres, popped_row, prefixed_columns, raw_query
from models.jobs import Job
from services import ledger
from services.errors import InsufficientCredits
from services.events import Event, EventBus, Publication, Subscription
from services.ownership import LeaseLost
from services.security import utcnow

log = logging.getLogger("inkflow.jobs")

ACTIVE = ("queued", "running")
# Paused jobs are neither run by an actor nor finished: `resume` queues them again.
UNFINISHED = (*ACTIVE, "paused")
FINISHED = ("succeeded", "failed", "cancelled")
# The events a job's end publishes: what a request waiting for the job (`wait`) listens for.
JOB_ENDS = frozenset(f"job.{status}" for status in FINISHED)


@dataclass(frozen=True)
class FinishHooks:
    """What a kind of job adds to its finish: `closing` runs inside the finishing transaction
    (its rows change with the job's status), `closed` after it commits (its events)."""

    closing: Callable[[Job], Awaitable[None]]
    closed: Callable[[EventBus, Job], Awaitable[None]]


# By job kind; an automation run registers the closing of its run here, so every way a job
# ends (its actor, a crash, a cancel while queued or paused, a failed resume) closes the run too.
FINISH_HOOKS: dict[str, FinishHooks] = {}


def job_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "site_id": job.site_id,
        "status": job.status,
        "progress": {"done": job.progress_done, "total": job.progress_total},
        "result": job.result,
        "error": job.error,
        "credits_reserved": job.credits_reserved,
        "credits_used": job.credits_used,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def job_channels(job: Job) -> list[str]:
    channels = [f"job:{job.id}", f"account:{job.account_id}"]
    if job.site_id is not None:
        channels.insert(1, f"site:{job.site_id}")
    return channels


def job_event(job: Job, event: str) -> Publication:
    return job_channels(job), event, job_dict(job)


async def publish_job(events: EventBus, job: Job, event: str) -> None:
    await events.publish(*job_event(job, event))


def credits_events(row: CreditTransaction | None) -> list[Publication]:
    """`credits.changed` on the account's channel for a ledger row (none without one); publish
    it after the row is committed."""
    if row is None:
        return []
    data = {
        "balance": row.balance_after,
        "amount": row.amount,
        "kind": row.kind,
        "operation": row.operation,
        "job_id": row.job_id,
        "transaction_id": row.id,
    }
    return [([f"account:{row.account_id}"], "credits.changed", data)]


@dataclass(frozen=True)
class Taking:
    """A new job's site actor, idle and held for it (`Placement.reserve`): the job is made
    already taken, with the actor's token (`fence`; None in one process), skipping the statement
    that takes a queued job. `begin`: the kind's begin statement and its model, run over the new
    job by the statement that makes it (PostgreSQL; None when the kind has none)."""

    fence: int | None
    begin: BeginStep | None


async def create(events: EventBus, **spec: Any) -> Job:
    """A queued job (`create_posted`), once its `job.queued` has reached the bus (or failed to)."""
    job, queued, _ = await create_posted(events, **spec)
    await announced(job, queued)
    return job


async def announced(job: Job, publication: Awaitable[Any], event: str = "job.queued") -> None:
    """Wait for a job's event to reach the bus (`create_posted`'s `job.queued`, `announce`'s end).
    An unreachable bus loses the event, not the job: its row says where it is, a new job runs all
    the same (the sweep hands it to an actor once ownership works again), so the request that made
    it still answers with it, and an actor that ended it goes on."""
    try:
        await publication
    except Exception as exc:
        log.warning("job %s: its %s event was not published (%s)", job.id, event, exc)


async def create_posted(
    events: EventBus,
    *,
    account_id: int,
    site_id: int,
    user_id: int | None,
    kind: str,
    params: dict[str, Any],
    total: int,
    reserve: int,
    attach: Callable[[Job], Awaitable[Any]] | None = None,
    taking: Taking | None = None,
) -> tuple[Job, asyncio.Future[list[Event]], Model | None]:
    """A new job holding `reserve` credits, queued (or taken: `taking`); 402 (and no job) when
    the balance is short.

    `attach` makes the rows that own the job (e.g. an automation run) in the same transaction,
    before the reservation: if it raises, nothing is created, reserved or published.

    `taking`: the site's actor is idle and held for this job (`SiteActor.reserve`), so the job
    is made taken — `running`, with the actor's token — and, on PostgreSQL, begun by the same
    statement when its kind has a begin statement; the third value is the row that returned
    (None when nothing began it: the actor then runs the kind's `begin`).

    Returned with its `job.queued` (and the reservation's `credits.changed`) posted, not yet
    published (`EventBus.post_many`): every event this process publishes later, the job's end
    included, comes after it, so the job can go to an actor of this process meanwhile. Await it."""
    fields: dict[str, Any] = {
        "account_id": account_id,
        "site_id": site_id,
        "user_id": user_id,
        "kind": kind,
        "params": params,
        "progress_total": total,
        "credits_reserved": reserve,
    }
    if taking is not None:
        fields.update(status="running", started_at=utcnow(), fence=taking.fence or 0)
    row = begun = None
    if reserve and attach is None and on_postgres():
        begin = None if taking is None else taking.begin
        job, row, begun = await ledger.reserve_new_job(Job(**fields), reserve, begin=begin)
    else:
        async with in_transaction():
            job = await Job.create(**fields)
            if attach is not None:
                await attach(job)
            if reserve:
                try:
                    row = await ledger.reserve(account_id, reserve, operation=kind, job_id=job.id)
                except InsufficientCredits:
                    await job.delete()
                    raise
    return job, events.post_many([*credits_events(row), job_event(job, "job.queued")]), begun


async def finish(
    events: EventBus,
    job: Job,
    status: str,
    *,
    result: Any = None,
    error: dict[str, Any] | None = None,
    only_from: tuple[str, ...] = ACTIVE,
    fence: int | None = None,
) -> Job:
    """Close the job (if it is still in one of `only_from`) and refund what it reserved but did
    not use; publish `job.<status>` and the refund. `fence`: the owning actor's token, which the
    row must still hold (else `LeaseLost`: another process owns the site now)."""
    async with in_transaction():
        fresh = await Job.filter(id=job.id).select_for_update().first()
        if fresh is not None and fence is not None and fresh.fence != fence:
            raise LeaseLost(f"job {job.id}: fenced by token {fresh.fence}, ours is {fence}")
        if fresh is None or fresh.status not in only_from:
            return fresh or job
        refund = await close(fresh, status, result=result, error=error)
    await announce(events, fresh, refund)
    return fresh


async def close(job: Job, status: str, *, result: Any, error: dict[str, Any] | None) -> CreditTransaction | None:
    """The finishing writes, inside the caller's transaction with the job's row locked (by
    `finish`): the settlement, the final status and the kind's closing rows. Returns the
    refund's ledger row, for `announce`."""
    refund = await _settle(job, status, result, error)
    await _save(job, [*ENDING_FIELDS], fenced=False)
    await _closing(job)
    return refund


async def close_fenced(
    job: Job,
    status: str,
    item_fields: list[str],
    *,
    result: Any,
    error: dict[str, Any] | None,
    with_row: Model | None = None,
) -> CreditTransaction | None:
    """`close` for a job ending with its last item, inside that item's transaction: the item's
    `item_fields` and the end in one statement, fenced by the actor's token (`LeaseLost`
    otherwise). A cancel asked for during the item wins over `status` (the job ends
    `cancelled`, no error): the statement reads the row's `requested` as it writes, and the row
    stays locked until the commit, so no cancel slips in between."""
    refund = await _settle(job, status, result, error)
    rows = await _save(job, [*item_fields, *ENDING_FIELDS], fenced=True, cancel_wins=True, with_row=with_row)
    if not rows:
        raise LeaseLost(f"job {job.id}: another process owns its site now")  # as `save_fenced`
    if rows[0]["status"] == "cancelled":
        job.status = "cancelled"
        if job.error is not None:  # a failing end overtaken by a cancel: a cancelled job has no error
            job.error = None
            await _save(job, ["error"], fenced=False)
    await _closing(job)
    return refund


ENDING_FIELDS = ("status", "result", "error", "requested", "finished_at")


async def _settle(job: Job, status: str, result: Any, error: dict[str, Any] | None) -> CreditTransaction | None:
    """Refund what the job reserved and did not use; set its ending fields (not saved yet)."""
    refund = await ledger.settle(
        job.account_id, job.credits_reserved, job.credits_used, operation=job.kind, job_id=job.id
    )
    job.status = status
    job.result = result
    job.error = error
    job.requested = None
    job.finished_at = utcnow()
    return refund


async def _closing(job: Job) -> None:
    hooks = FINISH_HOOKS.get(job.kind)
    if hooks is not None:
        await hooks.closing(job)


async def announce(events: EventBus, job: Job, refund: CreditTransaction | None) -> None:
    """After `close` committed: the refund, `job.<status>` and the kind's closing events. A
    request waiting in this process for the job (`wait`) gets its end at once, before these."""
    ended = job_event(job, f"job.{job.status}")
    events.hand_over(f"job:{job.id}", ended[1], ended[2])
    await announced(job, events.publish_many([*credits_events(refund), ended]), ended[1])
    hooks = FINISH_HOOKS.get(job.kind)
    if hooks is not None:
        await hooks.closed(events, job)


async def request_cancel(events: EventBus, job: Job) -> Job:
    """Cancel from any process, at once: a queued job ends `cancelled` now (all refunded); a
    running one is marked, and its actor stops it before the next item (CONTRACT §16.15)."""
    if job.status == "queued":
        cancelled = await finish(events, job, "cancelled", only_from=("queued",))
        if cancelled.status == "cancelled":
            return cancelled
        job = cancelled  # the actor started it meanwhile
    if job.status == "paused":  # no actor holds it: it ends here, unspent credits refunded
        return await finish(events, job, "cancelled", only_from=("paused",))
    if job.status == "running":
        await Job.filter(id=job.id, status="running").update(requested="cancel")
        job.requested = "cancel"
    return job


async def request_pause(job: Job) -> bool:
    """Pause from any process, at once: a queued job becomes `paused` now; a running one is
    marked and its actor pauses it after the item in flight. False when the job is neither
    (or a cancel was asked for first)."""
    if await Job.filter(id=job.id, status="queued").update(status="paused"):
        job.status = "paused"
        return True
    if await Job.filter(id=job.id, status="running", requested__isnull=True).update(requested="pause"):
        job.requested = "pause"
        return True
    return False


async def mark_paused(job: Job) -> bool:
    """The actor's half of a pause, between items: `running` with `pause` asked → `paused`."""
    changed = await Job.filter(id=job.id, status="running", requested="pause", fence=job.fence).update(
        status="paused", requested=None
    )
    if changed:
        job.status, job.requested = "paused", None
    return bool(changed)


async def resume(job: Job) -> str | None:
    """Undo a pause: a paused job is queued again (`"queued"`: hand it to its actor); a running
    job whose pause has not taken effect yet just forgets it (`"running"`). None otherwise."""
    if await Job.filter(id=job.id, status="paused").update(status="queued", requested=None):
        job.status, job.requested = "queued", None
        return "queued"
    if await Job.filter(id=job.id, status="running", requested="pause").update(requested=None):
        job.requested = None
        return "running"
    return None


# --- ownership (several processes): the fencing token on the row ---------------------------------


# One statement takes the job: it writes the owner's token (with several processes, only over
# an older one) and starts a queued job, and returns the row as it is now. A job cancelled or
# finished meanwhile matches nothing. {0}: the job, {1}: the start time, {2}: the token.
_TAKE = """UPDATE "job" SET {set_fence}
    "status" = CASE WHEN "status" = 'queued' THEN 'running' ELSE "status" END,
    "started_at" = CASE WHEN "status" = 'queued' THEN COALESCE("started_at", {{1}}) ELSE "started_at" END
    WHERE "id" = {{0}} AND "status" IN ('queued', 'running', 'paused') {fenced} RETURNING *"""
CLAIM_SQL = _TAKE.format(set_fence='"fence" = {2},', fenced='AND "fence" <= {2}')
TAKE_SQL = _TAKE.format(set_fence="", fenced="")


async def claim(job_id: int, fence: int | None) -> Job | None:
    """The unfinished job, taken by its actor: with the owning actor's token written on it, and
    `running` if it was queued (a paused job stays paused). None when it is finished or a newer
    owner's token is already there. Read in the same statement, so a new owner sees every item
    the previous one committed. `fence` None: one process, no token to write."""
    if fence is None:
        rows = await raw_query(TAKE_SQL, [job_id, utcnow()])
    else:
        rows = await raw_query(CLAIM_SQL, [job_id, utcnow(), fence])
    return Job._init_from_db(**rows[0]) if rows else None


# The kinds whose first statement can go with the job's claim: a kind, the model of the row its
# statement returns, and the statement made over a given row source (an UPDATE … FROM <source>
# … RETURNING at most one row of the model).
Begin = tuple[str, type[Model], Callable[[str], str]]

# PostgreSQL: `claim` and, when the job is then running with nothing asked of it, its kind's
# first statement, in one statement; each kind's statement sees the taken job only if it is of
# that kind. The begun row's columns come back as "__begun<n>__<column>".
#
# Its commit doesn't wait for the write-ahead log to reach the disk: the statement turns
# `synchronous_commit` off for its own transaction (it runs in none of the caller's, in the site
# actor), ~0.15 ms per job here. Nothing depends on the claim being durable: a crash that loses
# it leaves the job as it was (queued, the older token), which a process takes again, and the
# first durable commit after it (the item's) makes it durable too, the log being written in order.
_TAKE_AND_BEGIN = """WITH "claimed" AS ({take}),
    "taken" AS (SELECT * FROM "claimed" WHERE "status" = 'running' AND "requested" IS NULL){begins}
    SELECT "claimed".*{columns}, set_config('synchronous_commit', 'off', true) AS "__async"
    FROM "claimed"{joins}"""


async def claim_and_begin(job_id: int, fence: int | None, begins: Sequence[Begin]) -> tuple[Job | None, Model | None]:
    """`claim`, and on PostgreSQL the job's first statement with it (one of `begins`, by the
    job's kind) when the job is running and no pause or cancel is asked of it (a queued job
    taken, or a running one resumed): one round trip and one commit fewer. The job, and the
    row its kind's statement returned (None when none ran: the caller then begins the job as
    after `claim`)."""
    if not begins or not on_postgres():
        return await claim(job_id, fence), None
    values: list[Any] = [job_id, utcnow()] if fence is None else [job_id, utcnow(), fence]
    ctes, columns, joins = [], [], []
    for n, (kind, model, statement) in enumerate(begins):
        values.append(kind)
        ctes.append(f', "taken{n}" AS (SELECT * FROM "taken" WHERE "kind" = {{{len(values) - 1}}})')
        source = f'"taken{n}"'
        ctes.append(f', "begun{n}" AS ({statement(source)})')
        columns.append(prefixed_columns(model, f'"begun{n}"', f"__begun{n}__"))
        joins.append(f' LEFT JOIN "begun{n}" ON TRUE')
    sql = _TAKE_AND_BEGIN.format(
        take=TAKE_SQL if fence is None else CLAIM_SQL,
        begins="".join(ctes),
        columns="".join(columns),
        joins="".join(joins),
    )
    rows = await raw_query(sql, values)
    if not rows:
        return None, None
    row, begun = rows[0], None
    del row["__async"]
    for n, (_kind, model, _statement) in enumerate(begins):
        begun = popped_row(row, model, f"__begun{n}__") or begun
    return Job._init_from_db(**row), begun


async def save_fenced(job: Job, fields: list[str], *, with_row: Model | None = None) -> None:
    """Save `fields` of a job its actor runs, only while the row holds the actor's token; else
    `LeaseLost` (inside a transaction: the item's other writes roll back with it). `with_row`:
    an unsaved row the item adds (its usage row), inserted by the same statement on PostgreSQL."""
    if not await _save(job, fields, fenced=True, with_row=with_row):
        raise LeaseLost(f"job {job.id}: another process owns its site now")


# With `cancel_wins`, how the ending status is written: a cancel the row asks for (its
# `requested` before this statement, as SET reads the old row) turns the end into `cancelled`.
_CANCEL_WINS = """CASE WHEN "job"."requested" = 'cancel' THEN 'cancelled' ELSE {0} END"""


async def _save(
    job: Job, fields: list[str], *, fenced: bool, cancel_wins: bool = False, with_row: Model | None = None
) -> list[dict[str, Any]]:
    """`UPDATE job SET <fields>, updated_at` by id (and token when `fenced`), written out: every
    job runs it on each item and at its end, where the ORM builds the statement anew each time.
    Returns the row's `status` as it is after it; nothing if no row matched. `with_row` is
    inserted first: by the same statement on PostgreSQL (a round trip fewer per item), else by
    the ORM; in the caller's transaction either way, so a refused save rolls it back too."""
    fields_map = Job._meta.fields_map
    names = [*fields, "updated_at"]
    values = [fields_map[name].to_db_value(getattr(job, name), job) for name in names]
    assignments = ", ".join(
        f'"{name}" = ' + (_CANCEL_WINS if cancel_wins and name == "status" else "{0}").format(f"{{{n}}}")
        for n, name in enumerate(names)
    )
    where = f'"id" = {{{len(names)}}}' + (f' AND "fence" = {{{len(names) + 1}}}' if fenced else "")
    keys = [job.id, job.fence] if fenced else [job.id]
    sql = f'UPDATE "job" SET {assignments} WHERE {where} RETURNING "status"'
    inserted: list[Any] = []
    if with_row is not None and on_postgres():
        insert, inserted = insert_select(with_row, ONE_ROW, len(values) + len(keys))
        sql = f'WITH "added" AS ({insert}) {sql}'
    elif with_row is not None:
        await with_row.save()
    return await raw_query(sql, [*values, *keys, *inserted])


@dataclass(frozen=True)
class ItemRow:
    """PostgreSQL: what a job's last item writes, as `WITH` steps of the statement that ends the
    job (`close_with_item`). `steps(gate, first)` gives the steps and their parameters (numbered
    from `first`); they select from `gate`, a row source, so they write nothing when it has no
    row, and the step named "made" returns the row the item made (none when it made nothing).
    The item's results are `results` and `ids`: keys whose value is a column of that row
    (`{"content_id": "id"}`)."""

    steps: Callable[[str, int], tuple[str, list[Any]]]
    results: dict[str, Any]
    ids: dict[str, str]


# `close_with_item`: the job's row, locked, while it holds the actor's token ({0}, {1}); the
# item's steps, its usage row and the settlement select from it, so they write nothing otherwise.
_OWNED = """"owned" AS (SELECT "id" FROM "job" WHERE "id" = {0} AND "fence" = {1} FOR UPDATE)"""


async def close_with_item(
    job: Job, item_fields: dict[str, Any], *, item: ItemRow, usage: Model | None
) -> tuple[dict[str, Any], CreditTransaction | None] | None:
    """PostgreSQL: `close_fenced` for a job succeeding with its last item, with the item's writes
    (`item`), its usage row and the settlement in the same statement: one statement and one
    commit instead of a transaction of four round trips. `item_fields`: the job's fields the
    item sets (its checkpoint with the item's `results`, progress, credits used); the job's
    result is the checkpoint's results, `ids` included. A cancel asked for
    meanwhile still wins: the job ends `cancelled` with the item kept and charged.

    Returns the item's `ids` and the refund's ledger row, with the job updated as stored.
    None when the statement wrote nothing: the job's row no longer holds the actor's token, or
    the item's steps made no row (e.g. the task has content by now). The caller then commits the
    item in a transaction as usual, which tells the two apart."""
    fields_map = Job._meta.fields_map
    values: list[Any] = [job.id, job.fence]
    steps, step_values = item.steps('"owned"', len(values))
    parts = [_OWNED, steps]
    values += step_values
    if usage is not None:
        insert, usage_values = insert_select(usage, '"made"', len(values))
        parts.append(f'"added" AS ({insert})')
        values += usage_values
    used = item_fields["credits_used"]
    settlement = ledger.settle_steps(
        job.account_id, job.credits_reserved, used, operation=job.kind, job_id=job.id, gate='"made"', first=len(values)
    )
    entry = None
    if settlement is not None:
        refund_steps, refund_values, entry = settlement
        parts.append(refund_steps)
        values += refund_values

    checkpoint = item_fields["checkpoint"]
    result = {**checkpoint["results"], **dict.fromkeys(item.ids)}  # the ids written by the statement
    finished_at = utcnow()
    sets = {**item_fields, "result": result, "requested": None, "finished_at": finished_at, "updated_at": finished_at}
    assignments = []
    for name, value in sets.items():
        values.append(fields_map[name].to_db_value(value, job))
        expression = f"{{{len(values) - 1}}}"
        if name in ("checkpoint", "result"):  # the made row's ids go into both
            expression += "::jsonb"
            for key, column in item.ids.items():
                values.append(["results", key] if name == "checkpoint" else [key])
                expression = f'jsonb_set({expression}, {{{len(values) - 1}}}::text[], to_jsonb("made"."{column}"))'
        assignments.append(f'"{name}" = {expression}')
    values.append("succeeded")
    assignments.append(f'"status" = {_CANCEL_WINS.format(f"{{{len(values) - 1}}}")}, "error" = NULL')
    # Only what the caller needs back: the made row's ids, not the row (an article's HTML).
    returning = ", ".join(['"job"."status" AS "__status"', *(f'"made"."{c}" AS "{k}"' for k, c in item.ids.items())])
    sources = '"made"'
    if entry is not None:
        returning += ', "entry"."id" AS "__entry_id", "entry"."balance_after" AS "__entry_balance"'
        sources += ', "entry"'
    sql = (
        f'WITH {", ".join(parts)} UPDATE "job" SET {", ".join(assignments)} FROM {sources} '
        f'WHERE "job"."id" = {{0}} AND "job"."fence" = {{1}} RETURNING {returning}'
    )
    rows = await raw_query(sql, values)
    if not rows:
        return None
    row = rows[0]
    status = row.pop("__status")
    if entry is not None:
        entry.id, entry.balance_after = row.pop("__entry_id"), row.pop("__entry_balance")
        entry._saved_in_db = True
    ids = {key: row[key] for key in item.ids}
    for name, value in item_fields.items():
        setattr(job, name, value)
    checkpoint["results"].update(ids)
    job.result = dict(checkpoint["results"])
    job.status, job.error, job.requested, job.finished_at, job.updated_at = status, None, None, finished_at, finished_at
    return ids, entry


async def sites_with_unfinished_work() -> list[int]:
    """Sites with queued or running jobs: the work a process looks for at start and after a takeover."""
    rows = await Job.filter(status__in=ACTIVE, site_id__isnull=False).distinct().values_list("site_id", flat=True)
    return [int(cast("int", site_id)) for site_id in rows]


# A set of job ids in brief: how many and their sum. Two sets with the same tally are the same
# set in practice (they would have to differ by at least two ids on each side, summing equal).
Tally = tuple[int, int]


def tally(job_ids: Iterable[int]) -> Tally:
    ids = list(job_ids)
    return len(ids), sum(ids)


async def unfinished_tallies() -> dict[int, Tally]:
    """Per site with queued or running jobs, the tally of their ids (the sweep's view: one row
    per site, however long the backlog)."""
    rows = await (
        Job.filter(status__in=ACTIVE, site_id__isnull=False)
        .annotate(n=Count("id"), total=Sum("id"))
        .group_by("site_id")
        .values_list("site_id", "n", "total")
    )
    return {int(site_id): (int(n), int(total)) for site_id, n, total in rows}


async def unfinished_tally(site_id: int) -> Tally:
    """The tally of one site's queued and running jobs."""
    rows = await (
        Job.filter(status__in=ACTIVE, site_id=site_id)
        .annotate(n=Count("id"), total=Sum("id"))
        .values_list("n", "total")
    )
    n, total = rows[0] if rows else (0, 0)
    return int(n or 0), int(total or 0)


async def unfinished_ids(site_id: int) -> list[int]:
    """The site's queued and running jobs, oldest first."""
    rows = await Job.filter(site_id=site_id, status__in=ACTIVE).order_by("id").values_list("id", flat=True)
    return [int(cast("int", job_id)) for job_id in rows]


async def highest_fence(site_id: int) -> int:
    """The largest token any job of the site holds (the floor for the next lease's token)."""
    rows = await Job.filter(site_id=site_id).order_by("-fence").limit(1).values_list("fence", flat=True)
    return int(cast("int", rows[0])) if rows else 0


async def requested(job_id: int) -> str | None:
    """What the control plane asks of a running job (`cancel`, `pause`) — one indexed read."""
    values = await Job.filter(id=job_id).values_list("requested", flat=True)
    return values[0] if values else None  # type: ignore[return-value]


async def wait(subscription: Subscription, job: Job, timeout: float) -> dict[str, Any]:
    """The job (as `job_dict`) once finished, or as it is when `timeout` runs out.

    `subscription` must be open on the job's channel before the job is handed to its actor,
    so no event is missed; the finishing event brings the job from whichever process ran it
    (with `early`, from this process's actor as soon as the job is committed: `announce`).
    """
    # `asyncio.timeout`, not `wait_for`: no task per wait (3.11), one hop fewer to the answer.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while True:
                event = await subscription.get()
                if event.event in JOB_ENDS:
                    return dict(event.data)
    return job_dict(await Job.get(id=job.id))
