"""Internal links between a site's contents (deterministic, priced per content)."""

from __future__ import annotations

from typing import Any, cast

from actors.operations.base import PerContent
from models.db import locked_ids, save_changes
from models.linker import Link
from models.planner import Keyword
from models.writer import Content
from schemas import jobs as jobs_schemas
from services.ai_client import Usage
from services.linker import AddedLink, LinkTarget, add_internal_links

# --- linker ----------------------------------------------------------------------------------------


def link_href(content: Content) -> str:
    return content.external_url if content.status == "published" and content.external_url else f"/{content.slug}/"


class LinkContent(PerContent):
    """Deterministic: no model is called (so no AI key is needed), but it is priced per content."""

    kind = "linker"
    result_schema = jobs_schemas.LinkerResult
    cost_key = "linker_per_content"

    async def run_content(self, item: str, content: Content) -> None:
        added: list[AddedLink] = []

        async def write(now: Content) -> None:
            # Chosen inside the item's transaction, from the content as it is (locked): an edit
            # made while the links were chosen is linked, not written over. The chosen targets
            # are locked too, so a target deleted meanwhile is left out (and chosen again
            # without it) instead of failing the job on its foreign key, and one deleted from
            # now on waits for this commit, its links then going with it.
            gone: set[int] = set()
            while True:
                html, links = await _links(now, gone)
                wanted = {link.target_id for link in links}
                present = await locked_ids(Content, wanted)
                if present == wanted:
                    break
                gone |= wanted - present
            if links:
                await save_changes(now, {"html": html})
                for link in links:
                    await Link.create(
                        account_id=now.account_id,
                        site_id=now.site_id,
                        source_id=now.id,
                        target_id=link.target_id,
                        anchor=link.anchor,
                        href=link.href,
                    )
            added.extend(links)

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
        await self.commit_while(Content, content.id, item, cost=cost, usage=Usage(), write=write, results=results)


async def _links(content: Content, leave_out: set[int]) -> tuple[str, list[AddedLink]]:
    """`content`'s html with links added to its site's other contents (but those in `leave_out`)."""
    # What a target needs, not its html: every other content of the site is read, for each item.
    others = (
        await Content.filter(site_id=content.site_id)
        .exclude(id__in=[content.id, *leave_out])
        .order_by("id")
        .only("id", "primary_keyword", "cluster_id", "status", "external_url", "slug")
    )
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
    return add_internal_links(content.html, content.id, [t for t in targets if t.phrases], existing)
