"""Planner operations: clustering keywords and generating content ideas."""

from __future__ import annotations

from typing import Any

from actors.operations.base import Operation, Plan, _one_site
from config.settings import Settings
from models.accounts import Site, SiteSector
from models.db import locked_ids
from models.planner import Cluster, ContentIdea, Keyword
from schemas import jobs as jobs_schemas
from services.ai_client import Usage
from services.costs import IDEAS_PER_CLUSTER, cluster_cost
from services.errors import NotFound
from services.planner import normalise_keyword, recount_clusters
from services.principal import Principal
from services.tenancy import owned_many

# --- clustering ------------------------------------------------------------------------------------


class AutoCluster(Operation):
    kind = "auto_cluster"
    ends_with_last_item = True
    result_schema = jobs_schemas.AutoClusterResult
    prompt_type = "clustering"

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        keywords, missing = await owned_many(Keyword, caller, params["ids"], "keywords")
        keywords = [kw for kw in keywords if kw.site_id == params["site_id"]]
        if not keywords:
            raise NotFound("None of these keywords belong to that site.")
        estimate = cluster_cost(settings, len(keywords))
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
        keywords = await Keyword.filter(id__in=self.params["keyword_ids"], site_id=site.id).order_by("id")
        usage = Usage()
        prompt = await self.prompt(site_name=site.name, keywords="\n".join(f"- {kw.keyword}" for kw in keywords))
        clusters = (await self.chat(prompt, usage, what="Clustering"))["clusters"]
        summary: list[dict[str, Any]] = []
        gone: list[int] = []

        async def write() -> None:
            # The keywords and the sector as they are now, locked until the commit: one deleted
            # while the model clustered is left out (a keyword is then `not_found`; clusters get
            # no sector), instead of the job crashing on a foreign key.
            sector_id = self.params.get("sector_id")
            if sector_id is not None and not await locked_ids(SiteSector, [sector_id]):
                sector_id = None
            present = await locked_ids(Keyword, [kw.id for kw in keywords])
            gone.extend(kw.id for kw in keywords if kw.id not in present)
            by_key = {kw.keyword_key: kw for kw in keywords if kw.id in present}
            mapped: set[int] = set()
            for proposal in clusters:
                name = normalise_keyword(proposal["name"])
                members = [by_key[k] for k in (x.strip().lower() for x in proposal["keywords"]) if k in by_key]
                members = [kw for kw in members if kw.id not in mapped]
                if not members:
                    continue
                cluster, created = await Cluster.get_or_create(
                    site_id=site.id,
                    name_key=name.lower(),
                    defaults={
                        "account_id": site.account_id,
                        "name": name,
                        "description": proposal["description"],
                        "sector_id": sector_id,
                    },
                )
                ids = [kw.id for kw in members]
                mapped.update(ids)
                await Keyword.filter(id__in=ids).update(cluster_id=cluster.id, status="mapped")
                await recount_clusters([cluster.id])
                summary.append({"id": cluster.id, "name": cluster.name, "created": created, "keyword_ids": ids})
            summary.append({"_unmapped": [kw.id for kw in keywords if kw.id in present and kw.id not in mapped]})

        def results(into: dict[str, Any]) -> None:
            into["clusters"] = [c for c in summary if "id" in c]
            into["unmapped"] = summary[-1]["_unmapped"] if summary else []
            into["not_found"] = [*self.params.get("not_found", []), *gone]

        cost = cluster_cost(self.context.settings, len(self.params["keyword_ids"]))
        await self.commit(item, cost=cost, usage=usage, write=write, results=results)


# --- ideas -----------------------------------------------------------------------------------------


class GenerateIdeas(Operation):
    kind = "generate_ideas"
    ends_with_last_item = True
    result_schema = jobs_schemas.GenerateIdeasResult
    prompt_type = "ideas"

    @classmethod
    async def plan(cls, caller: Principal, params: dict[str, Any], settings: Settings) -> Plan:
        clusters, missing = await owned_many(Cluster, caller, params["ids"], "clusters")
        site_id = _one_site(clusters, "clusters")
        return Plan(
            site_id=site_id,
            params={"cluster_ids": [c.id for c in clusters], "not_found": missing},
            total=len(clusters),
            estimate=settings.costs["generate_ideas_per_cluster"] * len(clusters),
        )

    def items(self) -> list[str]:
        return [str(cid) for cid in self.params["cluster_ids"]]

    async def run_item(self, item: str) -> None:
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
        ideas = (await self.chat(prompt, usage, what="Idea generation"))["ideas"]
        created: list[int] = []

        async def write(now: Cluster) -> None:
            # The cluster's sector as it is now: deleted (set to none) while the model wrote, the
            # ideas would name a sector that is gone.
            sector_id = now.sector_id
            for idea in ideas[: IDEAS_PER_CLUSTER * 2]:
                row = await ContentIdea.create(
                    account_id=cluster.account_id,
                    site_id=cluster.site_id,
                    sector_id=sector_id,
                    cluster_id=cluster.id,
                    title=idea["title"],
                    description=idea["description"],
                    content_type=idea["content_type"],
                    content_structure=idea["content_structure"],
                    target_keywords=idea["target_keywords"] or list(keywords[:3]),
                    estimated_word_count=idea["estimated_word_count"],
                )
                created.append(row.id)
            await Cluster.filter(id=cluster.id).update(status="ideas_generated")

        def results(into: dict[str, Any]) -> None:
            into["idea_ids"] = [*into.get("idea_ids", []), *created]
            into["ideas_created"] = len(into["idea_ids"])
            into["not_found"] = self.params.get("not_found", [])

        cost = self.context.settings.costs["generate_ideas_per_cluster"]
        await self.commit_while(Cluster, cluster.id, item, cost=cost, usage=usage, write=write, results=results)
