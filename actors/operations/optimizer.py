"""The optimizer's AI rewrite, and the per-content operation shape it shares with the linker."""

from __future__ import annotations

from typing import Any

from actors.operations.base import PerContent
from models.db import save_changes
from models.writer import Content
from schemas import jobs as jobs_schemas
from services.ai_client import Usage
from services.seo import content_analysis, count_words
from services.writer import TEXT_FIELDS, previous_version, sanitise_html

# --- optimize --------------------------------------------------------------------------------------


class Optimize(PerContent):
    kind = "optimize"
    result_schema = jobs_schemas.OptimizeResult
    prompt_type = "optimize"
    cost_key = "optimize_per_content"

    def result(self) -> dict[str, Any]:
        return {"contents": [], "changed": [], **super().result()}

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
        article = await self.chat(prompt, usage, what="Optimization")
        # What the rewrite was made from: an edit of any of it meanwhile would be written over.
        based_on = {name: getattr(content, name) for name in (*TEXT_FIELDS, "primary_keyword")}
        html = sanitise_html(article["html"])
        rewrite = {
            "title": article["title"],
            "html": html,
            "word_count": count_words(html),
            "meta_title": article["meta_title"] or content.meta_title,
            "meta_description": article["meta_description"] or content.meta_description,
        }
        content.update_from_dict(rewrite)  # only to score it: the row is written in `write`
        after = await content_analysis(content)
        stored: list[Content] = []

        async def write(now: Content) -> None:
            # Onto the row as it is now (its text as the rewrite read it; `based_on`): a status
            # or a slug changed meanwhile stays as it was changed.
            await previous_version(now).save()
            stored.append(await save_changes(now, {**rewrite, "seo_score": after["score"], "version": now.version + 1}))

        def results(into: dict[str, Any]) -> None:
            into.setdefault("contents", []).append(
                {
                    "content_id": content.id,
                    "score_before": before["score"],
                    "score_after": after["score"],
                    "version": stored[0].version,
                }
            )

        cost = self.context.settings.costs["optimize_per_content"]
        await self.commit_while(
            Content,
            content.id,
            item,
            cost=cost,
            usage=usage,
            write=write,
            results=results,
            based_on=based_on,
        )
