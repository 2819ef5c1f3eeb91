"""Publishing to WordPress as a job of the site's actor: one item per content (services/publishing.py
does the work). Free: no credits are reserved or charged.

A content that fails (WordPress refused or was unreachable, an image file went missing) is a
failed record and a failed entry in the result, and the job goes on with the next content; the
job fails only when every content failed. Being a job of the site's actor is what keeps two
publishes of one site from running at once."""

from __future__ import annotations

from typing import Any

from actors.operations.base import Operation, Plan, _one_site
from config.settings import Settings
from models.publisher import Deployment
from models.writer import Content
from schemas.publisher import PublishResult
from services import publishing
from services.ai_client import Usage
from services.principal import Principal
from services.tenancy import owned_many


class PublishContent(Operation):
    kind = publishing.KIND
    ends_with_last_item = True
    result_schema = PublishResult

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        """404 when no content is the caller's; 400 when the site has no active integration or
        an image file is missing — all before a job exists or WordPress is called."""
        contents, missing = await owned_many(Content, caller, params["content_ids"], "content")
        site_id = _one_site(contents, "contents")
        await publishing.active_integration(site_id)
        await publishing.check_image_files(settings, contents)
        return Plan(
            site_id=site_id,
            params={
                "content_ids": [c.id for c in contents],
                "not_found": missing,
                "status": params.get("status") or "publish",
            },
            total=len(contents),
            estimate=0,
            uses_ai=False,
        )

    attach = staticmethod(publishing.attach_job)

    async def begin(self) -> None:
        await Deployment.filter(job_id=self.job.id, status="queued").update(
            status="running", started_at=self.job.started_at
        )

    def items(self) -> list[str]:
        return [str(cid) for cid in self.params["content_ids"]]

    def context_for_publishing(self) -> publishing.PublishContext:
        context = self.context
        return publishing.PublishContext(context.settings, context.crypto, context.clients.outbound)

    async def run_item(self, item: str) -> None:
        content = await Content.get_or_none(id=int(item))
        if content is None:  # deleted since the job was queued

            def gone(into: dict[str, Any]) -> None:
                error = {"code": "not_found", "message": "The content was deleted before its turn."}
                into.setdefault("items", []).append({"content_id": int(item), "status": "failed", "error": error})

            await self.commit(item, cost=0, usage=Usage(), results=gone)
            return
        delivery = await publishing.deliver_content(
            self.context_for_publishing(), self.job.id, content, self.params["status"]
        )

        def results(into: dict[str, Any]) -> None:
            into.setdefault("not_found", list(self.params.get("not_found") or []))
            into.setdefault("items", []).append(delivery.entry)

        await self.commit(item, cost=0, usage=Usage(), write=delivery.write, results=results)

    def result(self) -> dict[str, Any]:
        return {"items": [], "not_found": list(self.params.get("not_found") or []), **super().result()}

    def failure(self) -> dict[str, Any] | None:
        """Every content failed: the job fails with the first one's reason."""
        entries = self.result()["items"]
        if entries and all(entry["status"] == "failed" for entry in entries):
            error: dict[str, Any] = entries[0]["error"]
            return error
        return None
