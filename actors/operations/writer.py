"""Writer operations: an article for a task."""

from __future__ import annotations

from typing import Any

from tortoise.models import Model

from actors.operations.base import Operation, Plan
from config.settings import Settings
from models.writer import Content, Task
from schemas import jobs as jobs_schemas
from services.ai_client import Usage
from services.costs import content_cost
from services.errors import Conflict, NotFound
from services.jobs import ItemRow
from services.principal import Principal
from services.seo import count_words
from services.writer import (
    complete_task,
    first_content_steps,
    owned_task_and_content_id,
    sanitise_html,
    start_task,
    store_first_content,
    store_next_version,
    task_content,
    task_in_progress_over,
)

# --- content ---------------------------------------------------------------------------------------


class GenerateContent(Operation):
    kind = "generate_content"
    ends_with_last_item = True
    result_schema = jobs_schemas.GenerateContentResult
    prompt_type = "content"
    task: Task | None = None

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        task, content_id = await owned_task_and_content_id(caller, params["task_id"])
        regenerate = bool(params.get("regenerate", False))
        if not regenerate and content_id is not None:  # a second article: a second Content, charged again
            raise Conflict(
                f'Task {task.id} already has content {content_id}; send {{"regenerate": true}} '
                "to store a new article as its next version."
            )
        return Plan(
            site_id=task.site_id,
            params={"task_id": task.id, "regenerate": regenerate},
            total=1,
            estimate=content_cost(settings, task.word_count),
        )

    # On PostgreSQL the actor marks the task in progress with the statement that takes the job.
    begin_model = Task

    @classmethod
    def begin_statement(cls, job_row: str) -> str:
        return task_in_progress_over(job_row)

    async def begin(self) -> None:
        self.task = await start_task(self.params["task_id"])

    def begun(self, row: Model) -> None:
        assert isinstance(row, Task)
        self.task = row

    async def on_failed(self) -> None:
        await Task.filter(id=self.params["task_id"], status="in_progress").update(status="failed")

    def items(self) -> list[str]:
        return [str(self.params["task_id"])]

    async def run_item(self, item: str) -> None:
        task = self.task or await Task.get_or_none(id=int(item))
        if task is None:
            raise NotFound(f"Task {item} was deleted before its article was written.")
        keyword = task.keywords[0] if task.keywords else task.title
        prompt = await self.prompt(title=task.title, keyword=keyword, word_count=task.word_count, brief=task.brief)
        usage = Usage()
        article = await self.chat(prompt, usage, what="Content writing")
        html = sanitise_html(article["html"])
        words = count_words(html)
        content_holder: list[Content] = []

        text = {
            "title": article["title"],
            "html": html,
            "meta_title": article["meta_title"],
            "meta_description": article["meta_description"],
            # A task without keywords falls back to its title, longer than the keyword column.
            "primary_keyword": article["primary_keyword"] or keyword[:255],
            "secondary_keywords": article["secondary_keywords"],
            "word_count": words,
        }

        def new_content() -> Content:  # its slug chosen as it is stored
            return Content(
                account_id=task.account_id,
                site_id=task.site_id,
                sector_id=task.sector_id,
                cluster_id=task.cluster_id,
                task_id=task.id,
                content_type=task.content_type,
                slug="",
                source="ai",
                status="draft",
                **text,
            )

        async def first_content() -> Content | None:
            return await store_first_content(new_content())

        async def write() -> None:
            # Looked up at write time: regenerating, or content made since the plan (a request
            # racing this one), becomes the next version, never a second Content for the task.
            # Not regenerating, the task has none as a rule: the first content's insert checks.
            content = None if self.params.get("regenerate") else await first_content()
            while content is None:
                existing = await task_content(task.id)
                if existing is None:
                    content = await first_content()
                    if content is None and not await Task.exists(id=task.id):
                        # Deleted while the model wrote: its article has nowhere to go.
                        raise NotFound(f"Task {task.id} was deleted while its article was being written.")
                else:
                    content = await store_next_version(existing, text)
                    await complete_task(task.id, content.id)
            content_holder.append(content)

        counted = {"word_count": words}  # the item's results, with its content's id

        def results(into: dict[str, Any]) -> None:
            into.update(counted, content_id=content_holder[0].id)

        # PostgreSQL, a first article: the content, its task and the job's end in one statement.
        row = None
        if not self.params.get("regenerate"):
            row = ItemRow(
                steps=lambda gate, first: first_content_steps(new_content(), first=first, gate=gate),
                results=counted,
                ids={"content_id": "id"},
            )
        cost = content_cost(self.context.settings, words)
        await self.commit(item, cost=cost, usage=usage, write=write, results=results, row=row)
