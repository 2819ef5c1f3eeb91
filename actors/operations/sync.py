"""WordPress sync: categories, tags, posts and pages into the site's Taxonomy and Content.

One job of the site actor per sync; its items are `categories`, `tags`, each WordPress list page
of posts and of pages (`posts:1`, `posts:2`, … — as many as `X-WP-Total` says are left), then
`deletions`. Every list is read in id order from a cursor (`ListCursor`), so a post or term
deleted in WordPress while the sync reads doesn't make it skip another. Each item's rows,
counts and checkpoint (the cursor included) commit together, so a resumed job (a restarted
server) goes on from the next page, and progress is published after each item.

Incremental: after a successful sync, posts and pages are asked for with `modified_after` (the
last successful sync's start, see services/wp_sync.py; a `full` sync asks for all); the
`deletions` item then lists every id WordPress still has (`_fields=id`), archives the mirrored
rows it no longer lists, types the others as the collection that lists them (a page or a post),
fetches the posts above the last sync's highest ids that nothing here carries (made since, with
earlier dates than the window: an import), and records the highest ids for the next sync.

A WordPress failure (after the client's retries) ends the job `failed` with the reason; the next
sync (not a `full` one) goes on from it: the same window (nothing of a failed sync moves the
watermark), its list pages done with their cursors and counts, and its start as where the reads
rest (`SyncRun.read_from`), which the sync after takes as its watermark.
"""

from __future__ import annotations

import math
from typing import Any

from tortoise.transactions import in_transaction

from actors.operations.base import Operation, Plan
from config.settings import Settings
from models.accounts import Site
from models.integration import Integration, SyncRun
from models.jobs import Job
from schemas.integration import SyncResult
from services import jobs, wp_sync
from services.ai_client import Usage
from services.integration import client_for, remember_api_style
from services.principal import Principal
from services.security import utcnow
from services.tenancy import get_owned
from services.wordpress import ListCursor, WordPressClient, WordPressError, WpPage
from services.wp_mirror import (
    COLLECTION_KINDS,
    MirrorSite,
    Tally,
    apply_posts,
    apply_terms,
    reconcile_posts,
    remove_missing_terms,
    unmirrored,
)

SYNC_TIMEOUT = 30.0  # seconds per WordPress request
SYNC_ATTEMPTS = 3
PER_PAGE = 100
POST_COLLECTIONS = ("posts", "pages")
TERM_COLLECTIONS = ("categories", "tags")


class SyncIntegration(Operation):
    kind = wp_sync.KIND
    result_schema = SyncResult
    error: dict[str, Any] | None = None  # set when WordPress failed: the job ends failed with it

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        integration = await get_owned(Integration, caller, params["integration_id"], "integration")
        return await cls.plan_for(integration, full=params.get("full", False))

    @classmethod
    async def plan_for(cls, integration: Integration, *, full: bool = False) -> Plan:
        """Claim the integration's sync (409 when one is on) and fix the incremental window
        (none when `full`)."""
        async with in_transaction():
            # A move of the site to another WordPress holds this row while it checks for syncs
            # and resets the window: this claim and the window read here fall on one side of it.
            site = await Site.select_for_update().get(id=integration.site_id)
            run = await wp_sync.claim(integration)
            since, listed_up_to = (None, {}) if full else await wp_sync.last_success(integration.id, site)
            failed = None if full else await wp_sync.resumable(run, site)
            if failed is not None:
                run.read_from = failed.read_from or failed.started_at
                await run.save(update_fields=["read_from"])
        return Plan(
            site_id=integration.site_id,
            params={
                "integration_id": integration.id,
                "sync_run_id": run.id,
                "modified_after": wp_sync.modified_after(since),
                "listed_up_to": listed_up_to,
                "resumes_job_id": failed.job_id if failed is not None else None,
            },
            total=0,
            estimate=0,
            uses_ai=False,
        )

    # --- running ---------------------------------------------------------------------------------

    async def begin(self) -> None:
        self.error = None
        self.site = MirrorSite(self.job.account_id, self.job.site_id or 0)
        self.integration = await Integration.get_or_none(id=self.params["integration_id"])
        self.run = await SyncRun.get_or_none(id=self.params["sync_run_id"])
        if self.integration is None or self.run is None:
            self.error = {"code": "not_found", "message": "The integration was deleted before its sync ran."}
            return
        try:
            self.client: WordPressClient = client_for(
                self.integration,
                self.context.crypto,
                self.context.clients.outbound,
                timeout=SYNC_TIMEOUT,
                max_attempts=SYNC_ATTEMPTS,
            )
        except WordPressError as exc:
            self.error = self._wordpress_error("connect", exc)
            return
        if self.run.status == "queued":
            self.run.status, self.run.job_id, self.run.started_at = "running", self.job.id, utcnow()
            await self.run.save(update_fields=["status", "job_id", "started_at"])
        if self.params.get("resumes_job_id") and not self.job.checkpoint.get("done"):
            await self._go_on_from(self.params["resumes_job_id"])

    async def _go_on_from(self, failed_job_id: int) -> None:
        """Start where a failed sync stopped: its list pages read (their cursors, pages and object
        counts); categories, tags and the deletions' listing run again, as they read whole lists.
        What it changed is counted by its own run, not again here."""
        failed = await Job.get_or_none(id=failed_job_id, site_id=self.job.site_id, kind=self.kind)
        if failed is None:
            return
        before = failed.checkpoint or {}
        read = [item for item in before.get("done", []) if item.partition(":")[0] in POST_COLLECTIONS]
        counted = {c: n for c, n in before.get("counted", {}).items() if c in POST_COLLECTIONS}
        results = {"pages": before.get("results", {}).get("pages", {})}
        cursors = before.get("cursors", {})
        self.job.checkpoint = {"done": read, "results": results, "cursors": cursors, "counted": counted}
        await jobs.save_fenced(self.job, ["checkpoint"])

    def _state(self) -> dict[str, Any]:
        return dict(self.job.checkpoint.get("results", {}))

    def items(self) -> list[str]:
        pages = self._state().get("pages", {})
        every = [
            *TERM_COLLECTIONS,
            *(f"{name}:{n}" for name in POST_COLLECTIONS for n in range(1, max(1, pages.get(name, 1)) + 1)),
            "deletions",
        ]
        if self.error is not None:  # stop here: what ran stays done, nothing else is left
            done = set(self.job.checkpoint.get("done", []))
            return [item for item in every if item in done]
        return every

    def failure(self) -> dict[str, Any] | None:
        return self.error

    def _wordpress_error(self, stage: str, exc: WordPressError) -> dict[str, Any]:
        return {"code": exc.code, "message": f"WordPress sync failed at {stage}: {exc.message}"}

    async def run_item(self, item: str) -> None:
        name, _, number = item.partition(":")
        try:
            if name in TERM_COLLECTIONS:
                await self._terms(item, name)
            elif name in POST_COLLECTIONS:
                await self._posts(item, name, int(number))
            else:
                await self._deletions(item)
        except WordPressError as exc:
            self.error = self._wordpress_error(item, exc)
            return
        assert self.integration is not None
        await remember_api_style(self.integration, self.client)

    async def _terms(self, item: str, collection: str) -> None:
        kind = COLLECTION_KINDS[collection]
        terms: list[dict[str, Any]] = []
        listed = 0
        listed_from = utcnow()
        async for page in self.client.pages(f"/wp/v2/{collection}", {"context": "edit"}, per_page=PER_PAGE):
            terms.extend(page.items)
            listed = page.total if page.total is not None else len(terms)
        present = {str(term["id"]) for term in terms if isinstance(term.get("id"), int)}

        async def write(tally: Tally) -> None:
            with_ids = [t for t in terms if isinstance(t.get("id"), int)]
            for applied in await apply_terms(self.site, kind, with_ids, listed_from=listed_from):
                tally.add(applied.outcome)
            tally.add("deleted", await remove_missing_terms(self.site, kind, present, listed_from))

        await self._commit(item, collection, write, part="terms", found=listed, processed=len(terms))

    async def _posts(self, item: str, collection: str, number: int) -> None:
        cursors = dict(self.job.checkpoint.get("cursors", {}))
        pages = dict(self._state().get("pages", {}))
        if collection in cursors and cursors[collection] is None:
            # The list ended sooner than its X-WP-Total promised (items were deleted meanwhile):
            # the pages counted for it finish with nothing to read, so the progress adds up.
            await self._commit(item, collection, None, part="items", found=0, processed=0)
            return
        params: dict[str, Any] = {"context": "edit", "status": "any"}
        if self.params.get("modified_after"):
            params["modified_after"] = self.params["modified_after"]
        page = await self.client.page_after(
            f"/wp/v2/{collection}", params, ListCursor.of(cursors.get(collection)), page=number, per_page=PER_PAGE
        )
        found = 0
        if number == 1:
            found = page.total if page.total is not None else len(page.items)
        cursors[collection] = page.next.as_dict() if page.next is not None else None
        pages[collection] = max(pages.get(collection, 1), number + _pages_left(page))

        async def write(tally: Tally) -> None:
            for applied in await apply_posts(self.site, page.items):
                tally.add(applied.outcome)

        await self._commit(
            item, collection, write, part="items", found=found, processed=len(page.items), pages=pages, cursors=cursors
        )

    async def _deletions(self, item: str) -> None:
        """Every id WordPress has: what it no longer lists is archived, and (incremental) the posts
        above the previous sync's highest ids that nothing here carries are fetched. Those were made
        since, but with an earlier modification time than the window (an import keeps its dates)."""
        present: dict[str, set[str]] = {collection: set() for collection in POST_COLLECTIONS}
        listed_from = utcnow()
        for collection in POST_COLLECTIONS:
            query = {"status": "any", "context": "edit", "_fields": "id"}
            async for page in self.client.pages(f"/wp/v2/{collection}", query, per_page=PER_PAGE):
                present[collection].update(str(p["id"]) for p in page.items)
        listed_up_to = self.params.get("listed_up_to") or {}
        missed: list[dict[str, Any]] = []
        for collection in POST_COLLECTIONS:
            above = listed_up_to.get(collection)
            if not isinstance(above, int):  # a full sync read everything; an older run recorded nothing
                continue
            newer = await unmirrored(self.site, sorted(int(i) for i in present[collection] if int(i) > above))
            for start in range(0, len(newer), PER_PAGE):
                chunk = newer[start : start + PER_PAGE]
                query = {"include": ",".join(map(str, chunk)), "status": "any", "context": "edit"}
                async for page in self.client.pages(f"/wp/v2/{collection}", query, per_page=PER_PAGE):
                    missed.extend(page.items)
        assert self.run is not None
        self.run.highest_ids = {c: max((int(i) for i in ids), default=0) for c, ids in present.items()}

        async def write(tally: Tally) -> None:
            for applied in await apply_posts(self.site, missed):
                tally.add(applied.outcome)
            tally.add("deleted", len(await reconcile_posts(self.site, present, listed_from)))

        await self._commit(item, "deletions", write, part="items", found=len(missed), processed=len(missed))

    async def _commit(
        self,
        item: str,
        stage: str,
        write_rows: Any,
        *,
        part: str,
        found: int,
        processed: int,
        pages: dict[str, int] | None = None,
        cursors: dict[str, Any] | None = None,
    ) -> None:
        """Commit one item: its rows, the counts in the job's results and the run row, together."""
        state = self._state()
        tally = Tally.of(state.get(part))
        run = self.run
        assert run is not None
        # Objects found and read, by list: the run's totals are their sums, and a sync going on
        # from this one when it fails takes those of the list pages it doesn't read again.
        counted = dict(self.job.checkpoint.get("counted", {}))
        was = counted.get(stage, [0, 0])
        counted[stage] = [was[0] + found, was[1] + processed]

        async def write() -> None:
            if write_rows is not None:
                await write_rows(tally)
            run.stage = stage
            run.total = sum(n for n, _ in counted.values())
            run.done = sum(n for _, n in counted.values())
            counts = {name: Tally.of(state.get(name)).as_dict() for name in ("items", "terms")}
            counts[part] = tally.as_dict()
            run.items = counts
            await run.save(update_fields=["stage", "total", "done", "items", "highest_ids"])

        def results(into: dict[str, Any]) -> None:
            into.update(
                {
                    "integration_id": self.params["integration_id"],
                    "sync_run_id": self.params["sync_run_id"],
                    "modified_after": self.params.get("modified_after"),
                    "items": Tally.of(into.get("items")).as_dict(),
                    "terms": Tally.of(into.get("terms")).as_dict(),
                    "pages": pages if pages is not None else into.get("pages", {}),
                    "total": run.total,
                    "done": run.done,
                }
            )
            into[part] = tally.as_dict()

        keep: dict[str, Any] = {"counted": counted}
        if cursors is not None:
            keep["cursors"] = cursors
        await self.commit(item, cost=0, usage=Usage(), write=write, results=results, state=keep)
        await self.context.events.publish(
            wp_sync.channels(self.params["integration_id"], self.site.site_id),
            "sync.progress",
            {
                "integration_id": self.params["integration_id"],
                "sync_run_id": run.id,
                "job_id": self.job.id,
                "stage": stage,
                "done": run.done,
                "total": run.total,
                "items": run.items.get("items"),
                "terms": run.items.get("terms"),
            },
        )


def _pages_left(page: WpPage) -> int:
    """How many more pages of its list to expect after `page`, from its `X-WP-Total` (one page of
    overlap less than `PER_PAGE` new items each); at least one while the list goes on."""
    if page.next is None:
        return 0
    if page.total is None:
        return 1
    return max(1, math.ceil((page.total - page.next.offset - 1) / (PER_PAGE - 1)))
