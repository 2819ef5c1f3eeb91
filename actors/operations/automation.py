"""The automation run (CONTRACT §12) as one operation of its site's actor.

The seven stages run in order inside the run's job. Each stage picks its items when it starts
(at most its batch size; the ids are kept in the checkpoint, so a resumed run takes the same
ones) and runs them one by one through the existing operations as sub-operations: an item's
writes, its charge (out of the run's one reservation), its usage row, its log line, the run's
stage counters and the checkpoint (`"<stage>:<item>"`) are one transaction. Between items the
actor reads the control column (cancel, pause).

Failures: a model error (AiError) on an item is logged, the item counts as processed-and-failed
and the stage goes on; a stage whose every item failed fails the run (reason `stage_failed`).
Before each item, if its estimated cost would take the run past `max_credits_per_run` or past
its reservation, the run ends `completed` with reason `credit_cap`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tortoise.transactions import in_transaction

from actors.operations.base import Operation
from actors.operations.images import RenderImages, WriteImagePrompts
from actors.operations.planner import AutoCluster, GenerateIdeas
from actors.operations.writer import GenerateContent
from models.automation import AutomationLog, AutomationRun
from models.planner import Cluster, ContentIdea
from models.writer import Content, Image, Task
from schemas.automation import RunResult
from services import automation as service
from services import jobs, planner, publishing
from services.ai_client import AiError, Usage
from services.costs import cluster_cost, content_cost
from services.errors import NotFound, ValidationFailed
from services.principal import Principal
from services.security import utcnow

STAGE_ITEM_TYPE = {
    "clustering": "keywords",
    "ideas": "cluster",
    "tasks": "idea",
    "content": "task",
    "image_prompts": "content",
    "images": "image",
    "publish": "content",
}


class CreateTask(Operation):
    """Stage 3: a writing task for one new idea, locally and free (the planner's own logic)."""

    def items(self) -> list[str]:
        return [str(i) for i in self.params["idea_ids"]]

    async def run_item(self, item: str) -> None:
        # The run acts for its site: the planner's tenancy filter sees that site's ideas only.
        tenant = Principal(kind="user", account_id=self.job.account_id, role="owner", site_id=self.job.site_id)
        made: dict[str, Any] = {}

        async def write() -> None:
            made.update(await planner.create_tasks(tenant, [int(item)]))

        def results(into: dict[str, Any]) -> None:
            into["task_ids"] = [*into.get("task_ids", []), *made.get("task_ids", [])]

        await self.commit(item, cost=0, usage=Usage(), write=write, results=results)


class Publish(Operation):
    """Stage 7: a finished content (draft, no image pending) is delivered (`service.deliver`):
    published to WordPress when the config says `publish` and the site has an integration, else
    moved to review. Publishing talks to WordPress before the item's transaction, never in it."""

    def items(self) -> list[str]:
        return [str(i) for i in self.params["content_ids"]]

    async def run_item(self, item: str) -> None:
        context = self.context
        delivery = await service.deliver(
            publishing.PublishContext(context.settings, context.crypto, context.clients.outbound),
            self.job.id,
            int(item),
            self.params["publish_status"],
        )

        def results(into: dict[str, Any]) -> None:
            into.setdefault(delivery.status, []).append(int(item))

        await self.commit(item, cost=0, usage=Usage(), write=delivery.write, results=results, error=delivery.error)


SUB_OPERATIONS: dict[str, type[Operation]] = {
    "clustering": AutoCluster,
    "ideas": GenerateIdeas,
    "tasks": CreateTask,
    "content": GenerateContent,
    "image_prompts": WriteImagePrompts,
    "images": RenderImages,
    "publish": Publish,
}


class Automation(Operation):
    kind = service.KIND
    result_schema: ClassVar[Any] = RunResult

    run: AutomationRun
    # The item in hand (what the log line and the event name) and its event, set by `child_committed`.
    _item: dict[str, Any]
    _event: dict[str, Any] | None = None

    async def begin(self) -> None:
        self.run = await AutomationRun.get(job_id=self.job.id)
        if not self.job.checkpoint.get("started"):
            self.job.checkpoint = {**self.job.checkpoint, "started": True, "stage": 1}
            await jobs.save_fenced(self.job, ["checkpoint"])
            await service.log(self.run.id, None, "Run started.")
            await self._publish("run_started", service.run_dict(self.run, self.job))

    def items(self) -> list[str]:
        return [item for items in self.job.checkpoint.get("items", {}).values() for item in items]

    def failure(self) -> dict[str, Any] | None:
        failure: dict[str, Any] | None = self.job.checkpoint.get("failure")
        return failure

    async def on_paused(self) -> None:
        self.run = await AutomationRun.get(job_id=self.job.id)
        await service.log(self.run.id, self.run.current_stage, "Paused between items.")
        await self._publish("paused", service.run_dict(self.run, self.job))

    async def _publish(self, event: str, data: dict[str, Any]) -> None:
        await service.publish_run(self.context.events, self.run, event, data)

    # --- the stages -------------------------------------------------------------------------------

    async def run_next(self) -> bool:
        """Run the next item of the pipeline (starting and closing stages on the way); False when
        the run is over (all stages done, or stopped by the credit cap or a failed stage)."""
        while True:
            checkpoint = self.job.checkpoint
            number = checkpoint.get("stage", 1)
            if number > len(service.STAGES) or checkpoint.get("reason"):
                return False
            stage = self.run.stages[number - 1]
            if stage["status"] == "pending":
                await self._start_stage(number)
                continue
            remaining = self._remaining(number)
            if remaining:
                return await self._run_one(number, remaining[0])
            await self._finish_stage(number)

    def _remaining(self, number: int) -> list[str]:
        name = service.STAGES[number - 1]
        done = set(self.job.checkpoint.get("done", []))
        return [i for i in self.job.checkpoint.get("items", {}).get(str(number), []) if f"{name}:{i}" not in done]

    async def _pick(self, name: str) -> tuple[list[str], dict[str, Any], int]:
        """The stage's items, its sub-operation's parameters and its input count (`total`)."""
        config = self.params["config"]
        limit = config["batch"][service.STAGE_BATCH[name]]
        site_id = self.job.site_id
        assert site_id is not None
        if name == "image_prompts":
            per_content = await service.images_per_content(self.job.account_id)
            if per_content == 0:
                return [], {}, 0
            ids = await service.waiting_items(site_id, name, limit)
            params: dict[str, Any] = {"content_ids": ids, "per_content": per_content, "not_found": []}
            return [str(i) for i in ids], params, len(ids)
        ids = await service.waiting_items(site_id, name, limit)
        if name == "clustering":
            params = {"keyword_ids": ids, "sector_id": None, "not_found": []}
            return (["cluster"] if ids else []), params, len(ids)
        params = {
            "ideas": {"cluster_ids": ids, "not_found": []},
            "tasks": {"idea_ids": ids},
            "content": {},  # one task per item: see `_sub`
            "images": {"image_ids": ids},
            "publish": {"content_ids": ids, "publish_status": config["publish_status"]},
        }[name]
        return [str(i) for i in ids], params, len(ids)

    async def _start_stage(self, number: int) -> None:
        name = service.STAGES[number - 1]
        enabled = self.params["config"]["stages"].get(name, True)
        items, params, total = await self._pick(name) if enabled else ([], {}, 0)
        now = utcnow().isoformat()
        stage = self.run.stages[number - 1]
        stage.update(status="running" if items else "skipped", total=total, started_at=now)
        if not items:
            stage["finished_at"] = now
        checkpoint = dict(self.job.checkpoint)
        checkpoint["items"] = {**checkpoint.get("items", {}), str(number): items}
        checkpoint["params"] = {**checkpoint.get("params", {}), str(number): params}
        if not items:
            checkpoint["stage"] = number + 1
        self.run.current_stage, self.run.current_item = number, None
        if not enabled:
            message = f"Stage {number} ({name}) skipped: disabled in the config."
        elif not items:
            message = f"Stage {number} ({name}) skipped: nothing to do."
        else:
            message = f"Stage {number} ({name}) started: {total} to process."
        async with in_transaction():
            self.job.checkpoint = checkpoint
            self.job.progress_total += len(items)
            await jobs.save_fenced(self.job, ["checkpoint", "progress_total"])
            await self.run.save(update_fields=["stages", "current_stage", "current_item", "updated_at"])
            await AutomationLog.create(run_id=self.run.id, stage=number, message=message)
        await self._publish(
            "stage_started", {"number": number, "stage": name, "status": stage["status"], "total": total}
        )

    async def _finish_stage(self, number: int) -> None:
        name = service.STAGES[number - 1]
        stage = self.run.stages[number - 1]
        checkpoint = {**self.job.checkpoint, "stage": number + 1}
        all_failed = stage["processed"] > 0 and stage["failed"] == stage["processed"]
        stage.update(status="failed" if all_failed else "completed", finished_at=utcnow().isoformat())
        summary = (
            f"Stage {number} ({name}) {stage['status']}: {stage['processed']} processed, "
            f"{stage['failed']} failed, {stage['credits_used']} credits."
        )
        if all_failed:
            last = checkpoint.get("last_error") or "see the log"
            checkpoint["reason"] = "stage_failed"
            checkpoint["failure"] = {
                "code": "upstream_error",
                "message": f"Every item of stage {number} ({name}) failed; last error: {last}",
            }
        async with in_transaction():
            self.job.checkpoint = checkpoint
            await jobs.save_fenced(self.job, ["checkpoint"])
            await self.run.save(update_fields=["stages", "updated_at"])
            level = "error" if all_failed else "info"
            await AutomationLog.create(run_id=self.run.id, stage=number, message=summary, level=level)

    async def _stop(self, number: int, reason: str, message: str) -> None:
        self.job.checkpoint = {**self.job.checkpoint, "reason": reason}
        async with in_transaction():
            await jobs.save_fenced(self.job, ["checkpoint"])
            await AutomationLog.create(run_id=self.run.id, stage=number, message=message, level="warning")

    # --- one item --------------------------------------------------------------------------------

    def _sub(self, number: int, item: str) -> Operation:
        name = service.STAGES[number - 1]
        params = self.job.checkpoint["params"][str(number)]
        if name == "content":
            params = {"task_id": int(item)}
        return SUB_OPERATIONS[name](self.job, self.context, params=params, parent=self, stage=name)

    async def _describe(self, number: int, item: str) -> tuple[dict[str, Any], int]:
        """The item as the dashboard shows it, and what it is expected to cost (the cost table)."""
        name = service.STAGES[number - 1]
        settings = self.context.settings
        kind = STAGE_ITEM_TYPE[name]
        if name == "clustering":
            count = len(self.job.checkpoint["params"][str(number)]["keyword_ids"])
            return {"type": kind, "id": None, "title": f"{count} keywords"}, cluster_cost(settings, count)
        row_id = int(item)
        title, cost = "", 0
        if name == "ideas":
            cluster = await Cluster.get_or_none(id=row_id)
            if cluster is not None:
                title, cost = cluster.name, settings.costs["generate_ideas_per_cluster"]
        elif name == "tasks":
            idea = await ContentIdea.get_or_none(id=row_id)
            title = idea.title if idea is not None else ""
        elif name == "content":
            task = await Task.get_or_none(id=row_id)
            if task is not None:
                title, cost = task.title, content_cost(settings, task.word_count)
        elif name == "images":
            image = await Image.get_or_none(id=row_id)
            if image is not None:
                title, cost = image.alt_text or image.prompt[:120], settings.costs["generate_images_per_image"]
        else:
            content = await Content.get_or_none(id=row_id)
            title = content.title if content is not None else ""
        return {"type": kind, "id": row_id, "title": title}, cost

    async def _run_one(self, number: int, item: str) -> bool:
        self._item, estimate = await self._describe(number, item)
        cap = self.params["config"].get("max_credits_per_run")
        room = self.job.credits_reserved - self.job.credits_used
        if cap is not None:
            room = min(room, cap - self.job.credits_used)
        if estimate > room:
            message = (
                f"Stopped before {self._item['type']} {self._item['id'] or ''} ({estimate} credits): "
                f"{self.job.credits_used} used, the run may spend {self.job.credits_used + max(room, 0)}."
            )
            await self._stop(number, "credit_cap", message)
            return False
        sub = self._sub(number, item)
        sub.item_budget = estimate
        self._event = None
        try:
            await sub.begin()
            await sub.run_item(item)
        # A model error, no usable key, a row deleted meanwhile: the item fails, the stage goes on.
        except (AiError, ValidationFailed, NotFound) as exc:
            await sub.on_failed()
            await sub.commit(item, cost=0, usage=Usage(), error=exc.message)
        if self._event is not None:
            await self._publish("item_processed", self._event)
        return True

    async def child_committed(self, child: Operation, item: str, *, charge: int, error: str | None) -> None:
        """Inside the item's transaction: the stage counters, the run's current item, the log line."""
        assert child.stage is not None
        number = service.STAGE_NUMBER[child.stage]
        stage = self.run.stages[number - 1]
        weight = len(child.params["keyword_ids"]) if child.stage == "clustering" else 1
        stage["processed"] += weight
        stage["credits_used"] += charge
        if error is not None:
            stage["failed"] += weight
            self.job.checkpoint["last_error"] = error
        now = utcnow().isoformat()
        self.run.current_item = {
            "stage": child.stage,
            "number": number,
            "item": self._item,
            "processed": stage["processed"],
            "total": stage["total"],
            "at": now,
        }
        self.job.progress_done = len(self.job.checkpoint["done"])
        await self.run.save(update_fields=["stages", "current_item", "updated_at"])
        label = f"{self._item['type']} {self._item['id'] or ''}".strip()
        title = f" '{self._item['title']}'" if self._item["title"] else ""
        message = f"{label}{title}: " + (f"failed: {error}" if error else f"done, {charge} credits")
        await AutomationLog.create(
            run_id=self.run.id,
            stage=number,
            level="error" if error else "info",
            message=message,
            item_id=self._item["id"],
        )
        self._event = {
            "number": number,
            "stage": child.stage,
            "item": self._item,
            "status": "failed" if error else "processed",
            "error": error,
            "processed": stage["processed"],
            "total": stage["total"],
            "credits": charge,
            "credits_used": self.job.credits_used,
        }
