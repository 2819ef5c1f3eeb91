"""The automation pipeline's domain side (CONTRACT §12): config, runs and their control, the
estimate, the pipeline overview and the scheduler's arithmetic.

A run owns a job (`kind="automation"`): the job holds the money (one reservation at the start,
one settlement at the end), the checkpoint, the control column and the machine status; the run
keeps the stages, the trigger, the reason it stopped and the one-active-run-per-site rule
(`active_site_id`, unique in the database). The site actor executes the job item by item
(actors/operations/automation.py).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery

from config.settings import Settings
from models.automation import STAGES, AutomationConfig, AutomationLog, AutomationRun
from models.db import save_changes
from models.jobs import Job
from models.planner import Cluster, ContentIdea, Keyword
from models.writer import Content, Image, Task
from services import ai_settings, jobs, ledger, publishing
from services.costs import IDEAS_PER_CLUSTER, cluster_cost, content_cost
from services.errors import Conflict, InsufficientCredits
from services.events import EventBus
from services.security import utcnow

KIND = "automation"
STAGE_NUMBER = {name: number for number, name in enumerate(STAGES, start=1)}
# The batch size that bounds each stage's input (stages 5 and 7 both take contents).
STAGE_BATCH = {
    "clustering": "keywords",
    "ideas": "clusters",
    "tasks": "ideas",
    "content": "tasks",
    "image_prompts": "contents",
    "images": "images",
    "publish": "contents",
}

DEFAULT_CONFIG: dict[str, Any] = {
    "enabled": False,
    "schedule": {"frequency": "daily", "time": "03:00", "weekday": 0},
    "stages": dict.fromkeys(STAGES, True),
    "batch": {"keywords": 50, "clusters": 10, "ideas": 30, "tasks": 10, "contents": 10, "images": 30},
    "publish_status": "draft",
    "max_credits_per_run": None,
}

# Estimate assumptions (the charges themselves use the same cost table, see `item_cost`):
# the clustering model makes one cluster per KEYWORDS_PER_CLUSTER new keywords (rounded up);
# each cluster gets IDEAS_PER_CLUSTER ideas (the count the ideas prompt asks for); a task made
# in this run asks for ESTIMATED_WORDS_PER_IDEA words (the length the ideas prompt shows as its
# example), and the writer writes about that many; every image prompt asked for is written.
KEYWORDS_PER_CLUSTER = 5
ESTIMATED_WORDS_PER_IDEA = 1200

STATUS_OF_JOB = {"succeeded": "completed"}  # every other job status is the run's own word
ACTIVE_RUN = ("queued", "running", "paused")


# --- config -----------------------------------------------------------------------------------------


def config_dict(row: AutomationConfig | None, site_id: int) -> dict[str, Any]:
    """The effective config of a site: its row over the defaults (a site without one has them)."""
    values = {key: (dict(value) if isinstance(value, dict) else value) for key, value in DEFAULT_CONFIG.items()}
    if row is not None:
        values["enabled"] = row.enabled
        for key in ("schedule", "stages", "batch"):
            values[key].update(getattr(row, key) or {})
        values["publish_status"] = row.publish_status
        values["max_credits_per_run"] = row.max_credits_per_run
    values["site_id"] = site_id
    values["next_run_at"] = row.next_run_at if row is not None else None
    return values


async def get_config(site_id: int) -> dict[str, Any]:
    return config_dict(await AutomationConfig.get_or_none(site_id=site_id), site_id)


async def update_config(account_id: int, site_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge `changes` (any subset; nested objects merged key by key) and recompute when the
    scheduler next starts a run (`next_run_at`, None while disabled)."""
    current = await get_config(site_id)
    for key, value in changes.items():
        if isinstance(value, dict):
            current[key] = {**current[key], **value}
        else:
            current[key] = value
    next_run_at = next_due(current["schedule"], utcnow()) if current["enabled"] else None
    values = {
        "enabled": current["enabled"],
        "schedule": current["schedule"],
        "stages": current["stages"],
        "batch": current["batch"],
        "publish_status": current["publish_status"],
        "max_credits_per_run": current["max_credits_per_run"],
        "next_run_at": next_run_at,
    }
    row = await AutomationConfig.get_or_none(site_id=site_id)
    if row is None:
        try:
            row = await AutomationConfig.create(account_id=account_id, site_id=site_id, **values)
        except IntegrityError:  # a concurrent first save: update the row it made
            row = await AutomationConfig.get(site_id=site_id)
    await save_changes(row, values)
    return config_dict(row, site_id)


# --- scheduling ---------------------------------------------------------------------------------------


def _clock(schedule: dict[str, Any]) -> tuple[int, int]:
    hour, _, minute = str(schedule.get("time") or "00:00").partition(":")
    return int(hour), int(minute or 0)


def next_due(schedule: dict[str, Any], after: datetime) -> datetime:
    """The first due time strictly after `after` (UTC): hourly at the `time`'s minute, daily at
    `time`, weekly on `weekday` (0 = Monday) at `time`."""
    hour, minute = _clock(schedule)
    base = after.replace(second=0, microsecond=0)
    frequency = schedule.get("frequency", "daily")
    if frequency == "hourly":
        due = base.replace(minute=minute)
        while due <= after:
            due += timedelta(hours=1)
        return due
    due = base.replace(hour=hour, minute=minute)
    step = timedelta(days=1)
    if frequency == "weekly":
        due += timedelta(days=(int(schedule.get("weekday", 0)) - due.weekday()) % 7)
        step = timedelta(days=7)
    while due <= after:
        due += step
    return due


async def due_configs(now: datetime, limit: int = 100) -> list[AutomationConfig]:
    return await AutomationConfig.filter(enabled=True, next_run_at__lte=now).order_by("next_run_at").limit(limit)


async def advance_schedule(row: AutomationConfig, now: datetime) -> None:
    """Move a config past the due time it was read with (conditional: once, whoever does it)."""
    slot = row.next_run_at
    if slot is None:
        return
    following = next_due(config_dict(row, row.site_id)["schedule"], max(slot, now))
    await AutomationConfig.filter(id=row.id, next_run_at=slot).update(next_run_at=following)


# --- runs ---------------------------------------------------------------------------------------------


def run_status(job: Job) -> str:
    return STATUS_OF_JOB.get(job.status, job.status)


def empty_stages(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "number": number,
            "stage": name,
            "status": "pending" if config["stages"].get(name, True) else "disabled",
            "processed": 0,
            "failed": 0,
            "total": 0,
            "credits_used": 0,
            "started_at": None,
            "finished_at": None,
        }
        for number, name in enumerate(STAGES, start=1)
    ]


def run_dict(run: AutomationRun, job: Job) -> dict[str, Any]:
    return {
        "id": run.id,
        "site_id": run.site_id,
        "job_id": job.id,
        "status": run_status(job),
        "trigger": run.trigger,
        "current_stage": STAGES[run.current_stage - 1] if run.current_stage else None,
        "stages": run.stages,
        "credits_reserved": job.credits_reserved,
        "credits_used": job.credits_used,
        "reason": run.reason,
        "error": job.error,
        "scheduled_for": run.scheduled_for,
        "created_at": run.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def run_channels(run: AutomationRun) -> list[str]:
    return [f"run:{run.id}", f"site:{run.site_id}", f"account:{run.account_id}"]


async def publish_run(events: EventBus, run: AutomationRun, event: str, data: dict[str, Any]) -> None:
    """`automation.<event>` on the run's, the site's and the account's channels."""
    await events.publish(run_channels(run), f"automation.{event}", {"run_id": run.id, **data})


async def load_run(run_id: int) -> tuple[AutomationRun, Job]:
    run = await AutomationRun.get(id=run_id)
    return run, await Job.get(id=run.job_id)


async def active_run(site_id: int) -> AutomationRun | None:
    return await AutomationRun.get_or_none(active_site_id=site_id)


async def start_run(
    events: EventBus,
    settings: Settings,
    *,
    account_id: int,
    site_id: int,
    user_id: int | None,
    trigger: str,
    scheduled_for: datetime | None = None,
) -> tuple[AutomationRun, Job]:
    """Create a queued run and its job holding the run's estimate (capped by
    `max_credits_per_run`). 409 `conflict` when the site has an active run (or the due time has
    its run already), 402 with the per-stage `estimate` when the balance is short; either way
    nothing is created. The caller hands the job to the site's actor."""
    config = await get_config(site_id)
    table = await estimate(settings, account_id, site_id, config)
    reserve = table["required"]
    made: list[AutomationRun] = []

    async def attach(job: Job) -> None:
        made.append(
            await AutomationRun.create(
                account_id=account_id,
                site_id=site_id,
                job=job,
                trigger=trigger,
                stages=empty_stages(config),
                scheduled_for=scheduled_for,
                active_site_id=site_id,
            )
        )

    params = {"config": {k: config[k] for k in ("stages", "batch", "publish_status", "max_credits_per_run")}}
    try:
        job = await jobs.create(
            events,
            account_id=account_id,
            site_id=site_id,
            user_id=user_id,
            kind=KIND,
            params=params,
            total=0,
            reserve=reserve,
            attach=attach,
        )
    except IntegrityError:
        raise Conflict("A run of this site is already queued, running or paused.") from None
    except InsufficientCredits as exc:
        raise InsufficientCredits(
            exc.extra["required"], exc.extra["available"], extra={"estimate": table["stages"]}
        ) from None
    run = made[0]
    await log(run.id, None, f"Run queued ({trigger}); {reserve} credits reserved of an estimate of {table['total']}.")
    return run, job


async def log(run_id: int, stage: int | None, message: str, *, level: str = "info", item_id: int | None = None) -> None:
    await AutomationLog.create(run_id=run_id, stage=stage, message=message, level=level, item_id=item_id)


async def pause_run(events: EventBus, run: AutomationRun, job: Job) -> None:
    if not await jobs.request_pause(job):
        raise Conflict(f"The run is {run_status(job)}; only a queued or running run can be paused.")
    await log(run.id, run.current_stage, "Pause requested; the run pauses after the item in flight.")
    if job.status == "paused":  # it had not started: paused at once
        await publish_run(events, run, "paused", run_dict(run, job))


async def resume_run(events: EventBus, run: AutomationRun, job: Job) -> str:
    """`queued` when the caller must hand the job to its actor again; `running` when a pause
    that had not taken effect yet was withdrawn."""
    outcome = await jobs.resume(job)
    if outcome is None:
        raise Conflict(f"The run is {run_status(job)}; only a paused run can be resumed.")
    await log(run.id, run.current_stage, "Resumed.")
    await publish_run(events, run, "resumed", run_dict(run, job))
    return outcome


async def cancel_run(events: EventBus, run: AutomationRun, job: Job) -> Job:
    if job.status not in jobs.UNFINISHED:
        raise Conflict(f"The run is {run_status(job)}; it can no longer be cancelled.")
    return await jobs.request_cancel(events, job)


async def _closing(job: Job) -> None:
    """In the job's finishing transaction: the site is free again and open stages are closed."""
    run = await AutomationRun.get(job_id=job.id)
    reason = (job.checkpoint or {}).get("reason")
    end = {"cancelled": "cancelled", "failed": "failed"}.get(job.status, "stopped")
    now = utcnow().isoformat()
    for stage in run.stages:
        if stage["status"] == "running":
            stage["status"], stage["finished_at"] = end, now
    run.active_site_id = None
    run.reason = reason or (job.status if job.status != "succeeded" else None)
    await run.save(update_fields=["active_site_id", "reason", "stages", "updated_at"])
    summary = (
        f"Run {run_status(job)}" + (f" ({run.reason})" if run.reason else "") + f"; {job.credits_used} credits used."
    )
    level = "error" if job.status == "failed" else "info"
    await log(run.id, None, summary + (f" {job.error['message']}" if job.error else ""), level=level)


async def _closed(events: EventBus, job: Job) -> None:
    run = await AutomationRun.get(job_id=job.id)
    await publish_run(events, run, run_status(job), run_dict(run, job))


jobs.FINISH_HOOKS[KIND] = jobs.FinishHooks(closing=_closing, closed=_closed)


async def deliver(
    context: publishing.PublishContext, job_id: int, content_id: int, publish_status: str
) -> publishing.Delivery:
    """Stage 7 for one finished content; `Delivery.write` (run in the item's transaction) stores it.

    With `publish_status == "publish"` and an active WordPress integration on the site, the
    content is published through services.publishing as an item of the run's job (a publishing
    record, the post created or updated — never twice — and read back) and ends `published`; if
    that fails the item fails and the content stays `draft`, so the next run tries again.
    Otherwise (`draft` asked for, or no integration) it goes to `review`: a person publishes it."""
    content = await Content.get_or_none(id=content_id)
    if content is not None and publish_status == "publish" and await publishing.has_integration(content.site_id):
        return await publishing.deliver_content(context, job_id, content, "publish")

    async def to_review() -> None:
        await Content.filter(id=content_id, status="draft").update(status="review")

    return publishing.Delivery("review", to_review, {"content_id": content_id, "status": "review"})


# --- what the pipeline would do: the estimate and the overview ---------------------------------------


def _contents_without_images(site_id: int) -> Any:
    with_images = Subquery(Image.filter(site_id=site_id).values("content_id"))
    return Content.filter(site_id=site_id, status="draft").exclude(id__in=with_images)


def _contents_ready(site_id: int) -> Any:
    pending = Subquery(Image.filter(site_id=site_id, status="pending").values("content_id"))
    return Content.filter(site_id=site_id, status="draft").exclude(id__in=pending)


async def waiting_items(site_id: int, stage: str, limit: int) -> list[int]:
    """The ids a stage would take now, oldest first, at most `limit` (its batch size)."""
    queries: dict[str, Any] = {
        "clustering": Keyword.filter(site_id=site_id, status="new"),
        "ideas": Cluster.filter(site_id=site_id, status="new"),
        "tasks": ContentIdea.filter(site_id=site_id, status="new"),
        "content": Task.filter(site_id=site_id, status="queued"),
        "image_prompts": _contents_without_images(site_id),
        "images": Image.filter(site_id=site_id, status="pending"),
        "publish": _contents_ready(site_id),
    }
    return list(await queries[stage].order_by("id").limit(limit).values_list("id", flat=True))


async def overview(site_id: int) -> dict[str, Any]:
    """How many items wait for each stage now (not capped by the batch sizes)."""
    counts = {
        "clustering": Keyword.filter(site_id=site_id, status="new").count(),
        "ideas": Cluster.filter(site_id=site_id, status="new").count(),
        "tasks": ContentIdea.filter(site_id=site_id, status="new").count(),
        "content": Task.filter(site_id=site_id, status="queued").count(),
        "image_prompts": _contents_without_images(site_id).count(),
        "images": Image.filter(site_id=site_id, status="pending").count(),
        "publish": _contents_ready(site_id).count(),
    }
    config = await get_config(site_id)
    stages = [
        {"number": STAGE_NUMBER[name], "stage": name, "enabled": config["stages"][name], "waiting": await query}
        for name, query in counts.items()
    ]
    return {"site_id": site_id, "stages": stages}


async def images_per_content(account_id: int) -> int:
    image = await ai_settings.image_settings(account_id)
    return int(image["images_per_content"]) + (1 if image["featured_image"] else 0)


async def estimate(settings: Settings, account_id: int, site_id: int, config: dict[str, Any]) -> dict[str, Any]:
    """Simulate the seven stages on what waits now (and what earlier stages would make, under
    the assumptions above), priced with the cost table the charges use. `required` is what a
    run reserves: the total, capped by `max_credits_per_run`."""
    costs = settings.costs
    on = config["stages"]
    batch = config["batch"]
    rows: list[dict[str, Any]] = []

    def add(stage: str, items: int, credits: int) -> None:
        rows.append({"number": STAGE_NUMBER[stage], "stage": stage, "items": items, "credits": credits})

    keywords = len(await waiting_items(site_id, "clustering", batch["keywords"])) if on["clustering"] else 0
    add("clustering", keywords, cluster_cost(settings, keywords) if keywords else 0)
    new_clusters = math.ceil(keywords / KEYWORDS_PER_CLUSTER)

    clusters = 0
    if on["ideas"]:
        clusters = min(await Cluster.filter(site_id=site_id, status="new").count() + new_clusters, batch["clusters"])
    add("ideas", clusters, clusters * costs["generate_ideas_per_cluster"])

    ideas = 0
    if on["tasks"]:
        waiting = await ContentIdea.filter(site_id=site_id, status="new").count()
        ideas = min(waiting + clusters * IDEAS_PER_CLUSTER, batch["ideas"])
    add("tasks", ideas, 0)

    word_counts: list[int] = []
    if on["content"]:
        queued = Task.filter(site_id=site_id, status="queued").order_by("id").limit(batch["tasks"])
        word_counts = cast("list[int]", list(await queued.values_list("word_count", flat=True)))
        word_counts += [ESTIMATED_WORDS_PER_IDEA] * max(0, min(ideas, batch["tasks"] - len(word_counts)))
    add("content", len(word_counts), sum(content_cost(settings, w) for w in word_counts))

    per_content = await images_per_content(account_id)
    contents = 0
    if on["image_prompts"] and per_content:
        waiting = await _contents_without_images(site_id).count()
        contents = min(waiting + len(word_counts), batch["contents"])
    add("image_prompts", contents, 0)

    images = 0
    if on["images"]:
        waiting = await Image.filter(site_id=site_id, status="pending").count()
        images = min(waiting + contents * per_content, batch["images"])
    add("images", images, images * costs["generate_images_per_image"])

    ready = 0
    if on["publish"]:
        ready = min(await _contents_ready(site_id).count() + len(word_counts), batch["contents"])
    add("publish", ready, 0)

    total = sum(row["credits"] for row in rows)
    cap = config.get("max_credits_per_run")
    required = total if cap is None else min(total, cap)
    balance = await ledger.balance(account_id)
    return {
        "stages": rows,
        "total": total,
        "required": required,
        "max_credits_per_run": cap,
        "balance": balance,
        "sufficient": balance >= required,
    }
