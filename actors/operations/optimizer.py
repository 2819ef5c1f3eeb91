"""The optimizer's AI rewrite, and the per-content operation shape it shares with the linker."""

from __future__ import annotations

from typing import Any

from actors.operations.base import PerContent
from models.writer import Content
from schemas import jobs as jobs_schemas
from services.ai_client import Usage
from services.seo import content_analysis, count_words
from services.writer import previous_version, sanitise_html

# --- optimize --------------------------------------------------------------------------------------


class Optimize(PerContent):
    kind = "optimize"
    result_schema = jobs_schemas.OptimizeResult
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
        article = await self.chat(prompt, usage, what="Optimization")
        previous = previous_version(content)
        content.title = article["title"]
        content.html = sanitise_html(article["html"])
        content.word_count = count_words(content.html)
        content.meta_title = article["meta_title"] or content.meta_title
        content.meta_description = article["meta_description"] or content.meta_description
        after = await content_analysis(content)
        content.seo_score = after["score"]
        content.version += 1

        async def write() -> None:
            await previous.save()
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

        cost = self.context.settings.costs["optimize_per_content"]
        await self.commit_while(Content, content.id, item, cost=cost, usage=usage, write=write, results=results)
