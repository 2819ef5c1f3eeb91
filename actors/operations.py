"""The operations a site actor runs as jobs. Each is planned in the request (inputs checked,
credits estimated) and executed item by item; an item's writes, its cost and the checkpoint
are committed in one transaction, so a resumed job never repeats or re-charges an item."""

from __future__ import annotations

import math
import struct
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar, cast

from tortoise.transactions import in_transaction

from config.prompts import render_prompt
from config.settings import Settings
from models.accounts import Site
from models.billing import UsageLog
from models.jobs import Job
from models.linker import Link
from models.planner import Cluster, ContentIdea, Keyword
from models.writer import Content, ContentVersion, Image, Task
from server.access import Principal
from server.crud import scoped
from server.errors import NotFound, ValidationFailed
from services import ai_client, ai_settings
from services.ai_client import AiError, Usage
from services.jobs import Waiters
from services.linker import LinkTarget, add_internal_links
from services.planner import normalise_keyword, recount_clusters
from services.security import Crypto
from services.seo import ContentInput, analyze, count_words, html_text
from services.writer import sanitise_html, unique_slug

IDEAS_PER_CLUSTER = 3
T = TypeVar("T")


@dataclass(frozen=True)
class OperationContext:
    settings: Settings
    crypto: Crypto
    waiters: Waiters
    clients: ai_client.AiClients


@dataclass(frozen=True)
class Plan:
    """What the request decided: the site, the normalised parameters, the items and the price."""

    site_id: int
    params: dict[str, Any]
    total: int
    estimate: int
    uses_ai: bool = True


def _one_site(rows: Sequence[Any], what: str) -> int:
    sites = {row.site_id for row in rows}
    if len(sites) != 1:
        raise ValidationFailed(f"All {what} must belong to one site.", errors={"ids": ["Ids span several sites."]})
    return sites.pop()


async def _owned(model: type[Any], caller: Principal, ids: list[int], what: str) -> tuple[list[Any], list[int]]:
    """The caller's rows among `ids` (in the given order) and the ids not found; 404 if none are."""
    wanted = list(dict.fromkeys(ids))
    rows = {row.id: row for row in await scoped(model, caller).filter(id__in=wanted)}
    if not rows:
        raise NotFound(f"No {what} found with these ids.")
    return [rows[i] for i in wanted if i in rows], [i for i in wanted if i not in rows]


def _require(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, str | list) and not value):
        raise ValueError(f"{what} must be a non-empty {getattr(kind, '__name__', kind)}")
    return value


class Operation:
    kind: ClassVar[str]
    prompt_type: ClassVar[str | None] = None
    operations: ClassVar[dict[str, type[Operation]]] = {}

    def __init_subclass__(cls) -> None:
        if "kind" in cls.__dict__:  # abstract bases like PerContent have no kind of their own
            Operation.operations[cls.kind] = cls

    def __init__(self, job: Job, context: OperationContext, config: ai_settings.AiConfig | None = None) -> None:
        self.job = job
        self.context = context
        self._config = config

    # --- planning, in the request ---------------------------------------------------------------

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        raise NotImplementedError

    # --- running, in the site actor -------------------------------------------------------------

    async def begin(self) -> None:
        """Load what the items need; runs on start and on resume."""

    def items(self) -> list[str]:
        raise NotImplementedError

    async def run_item(self, item: str) -> None:
        raise NotImplementedError

    async def on_failed(self) -> None:
        """Undo in-progress markers when the job fails."""

    def failure(self) -> dict[str, Any] | None:
        """An error for a job whose items all ran but which still failed (e.g. no image made)."""
        return None

    def remaining(self) -> list[str]:
        done = set(self.job.checkpoint.get("done", []))
        return [item for item in self.items() if item not in done]

    async def run_next(self) -> bool:
        """Run one remaining item; say whether any is left (items may grow as they run)."""
        remaining = self.remaining()
        if not remaining:
            return False
        await self.run_item(remaining[0])
        return bool(self.remaining())

    def result(self) -> dict[str, Any]:
        return dict(self.job.checkpoint.get("results", {}))

    def error_of(self, exc: AiError) -> dict[str, Any]:
        return {"code": exc.code, "message": exc.message}

    async def config(self) -> ai_settings.AiConfig:
        if self._config is None:
            self._config = await ai_settings.load_config(
                self.job.account_id,
                self.context.settings,
                self.context.crypto,
            )
        return self._config

    async def chat(self, prompt: str, check: Callable[[Any], T], usage: Usage, *, what: str) -> T:
        return await ai_client.chat_json(self.context.clients, await self.config(), prompt, check, usage, what=what)

    async def render(self, prompt: str, usage: Usage) -> bytes:
        return await ai_client.generate_image(
            self.context.clients, await self.config(), prompt, usage, what="Image generation"
        )

    async def prompt(self, **values: Any) -> str:
        assert self.prompt_type is not None
        text = await ai_settings.prompt_text(self.job.account_id, self.prompt_type)
        return render_prompt(text, values)

    async def commit(
        self,
        item: str,
        *,
        cost: int,
        usage: Usage,
        write: Callable[[], Awaitable[None]] | None = None,
        results: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Persist one finished item: its writes, its charge (never past the reservation), the
        usage row and the checkpoint, all or nothing."""
        job = self.job
        charge = max(0, min(cost, job.credits_reserved - job.credits_used))
        checkpoint: dict[str, Any] = {
            "done": [*job.checkpoint.get("done", []), item],
            "results": dict(job.checkpoint.get("results", {})),
        }
        async with in_transaction():
            if write is not None:
                await write()
            if results is not None:  # after the writes: results may name the rows they made
                results(checkpoint["results"])
            job.credits_used += charge
            job.checkpoint = checkpoint
            job.progress_done = len(checkpoint["done"])
            job.progress_total = max(job.progress_total, len(self.items()))
            await job.save(
                update_fields=["credits_used", "checkpoint", "progress_done", "progress_total", "updated_at"]
            )
            if charge or usage.calls:
                await UsageLog.create(
                    account_id=job.account_id,
                    site_id=job.site_id,
                    operation=job.kind,
                    credits=charge,
                    model=usage.model,
                    tokens_in=usage.tokens_in,
                    tokens_out=usage.tokens_out,
                    job_id=job.id,
                )


# --- clustering ------------------------------------------------------------------------------------


def _check_clusters(answer: Any) -> list[dict[str, Any]]:
    clusters = _require(answer.get("clusters") if isinstance(answer, dict) else None, list, "clusters")
    for cluster in clusters:
        _require(cluster.get("name") if isinstance(cluster, dict) else None, str, "cluster name")
        _require(cluster.get("keywords"), list, "cluster keywords")
    return clusters


class AutoCluster(Operation):
    kind = "auto_cluster"
    prompt_type = "clustering"

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        keywords, missing = await _owned(Keyword, caller, params["ids"], "keywords")
        keywords = [kw for kw in keywords if kw.site_id == params["site_id"]]
        if not keywords:
            raise NotFound("None of these keywords belong to that site.")
        costs = settings.costs
        estimate = max(costs["auto_cluster_min"], costs["auto_cluster_per_keyword"] * len(keywords))
        return Plan(
            site_id=params["site_id"],
            params={
                "keyword_ids": [kw.id for kw in keywords],
                "sector_id": params.get("sector_id"),
                "not_found": missing,
            },
            total=1,
            estimate=estimate,
        )

    def items(self) -> list[str]:
        return ["cluster"]

    async def run_item(self, item: str) -> None:
        site = await Site.get(id=self.job.site_id)
        keywords = await Keyword.filter(id__in=self.job.params["keyword_ids"], site_id=site.id).order_by("id")
        usage = Usage()
        prompt = await self.prompt(site_name=site.name, keywords="\n".join(f"- {kw.keyword}" for kw in keywords))
        clusters = await self.chat(prompt, _check_clusters, usage, what="Clustering")
        by_key = {kw.keyword_key: kw for kw in keywords}
        summary: list[dict[str, Any]] = []

        async def write() -> None:
            mapped: set[int] = set()
            for proposal in clusters:
                name = normalise_keyword(str(proposal["name"]))[:200]
                members = [by_key[k] for k in (str(x).strip().lower() for x in proposal["keywords"]) if k in by_key]
                members = [kw for kw in members if kw.id not in mapped]
                if not name or not members:
                    continue
                cluster, created = await Cluster.get_or_create(
                    site_id=site.id,
                    name_key=name.lower(),
                    defaults={
                        "account_id": site.account_id,
                        "name": name,
                        "description": str(proposal.get("description", ""))[:5000],
                        "sector_id": self.job.params.get("sector_id"),
                    },
                )
                ids = [kw.id for kw in members]
                mapped.update(ids)
                await Keyword.filter(id__in=ids).update(cluster_id=cluster.id, status="mapped")
                await recount_clusters([cluster.id])
                summary.append({"id": cluster.id, "name": cluster.name, "created": created, "keyword_ids": ids})
            summary.append({"_unmapped": [kw.id for kw in keywords if kw.id not in mapped]})

        def results(into: dict[str, Any]) -> None:
            into["clusters"] = [c for c in summary if "id" in c]
            into["unmapped"] = summary[-1]["_unmapped"] if summary else []
            into["not_found"] = self.job.params.get("not_found", [])

        await self.commit(item, cost=self.job.credits_reserved, usage=usage, write=write, results=results)


# --- ideas -----------------------------------------------------------------------------------------


def _check_ideas(answer: Any) -> list[dict[str, Any]]:
    ideas = _require(answer.get("ideas") if isinstance(answer, dict) else None, list, "ideas")
    for idea in ideas:
        _require(idea.get("title") if isinstance(idea, dict) else None, str, "idea title")
    return ideas


def _outline(value: Any) -> list[dict[str, str]]:
    sections = value if isinstance(value, list) else []
    return [
        {"heading": str(s.get("heading", ""))[:300], "notes": str(s.get("notes", ""))[:5000]}
        for s in sections
        if isinstance(s, dict) and s.get("heading")
    ][:50]


def _choice(value: Any, allowed: tuple[str, ...], default: str) -> str:
    return value if value in allowed else default


class GenerateIdeas(Operation):
    kind = "generate_ideas"
    prompt_type = "ideas"

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        clusters, missing = await _owned(Cluster, caller, params["ids"], "clusters")
        site_id = _one_site(clusters, "clusters")
        return Plan(
            site_id=site_id,
            params={"cluster_ids": [c.id for c in clusters], "not_found": missing},
            total=len(clusters),
            estimate=settings.costs["generate_ideas_per_cluster"] * len(clusters),
        )

    def items(self) -> list[str]:
        return [str(cid) for cid in self.job.params["cluster_ids"]]

    async def run_item(self, item: str) -> None:
        from models.planner import CONTENT_STRUCTURES, CONTENT_TYPES

        cluster = await Cluster.get_or_none(id=int(item))
        usage = Usage()
        if cluster is None:  # deleted since the job was queued: nothing to do, nothing charged
            await self.commit(item, cost=0, usage=usage)
            return
        keywords = (
            await Keyword.filter(cluster_id=cluster.id).order_by("-volume").limit(50).values_list("keyword", flat=True)
        )
        prompt = await self.prompt(
            cluster_name=cluster.name, keywords="\n".join(f"- {k}" for k in keywords), count=IDEAS_PER_CLUSTER
        )
        ideas = await self.chat(prompt, _check_ideas, usage, what="Idea generation")
        created: list[int] = []

        async def write() -> None:
            for idea in ideas[: IDEAS_PER_CLUSTER * 2]:
                targets = [str(k)[:255] for k in idea.get("target_keywords", []) if str(k).strip()][:50]
                words = idea.get("estimated_word_count")
                row = await ContentIdea.create(
                    account_id=cluster.account_id,
                    site_id=cluster.site_id,
                    sector_id=cluster.sector_id,
                    cluster_id=cluster.id,
                    title=str(idea["title"])[:300],
                    description=_outline(idea.get("description")),
                    content_type=_choice(idea.get("content_type"), CONTENT_TYPES, "post"),
                    content_structure=_choice(idea.get("content_structure"), CONTENT_STRUCTURES, "article"),
                    target_keywords=targets or list(keywords[:3]),
                    estimated_word_count=words if isinstance(words, int) and 100 <= words <= 20000 else 1000,
                )
                created.append(row.id)
            await Cluster.filter(id=cluster.id).update(status="ideas_generated")

        def results(into: dict[str, Any]) -> None:
            into["idea_ids"] = [*into.get("idea_ids", []), *created]
            into["ideas_created"] = len(into["idea_ids"])
            into["not_found"] = self.job.params.get("not_found", [])

        await self.commit(
            item,
            cost=self.context.settings.costs["generate_ideas_per_cluster"],
            usage=usage,
            write=write,
            results=results,
        )


# --- content ---------------------------------------------------------------------------------------


def _check_article(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise ValueError("the answer must be an object")
    _require(answer.get("title"), str, "title")
    _require(answer.get("html"), str, "html")
    return answer


def content_cost(settings: Settings, words: int) -> int:
    costs = settings.costs
    over = max(0, words - costs["generate_content_base_words"])
    return costs["generate_content_per_task"] + math.ceil(over / 100) * costs["generate_content_per_100_words_over"]


class GenerateContent(Operation):
    kind = "generate_content"
    prompt_type = "content"

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        task = await scoped(Task, caller).get_or_none(id=params["task_id"])
        if task is None:
            raise NotFound("Task not found.")
        return Plan(
            site_id=task.site_id,
            params={"task_id": task.id},
            total=1,
            estimate=content_cost(settings, task.word_count),
        )

    async def begin(self) -> None:
        await Task.filter(id=self.job.params["task_id"]).update(status="in_progress", error=None)

    async def on_failed(self) -> None:
        await Task.filter(id=self.job.params["task_id"], status="in_progress").update(status="failed")

    def items(self) -> list[str]:
        return [str(self.job.params["task_id"])]

    async def run_item(self, item: str) -> None:
        task = await Task.get(id=int(item))
        keyword = task.keywords[0] if task.keywords else task.title
        prompt = await self.prompt(title=task.title, keyword=keyword, word_count=task.word_count, brief=task.brief)
        usage = Usage()
        article = await self.chat(prompt, _check_article, usage, what="Content writing")
        html = sanitise_html(str(article["html"]))
        words = count_words(html)
        content_holder: list[Content] = []

        async def write() -> None:
            title = str(article["title"])[:300]
            content = await Content.create(
                account_id=task.account_id,
                site_id=task.site_id,
                sector_id=task.sector_id,
                cluster_id=task.cluster_id,
                task_id=task.id,
                title=title,
                slug=await unique_slug(task.site_id, title),
                html=html,
                meta_title=str(article.get("meta_title", ""))[:300],
                meta_description=str(article.get("meta_description", ""))[:500],
                primary_keyword=str(article.get("primary_keyword") or keyword)[:255],
                secondary_keywords=[str(k)[:255] for k in article.get("secondary_keywords", []) or []][:50],
                word_count=words,
                source="ai",
                status="draft",
            )
            content_holder.append(content)
            await Task.filter(id=task.id).update(status="completed", content_id=content.id, error=None)

        def results(into: dict[str, Any]) -> None:
            into.update(content_id=content_holder[0].id, word_count=words)

        cost = content_cost(self.context.settings, words)
        await self.commit(item, cost=cost, usage=usage, write=write, results=results)


# --- images ----------------------------------------------------------------------------------------


def _check_image_prompts(answer: Any) -> list[dict[str, Any]]:
    prompts = _require(answer.get("prompts") if isinstance(answer, dict) else None, list, "prompts")
    for prompt in prompts:
        _require(prompt.get("prompt") if isinstance(prompt, dict) else None, str, "image prompt")
    return prompts


def png_size(data: bytes) -> tuple[int | None, int | None]:
    """Width and height from a PNG header; (None, None) for other formats."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return None, None


async def store_image(settings: Settings, image: Image, data: bytes) -> None:
    """Write the bytes under the media folder with an unguessable name; set url and size."""
    relative = Path(str(image.account_id)) / f"{uuid.uuid4().hex}.png"
    path = settings.media_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    image.file_path = str(relative)
    image.url = f"/media/{relative.as_posix()}"
    image.width, image.height = png_size(data)


class GenerateImages(Operation):
    kind = "generate_images"
    prompt_type = "image_prompts"

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        contents, missing = await _owned(Content, caller, params["content_ids"], "content")
        site_id = _one_site(contents, "contents")
        image = await ai_settings.image_settings(caller.account_id)
        per_content = int(image["images_per_content"]) + (1 if image["featured_image"] else 0)
        if per_content == 0:
            raise ValidationFailed("The image settings ask for no images (images_per_content 0, no featured image).")
        return Plan(
            site_id=site_id,
            params={"content_ids": [c.id for c in contents], "per_content": per_content, "not_found": missing},
            total=len(contents) * (per_content + 1),
            estimate=settings.costs["generate_images_per_image"] * per_content * len(contents),
        )

    def items(self) -> list[str]:
        prompts = [f"prompts:{cid}" for cid in self.job.params["content_ids"]]
        images = [f"image:{iid}" for iid in self.job.checkpoint.get("results", {}).get("image_ids", [])]
        return prompts + images

    async def run_item(self, item: str) -> None:
        kind, _, raw_id = item.partition(":")
        if kind == "prompts":
            await self._write_prompts(item, int(raw_id))
        else:
            await self._render(item, int(raw_id))

    async def _write_prompts(self, item: str, content_id: int) -> None:
        content = await Content.get_or_none(id=content_id)
        usage = Usage()
        if content is None:
            await self.commit(item, cost=0, usage=usage)
            return
        count = self.job.params["per_content"]
        summary = " ".join(html_text(content.html).split()[:120])
        prompt = await self.prompt(title=content.title, count=count, summary=summary)
        proposals = await self.chat(prompt, _check_image_prompts, usage, what="Image prompt writing")
        config = await self.config()
        created: list[int] = []

        async def write() -> None:
            position = await Image.filter(content_id=content.id).count()
            kinds = (["featured"] if config.featured_image else []) + ["in_article"] * config.images_per_content
            for kind_name, proposal in zip(kinds, proposals, strict=False):
                row = await Image.create(
                    account_id=content.account_id,
                    site_id=content.site_id,
                    content_id=content.id,
                    kind=kind_name,
                    position=position,
                    prompt=str(proposal["prompt"])[:4000],
                    alt_text=str(proposal.get("alt_text", ""))[:500],
                    status="pending",
                )
                position += 1
                created.append(row.id)

        def results(into: dict[str, Any]) -> None:
            into["image_ids"] = [*into.get("image_ids", []), *created]

        await self.commit(item, cost=0, usage=usage, write=write, results=results)

    async def _render(self, item: str, image_id: int) -> None:
        image = await Image.get_or_none(id=image_id)
        usage = Usage()
        if image is None:
            await self.commit(item, cost=0, usage=usage)
            return
        try:
            data = await self.render(image.prompt, usage)
        except AiError as exc:
            # Failed images are recorded and not charged; the job goes on with the others.
            image.status, image.error = "failed", exc.message
            last_error = self.error_of(exc)

            def failed(into: dict[str, Any]) -> None:
                into["failed"] = [*into.get("failed", []), image.id]
                into["last_error"] = last_error

            await self.commit(item, cost=0, usage=usage, write=image.save, results=failed)
            return
        await store_image(self.context.settings, image, data)
        image.status, image.error = "generated", None

        async def write() -> None:
            await image.save()
            if image.kind == "featured":
                await Content.filter(id=image.content_id).update(featured_image_id=image.id)

        def generated(into: dict[str, Any]) -> None:
            into["generated"] = [*into.get("generated", []), image.id]

        cost = self.context.settings.costs["generate_images_per_image"]
        await self.commit(item, cost=cost, usage=usage, write=write, results=generated)

    def failure(self) -> dict[str, Any] | None:
        results = self.job.checkpoint.get("results", {})
        if results.get("failed") and not results.get("generated"):
            return results.get("last_error")
        return None


class RegenerateImage(Operation):
    kind = "regenerate_image"

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        image = await scoped(Image, caller).get_or_none(id=params["image_id"])
        if image is None:
            raise NotFound("Image not found.")
        return Plan(
            site_id=image.site_id,
            params={"image_id": image.id, "prompt": params.get("prompt")},
            total=1,
            estimate=settings.costs["regenerate_image"],
        )

    def items(self) -> list[str]:
        return [str(self.job.params["image_id"])]

    async def run_item(self, item: str) -> None:
        image = await Image.get(id=int(item))
        prompt = self.job.params.get("prompt") or image.prompt
        usage = Usage()
        data = await self.render(prompt, usage)
        old = image.file_path
        await store_image(self.context.settings, image, data)
        image.prompt, image.status, image.error = prompt, "generated", None

        def results(into: dict[str, Any]) -> None:
            into.update(image_id=image.id, url=image.url)

        await self.commit(
            item, cost=self.job.credits_reserved, usage=usage, write=lambda: image.save(), results=results
        )
        if old:
            (self.context.settings.media_dir / old).unlink(missing_ok=True)


# --- optimize --------------------------------------------------------------------------------------


async def content_analysis(content: Content) -> dict[str, Any]:
    task_id = content.task_id
    target = cast("list[int]", await Task.filter(id=task_id).values_list("word_count", flat=True) if task_id else [])
    domain = cast("list[str]", await Site.filter(id=content.site_id).values_list("domain", flat=True))
    return analyze(
        ContentInput(
            title=content.title,
            html=content.html,
            meta_title=content.meta_title,
            meta_description=content.meta_description,
            primary_keyword=content.primary_keyword,
            slug=content.slug,
            target_word_count=target[0] if target else None,
            site_domain=domain[0] if domain else None,
        )
    )


class PerContent(Operation):
    """An operation with one item per content of one site, priced per content."""

    cost_key: ClassVar[str]

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        contents, missing = await _owned(Content, caller, params["content_ids"], "content")
        return Plan(
            site_id=_one_site(contents, "contents"),
            params={"content_ids": [c.id for c in contents], "not_found": missing},
            total=len(contents),
            estimate=settings.costs[cls.cost_key] * len(contents),
            uses_ai=cls.prompt_type is not None,
        )

    def items(self) -> list[str]:
        return [str(cid) for cid in self.job.params["content_ids"]]

    async def run_item(self, item: str) -> None:
        content = await Content.get_or_none(id=int(item))
        if content is None:  # deleted since the job was queued: nothing to do, nothing charged
            await self.commit(item, cost=0, usage=Usage())
            return
        await self.run_content(item, content)

    async def run_content(self, item: str, content: Content) -> None:
        raise NotImplementedError


class Optimize(PerContent):
    kind = "optimize"
    prompt_type = "optimize"
    cost_key = "optimize_per_content"

    async def run_content(self, item: str, content: Content) -> None:
        usage = Usage()
        before = await content_analysis(content)
        issues = "\n".join(f"- {c['detail']}" for c in before["checks"] if not c["passed"]) or "- none"
        prompt = await self.prompt(
            title=content.title,
            keyword=content.primary_keyword or content.title,
            word_count=max(content.word_count, 300),
            html=content.html,
            issues=issues,
        )
        article = await self.chat(prompt, _check_article, usage, what="Optimization")
        previous: dict[str, Any] = {
            "version": content.version,
            "title": content.title,
            "html": content.html,
            "meta_title": content.meta_title,
            "meta_description": content.meta_description,
            "word_count": content.word_count,
        }
        content.title = str(article["title"])[:300]
        content.html = sanitise_html(str(article["html"]))
        content.word_count = count_words(content.html)
        content.meta_title = str(article.get("meta_title") or content.meta_title)[:300]
        content.meta_description = str(article.get("meta_description") or content.meta_description)[:500]
        after = await content_analysis(content)
        content.seo_score = after["score"]
        content.version += 1

        async def write() -> None:
            await ContentVersion.create(content_id=content.id, **previous)
            await content.save()

        def results(into: dict[str, Any]) -> None:
            into.setdefault("contents", []).append(
                {
                    "content_id": content.id,
                    "score_before": before["score"],
                    "score_after": after["score"],
                    "version": content.version,
                }
            )

        await self.commit(
            item, cost=self.context.settings.costs["optimize_per_content"], usage=usage, write=write, results=results
        )


# --- linker ----------------------------------------------------------------------------------------


def link_href(content: Content) -> str:
    return content.external_url if content.status == "published" and content.external_url else f"/{content.slug}/"


class LinkContent(PerContent):
    """Deterministic: no model is called (so no AI key is needed), but it is priced per content."""

    kind = "linker"
    cost_key = "linker_per_content"

    async def run_content(self, item: str, content: Content) -> None:
        usage = Usage()
        others = await Content.filter(site_id=content.site_id).exclude(id=content.id).order_by("id")
        cluster_words: dict[int, list[str]] = {}
        for row in (
            await Keyword.filter(cluster_id__in=[o.cluster_id for o in others if o.cluster_id])
            .order_by("-volume", "id")
            .values("cluster_id", "keyword")
        ):
            cluster_words.setdefault(row["cluster_id"], []).append(row["keyword"])
        targets = [
            LinkTarget(
                id=other.id,
                phrases=tuple(p for p in [other.primary_keyword, *cluster_words.get(other.cluster_id or 0, [])] if p),
                href=link_href(other),
            )
            for other in others
        ]
        existing = set(cast("list[int]", await Link.filter(source_id=content.id).values_list("target_id", flat=True)))
        html, added = add_internal_links(content.html, content.id, [t for t in targets if t.phrases], existing)

        async def write() -> None:
            if added:
                content.html = html
                await content.save(update_fields=["html", "updated_at"])
                for link in added:
                    await Link.create(
                        account_id=content.account_id,
                        site_id=content.site_id,
                        source_id=content.id,
                        target_id=link.target_id,
                        anchor=link.anchor,
                        href=link.href,
                    )

        def results(into: dict[str, Any]) -> None:
            into.setdefault("contents", []).append(
                {
                    "content_id": content.id,
                    "links": [
                        {"source_id": content.id, "target_id": a.target_id, "anchor": a.anchor, "href": a.href}
                        for a in added
                    ],
                }
            )

        await self.commit(
            item, cost=self.context.settings.costs["linker_per_content"], usage=usage, write=write, results=results
        )


OPERATIONS = Operation.operations
