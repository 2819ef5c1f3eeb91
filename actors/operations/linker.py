"""Internal links between a site's contents (deterministic, priced per content)."""

from __future__ import annotations

from typing import Any, cast

from actors.operations.base import PerContent
from models.linker import Link
from models.planner import Keyword
from models.writer import Content
from schemas import jobs as jobs_schemas
from services.ai_client import Usage
from services.linker import LinkTarget, add_internal_links

# --- linker ----------------------------------------------------------------------------------------


def link_href(content: Content) -> str:
    return content.external_url if content.status == "published" and content.external_url else f"/{content.slug}/"


class LinkContent(PerContent):
    """Deterministic: no model is called (so no AI key is needed), but it is priced per content."""

    kind = "linker"
    result_schema = jobs_schemas.LinkerResult
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

        cost = self.context.settings.costs["linker_per_content"]
        await self.commit_while(Content, content.id, item, cost=cost, usage=usage, write=write, results=results)
