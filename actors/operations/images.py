"""Image operations: prompts written from the article, then rendered and stored."""

from __future__ import annotations

from typing import Any

from actors.operations.base import Operation, Plan, _one_site
from config.settings import Settings
from models.db import locked_ids
from models.writer import Content, Image
from schemas import jobs as jobs_schemas
from services import ai_settings
from services.ai_client import AiError, Usage
from services.errors import NotFound, ValidationFailed
from services.media import store_image
from services.principal import Principal
from services.seo import html_text
from services.tenancy import get_owned, owned_many

# --- images ----------------------------------------------------------------------------------------


class GenerateImages(Operation):
    kind = "generate_images"
    result_schema = jobs_schemas.GenerateImagesResult
    prompt_type = "image_prompts"

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        contents, missing = await owned_many(Content, caller, params["content_ids"], "content")
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
        prompts = [f"prompts:{cid}" for cid in self.params["content_ids"]]
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
        count = self.params["per_content"]
        summary = " ".join(html_text(content.html).split()[:120])
        prompt = await self.prompt(title=content.title, count=count, summary=summary)
        proposals = (await self.chat(prompt, usage, what="Image prompt writing"))["prompts"]
        config = await self.config()
        created: list[int] = []

        async def write(_: Content) -> None:
            position = await Image.filter(content_id=content.id).count()
            kinds = (["featured"] if config.featured_image else []) + ["in_article"] * config.images_per_content
            for kind_name, proposal in zip(kinds, proposals, strict=False):
                row = await Image.create(
                    account_id=content.account_id,
                    site_id=content.site_id,
                    content_id=content.id,
                    kind=kind_name,
                    position=position,
                    prompt=proposal["prompt"],
                    alt_text=proposal["alt_text"],
                    status="pending",
                )
                position += 1
                created.append(row.id)

        def results(into: dict[str, Any]) -> None:
            into["image_ids"] = [*into.get("image_ids", []), *created]

        await self.commit_while(Content, content_id, item, cost=0, usage=usage, write=write, results=results)

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

            await self.commit(item, cost=0, usage=usage, write=image.save, results=failed, error=exc.message)
            return
        await store_image(self.context.settings, image, data)
        image.status, image.error = "generated", None

        async def write(_: Image) -> None:
            await image.save()
            if image.kind == "featured":
                await Content.filter(id=image.content_id).update(featured_image_id=image.id)

        def generated(into: dict[str, Any]) -> None:
            into["generated"] = [*into.get("generated", []), image.id]

        cost = self.context.settings.costs["generate_images_per_image"]
        if not await self.commit_while(Image, image_id, item, cost=cost, usage=usage, write=write, results=generated):
            # The image (or its content) was deleted while it was drawn: its file goes too.
            (self.context.settings.media_dir / str(image.file_path)).unlink(missing_ok=True)

    def failure(self) -> dict[str, Any] | None:
        results = self.job.checkpoint.get("results", {})
        if results.get("failed") and not results.get("generated"):
            return results.get("last_error")
        return None


class WriteImagePrompts(GenerateImages):
    """The prompt-writing step alone, one item per content: Image rows made `pending` (the
    automation's stage 5; a sub-operation, so no `kind` of its own)."""

    def items(self) -> list[str]:
        return [str(cid) for cid in self.params["content_ids"]]

    async def run_item(self, item: str) -> None:
        await self._write_prompts(item, int(item))


class RenderImages(GenerateImages):
    """The rendering step alone, one item per pending image (the automation's stage 6)."""

    def items(self) -> list[str]:
        return [str(iid) for iid in self.params["image_ids"]]

    async def run_item(self, item: str) -> None:
        await self._render(item, int(item))


class RegenerateImage(Operation):
    kind = "regenerate_image"
    ends_with_last_item = True
    result_schema = jobs_schemas.RegenerateImageResult

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        image = await get_owned(Image, caller, params["image_id"], "image")
        return Plan(
            site_id=image.site_id,
            params={"image_id": image.id, "prompt": params.get("prompt")},
            total=1,
            estimate=settings.costs["regenerate_image"],
        )

    def items(self) -> list[str]:
        return [str(self.params["image_id"])]

    async def run_item(self, item: str) -> None:
        # The image deleted (with its content or site) before or while it is drawn: the job
        # fails `not_found` and is refunded, as a generate_content job whose task is deleted.
        image = await Image.get_or_none(id=int(item))
        if image is None:
            raise NotFound(f"Image {item} was deleted before it was drawn again.")
        prompt = self.params.get("prompt") or image.prompt
        usage = Usage()
        data = await self.render(prompt, usage)
        old = image.file_path
        await store_image(self.context.settings, image, data)
        image.prompt, image.status, image.error = prompt, "generated", None

        async def write() -> None:
            if not await locked_ids(Image, [image.id]):
                raise NotFound(f"Image {image.id} was deleted while it was drawn again.")
            await image.save()

        def results(into: dict[str, Any]) -> None:
            into.update(image_id=image.id, url=image.url)

        media = self.context.settings.media_dir
        try:
            await self.commit(item, cost=self.job.credits_reserved, usage=usage, write=write, results=results)
        except NotFound:
            (media / str(image.file_path)).unlink(missing_ok=True)  # the new file has no row
            raise
        if old:
            (media / old).unlink(missing_ok=True)
