"""The shared shape of an operation a site actor runs as a job: planned in the request
(inputs checked, credits estimated), executed item by item; an item's writes, its cost and the
checkpoint are committed in one transaction, so a resumed job never repeats or re-charges an item."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from marshmallow import Schema
from tortoise.models import Model
from tortoise.transactions import in_transaction

from config.prompts import render_prompt
from config.settings import Settings
from models.billing import CreditTransaction, UsageLog
from models.db import BeginStep, on_postgres
from models.jobs import Job
from models.writer import Content
from schemas.ai import ANSWERS
from services import ai_client, ai_settings, jobs
from services.ai_client import AiError, Usage
from services.errors import DomainError, NotFound, ValidationFailed
from services.events import EventBus
from services.principal import Principal
from services.security import Crypto
from services.tenancy import owned_many


@dataclass(frozen=True)
class OperationContext:
    settings: Settings
    crypto: Crypto
    events: EventBus
    clients: ai_client.AiClients
    ai: ai_settings.AiSettingsCache


@dataclass(frozen=True)
class Plan:
    """What the request decided: the site, the normalised parameters, the items and the price."""

    site_id: int
    params: dict[str, Any]
    total: int
    estimate: int
    uses_ai: bool = True


M = TypeVar("M", bound=Model)


class _Changed(Exception):
    """An item's row was edited while the item ran (`Operation.commit_while`)."""


def _one_site(rows: Sequence[Any], what: str) -> int:
    sites = {row.site_id for row in rows}
    if len(sites) != 1:
        raise ValidationFailed(f"All {what} must belong to one site.", errors={"ids": ["Ids span several sites."]})
    return sites.pop()


class Operation:
    kind: ClassVar[str]
    prompt_type: ClassVar[str | None] = None
    # What the job-starting endpoint answers with when the job finished within the wait.
    result_schema: ClassVar[type[Schema]]
    operations: ClassVar[dict[str, type[Operation]]] = {}
    # The job's items are all known when it begins (they don't grow as they run), so the job can
    # end inside its last item's transaction: its settlement and final status commit with that
    # item, one transaction and one actor step fewer per job. Operations whose items grow, or
    # that run sub-operations, end in the actor's next step instead.
    ends_with_last_item: ClassVar[bool] = False

    def __init_subclass__(cls) -> None:
        if "kind" in cls.__dict__:  # abstract bases like PerContent have no kind of their own
            Operation.operations[cls.kind] = cls

    def __init__(
        self,
        job: Job,
        context: OperationContext,
        *,
        params: dict[str, Any] | None = None,
        parent: Operation | None = None,
        stage: str | None = None,
    ) -> None:
        """`job` is the job this operation's items are committed to. A sub-operation runs some of
        its items inside another operation's job (`parent`, e.g. an automation run): it gets its
        `params` from the parent instead of the job, records its items as `"<stage>:<item>"` in
        the job's checkpoint and its results under `results[stage]`, and lets the parent add its
        own rows to each item's transaction — one commit path, one reservation, one settlement."""
        self.job = job
        self.context = context
        self.params: dict[str, Any] = job.params if params is None else params
        self.parent = parent
        self.stage = stage
        # The most the next item may be charged (its share of a parent's reservation), if set.
        self.item_budget: int | None = None
        self._config: ai_settings.AiConfig | None = None

    # --- planning, in the request ---------------------------------------------------------------

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        raise NotImplementedError

    # Rows that belong to a new job of this kind, made in the job's creating transaction (None:
    # no rows, and the job with its reservation is then one statement on PostgreSQL).
    attach: ClassVar[Callable[..., Awaitable[None]] | None] = None

    # --- running, in the site actor -------------------------------------------------------------

    async def begin(self) -> None:
        """Load what the items need; runs on start and on resume."""

    # PostgreSQL: a kind whose `begin` is one statement may give it over the taken job's row
    # (`begin_statement`, returning at most one `begin_model` row): the actor then takes and
    # begins a job of the kind in one statement (`jobs.claim_and_begin`), or the request makes
    # it taken and begun in one (`jobs.Taking`), and `begun` gets the row.
    begin_model: ClassVar[type[Model] | None] = None

    @classmethod
    def begin_step(cls) -> BeginStep | None:
        """`begin_model` and `begin_statement`, or None when the kind has no begin statement."""
        return None if cls.begin_model is None else (cls.begin_model, cls.begin_statement)

    @classmethod
    def begin_statement(cls, job_row: str) -> str:
        """`begin`'s statement over `job_row` (a row source with the job's columns):
        `UPDATE … FROM <job_row> … RETURNING` at most one row of `begin_model`."""
        raise NotImplementedError

    def begun(self, row: Model) -> None:
        """What `begin_statement` returned, in place of `begin`."""
        raise NotImplementedError

    def items(self) -> list[str]:
        raise NotImplementedError

    async def run_item(self, item: str) -> None:
        raise NotImplementedError

    async def on_failed(self) -> None:
        """Undo in-progress markers when the job fails."""

    async def on_paused(self) -> None:
        """The actor paused the job between items (its control column asked for it)."""

    def failure(self) -> dict[str, Any] | None:
        """An error for a job whose items all ran but which still failed (e.g. no image made)."""
        return None

    def done_key(self, item: str) -> str:
        """How `item` is recorded in the job's checkpoint."""
        return item if self.stage is None else f"{self.stage}:{item}"

    def remaining(self) -> list[str]:
        done = set(self.job.checkpoint.get("done", []))
        return [item for item in self.items() if self.done_key(item) not in done]

    async def run_next(self) -> bool:
        """Run one remaining item; say whether any is left (items may grow as they run)."""
        remaining = self.remaining()
        if not remaining:
            return False
        await self.run_item(remaining[0])
        return bool(self.remaining())

    def result(self) -> dict[str, Any]:
        results = self.job.checkpoint.get("results", {})
        return dict(results if self.stage is None else results.get(self.stage, {}))

    def error_of(self, exc: AiError | DomainError) -> dict[str, Any]:
        return {"code": exc.code, "message": exc.message}

    async def config(self) -> ai_settings.AiConfig:
        if self.parent is not None:
            return await self.parent.config()
        if self._config is None:
            self._config = await self.context.ai.config(self.job.account_id)
        return self._config

    async def chat(self, prompt: str, usage: Usage, *, what: str) -> dict[str, Any]:
        """The model's answer to `prompt`, loaded by the answer schema of this operation's prompt type."""
        assert self.prompt_type is not None
        answer = ANSWERS[self.prompt_type]
        return await ai_client.chat_json(self.context.clients, await self.config(), prompt, answer, usage, what=what)

    async def render(self, prompt: str, usage: Usage) -> bytes:
        return await ai_client.generate_image(
            self.context.clients, await self.config(), prompt, usage, what="Image generation"
        )

    async def prompt(self, **values: Any) -> str:
        assert self.prompt_type is not None
        text = await self.context.ai.prompt(self.job.account_id, self.prompt_type)
        return render_prompt(text, values)

    async def commit(
        self,
        item: str,
        *,
        cost: int,
        usage: Usage,
        write: Callable[[], Awaitable[None]] | None = None,
        results: Callable[[dict[str, Any]], None] | None = None,
        error: str | None = None,
        row: jobs.ItemRow | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        """Persist one finished item: its writes, its charge (never past the reservation nor the
        item's budget), the usage row and the checkpoint, all or nothing. `error` marks an item
        that failed and is recorded as done (so it is not retried), for the parent to log.
        `state`: keys the operation keeps in the checkpoint for its next items, beside the
        results (which are the job's result; these are not).

        `row`: the same writes and results as one statement's steps (PostgreSQL), for the last
        item of a job that then succeeds: the item and the job's end go in one statement
        (`jobs.close_with_item`); when that writes nothing, `write` and `results` run as usual."""
        job = self.job
        charge = max(0, min(cost, job.credits_reserved - job.credits_used))
        if self.item_budget is not None:
            charge = min(charge, self.item_budget)
        all_results = dict(job.checkpoint.get("results", {}))
        into = all_results if self.stage is None else dict(all_results.get(self.stage, {}))
        checkpoint: dict[str, Any] = {
            **job.checkpoint,
            **(state or {}),
            "done": [*job.checkpoint.get("done", []), self.done_key(item)],
            "results": all_results,
        }
        ending = self.parent is None and self.ends_with_last_item and len(self.remaining()) == 1
        if ending and row is not None and await self._end_with_row(checkpoint, charge, usage, row):
            return
        refund = None
        async with in_transaction():
            if write is not None:
                await write()
            if results is not None:  # after the writes: results may name the rows they made
                results(into)
            if self.stage is not None:
                all_results[self.stage] = into
            job.credits_used += charge
            job.checkpoint = checkpoint
            if self.parent is None:
                job.progress_done = len(checkpoint["done"])
                job.progress_total = max(job.progress_total, len(self.items()))
            else:  # the parent keeps the progress and adds its own rows (log line, run stages)
                await self.parent.child_committed(self, item, charge=charge, error=error)
            usage_row = self._usage_row(charge, usage)
            # Fenced: refused (and the whole item rolled back) once another process owns the site.
            # The job's row is written last, so it stays locked for the shortest time; the usage
            # row goes in with it.
            item_fields = ["credits_used", "checkpoint", "progress_done", "progress_total"]
            if ending:
                refund = await self._end(item_fields, usage_row)
            else:
                await jobs.save_fenced(job, item_fields, with_row=usage_row)
        if ending:
            await jobs.announce(self.context.events, job, refund)

    async def commit_while(
        self,
        model: type[M],
        row_id: int,
        item: str,
        *,
        cost: int,
        usage: Usage,
        write: Callable[[M], Awaitable[None]] | None = None,
        results: Callable[[dict[str, Any]], None] | None = None,
        based_on: Mapping[str, Any] | None = None,
    ) -> bool:
        """`commit` an item that works on one row (a content, a cluster, an image), taking that
        row first in its writes (locked on PostgreSQL until the item commits) and giving it to
        `write` as it is now. A row deleted while the item ran (the model was called, but its
        answer has nowhere to go) ends the item as one deleted before its turn: nothing written,
        nothing charged. `based_on`: the row's values the item's work started from; if an edit
        changed any of them meanwhile, writing would throw that edit away, so the item ends the
        same way and the row's id goes in the job's `changed` result. False in both cases."""

        async def on_the_row() -> None:
            row = await model.select_for_update().get_or_none(id=row_id)
            if row is None:
                raise NotFound(f"{model.__name__} {row_id} was deleted while its item ran.")
            if based_on is not None and any(getattr(row, name) != value for name, value in based_on.items()):
                raise _Changed
            if write is not None:
                await write(row)

        def changed(into: dict[str, Any]) -> None:
            into.setdefault("changed", []).append(row_id)

        try:
            await self.commit(item, cost=cost, usage=usage, write=on_the_row, results=results)
        except NotFound:
            await self.commit(item, cost=0, usage=usage)
            return False
        except _Changed:
            await self.commit(item, cost=0, usage=usage, results=changed)
            return False
        return True

    def _usage_row(self, charge: int, usage: Usage) -> UsageLog | None:
        """The item's usage row (unsaved), if it was charged or called a model."""
        if not charge and not usage.calls:
            return None
        job = self.job
        return UsageLog(
            account_id=job.account_id,
            site_id=job.site_id,
            operation=self.kind,
            credits=charge,
            model=usage.model,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            job_id=job.id,
        )

    async def _end_with_row(self, checkpoint: dict[str, Any], charge: int, usage: Usage, row: jobs.ItemRow) -> bool:
        """PostgreSQL: the last item (`row`, `checkpoint` as `commit` made it), its usage row and
        the job's success in one statement (`jobs.close_with_item`), then the job's events. False
        when that wrote nothing, or the job doesn't simply succeed (it fails, or its kind closes
        rows of its own at its end)."""
        if not on_postgres() or self.ending()[0] != "succeeded" or self.kind in jobs.FINISH_HOOKS:
            return False
        job = self.job
        item_fields = {
            "credits_used": job.credits_used + charge,
            "checkpoint": {**checkpoint, "results": {**checkpoint["results"], **row.results}},
            "progress_done": len(checkpoint["done"]),
            "progress_total": max(job.progress_total, len(self.items())),
        }
        closed = await jobs.close_with_item(job, item_fields, item=row, usage=self._usage_row(charge, usage))
        if closed is None:
            return False
        await jobs.announce(self.context.events, job, closed[1])
        return True

    def ending(self) -> tuple[str, dict[str, Any] | None]:
        """How the job ends once its items are done (status, error), unless a cancel was asked
        for (the actor, or the last item's save, looks at that); a pause is moot then."""
        failure = self.failure()
        return ("succeeded", None) if failure is None else ("failed", failure)

    async def _end(self, item_fields: list[str], usage_row: UsageLog | None) -> CreditTransaction | None:
        """The last item's job save and the job's end in one statement (`jobs.close_fenced`)."""
        status, error = self.ending()
        refund = await jobs.close_fenced(
            self.job, status, item_fields, result=self.result(), error=error, with_row=usage_row
        )
        if self.job.status == "failed":
            await self.on_failed()
        return refund

    async def child_committed(self, child: Operation, item: str, *, charge: int, error: str | None) -> None:
        """Called inside a sub-operation's item transaction, after its writes (see `commit`)."""
        raise NotImplementedError


class PerContent(Operation):
    """An operation with one item per content of one site, priced per content."""

    cost_key: ClassVar[str]
    ends_with_last_item = True

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        contents, missing = await owned_many(Content, caller, params["content_ids"], "content")
        return Plan(
            site_id=_one_site(contents, "contents"),
            params={"content_ids": [c.id for c in contents], "not_found": missing},
            total=len(contents),
            estimate=settings.costs[cls.cost_key] * len(contents),
            uses_ai=cls.prompt_type is not None,
        )

    def items(self) -> list[str]:
        return [str(cid) for cid in self.params["content_ids"]]

    async def run_item(self, item: str) -> None:
        content = await Content.get_or_none(id=int(item))
        if content is None:  # deleted since the job was queued: nothing to do, nothing charged
            await self.commit(item, cost=0, usage=Usage())
            return
        await self.run_content(item, content)

    async def run_content(self, item: str, content: Content) -> None:
        raise NotImplementedError
