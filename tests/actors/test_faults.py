"""Faults of AI jobs, each with the ledger afterwards (issue: bad input and faults)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from models.jobs import Job
from models.planner import Cluster, ContentIdea
from models.writer import Content
from server.app import create_app
from server.keys import SETTINGS
from tests.ai_helpers import TASKS, balance, configure_ai, job_ledger, site_with_tasks
from tests.fakes.openai_server import FakeOpenAI, default_answer, detect_task, prompt_text
from tests.helpers import Api, Caller

IDEAS = "/api/v1/planner/clusters/generate_ideas/"
CLUSTER = "/api/v1/planner/clusters/auto_cluster/"
CLUSTERS = "/api/v1/planner/clusters/"
SECTORS = "/api/v1/auth/sectors/"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def _setup(api: Api, fake: FakeOpenAI, clusters: int = 1) -> tuple[Caller, list[int]]:
    owner = await api.register()
    site = await api.site(owner)
    await configure_ai(api, owner, fake)
    ids = []
    for n in range(clusters):
        body = await api.call(
            "POST", "/api/v1/planner/clusters/", json={"site_id": site["id"], "name": f"C{n}"}, as_=owner, status=201
        )
        ids.append(body["data"]["id"])
    return owner, ids


async def _ai_site(api: Api, fake: FakeOpenAI) -> tuple[Caller, int]:
    """An owner with the fake model configured, and the id of a site of theirs."""
    owner = await api.register()
    site: int = (await api.site(owner))["id"]
    await configure_ai(api, owner, fake)
    return owner, site


async def _made(api: Api, owner: Caller, path: str, **body: Any) -> int:
    """The id of the row `POST path` makes of `body`."""
    made: int = (await api.call("POST", path, json=body, as_=owner, status=201))["data"]["id"]
    return made


async def _wait_until(predicate: Any, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if await predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


async def _until_the_model_is_called(fake: FakeOpenAI, path: str = "/chat/completions") -> None:
    async def called() -> bool:
        return fake.count(path) >= 1

    await _wait_until(called)


async def _until_ended(job_id: int) -> Job:
    async def ended() -> bool:
        return (await Job.get(id=job_id)).status not in ("queued", "running")

    await _wait_until(ended)
    return await Job.get(id=job_id)


async def test_no_key_configured_is_400_ai_not_configured_and_reserves_nothing(api: Api) -> None:
    owner = await api.register()
    site = await api.site(owner)
    cluster = (
        await api.call(
            "POST", "/api/v1/planner/clusters/", json={"site_id": site["id"], "name": "C"}, as_=owner, status=201
        )
    )["data"]
    body = await api.call("POST", IDEAS, json={"ids": [cluster["id"]]}, as_=owner, status=400)
    assert body["code"] == "ai_not_configured" and "/api/v1/system/settings/integrations/openai/" in body["error"]
    assert await Job.all().count() == 0 and await balance(owner.account["id"]) == 1000


async def test_short_balance_is_402_and_the_model_is_not_called(api: Api, fake: FakeOpenAI) -> None:
    owner, ids = await _setup(api, fake, clusters=3)
    from services import ledger

    await ledger.grant(owner.account["id"], -990)
    body = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner, status=402)
    assert body["code"] == "insufficient_credits" and (body["required"], body["available"]) == (15, 10)
    assert fake.count("/chat/completions") == 0 and await Job.all().count() == 0
    assert await balance(owner.account["id"]) == 10


async def test_invalid_json_twice_fails_the_job_and_refunds(api: Api, fake: FakeOpenAI) -> None:
    owner, ids = await _setup(api, fake)
    fake.fail_next("malformed", times=2)
    body = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner, status=502)
    assert body["code"] == "upstream_error" and "malformed" in body["error"]
    job = body["job"]
    assert job["status"] == "failed" and job["credits_used"] == 0
    assert fake.count("/chat/completions") == 2
    assert await job_ledger(job["id"]) == [("usage", -5), ("refund", 5)]
    assert await balance(owner.account["id"]) == 1000
    assert await ContentIdea.all().count() == 0


async def test_invalid_json_once_is_repaired(api: Api, fake: FakeOpenAI) -> None:
    owner, ids = await _setup(api, fake)
    fake.fail_next("malformed")
    body = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner)
    assert body["data"]["ideas_created"] == 3 and fake.count("/chat/completions") == 2
    assert await balance(owner.account["id"]) == 995


def _answers(*answers: Any) -> Any:
    """A responder that gives `answers` in turn, then the fake's default answer."""
    queue = list(answers)

    def respond(body: dict[str, Any]) -> Any:
        text = prompt_text(body)
        return queue.pop(0) if queue else default_answer(detect_task(text), text, json_mode=True)

    return respond


async def test_an_answer_the_schema_refuses_once_is_repaired_with_the_problem_quoted(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, ids = await _setup(api, fake)
    fake.responders["ideas"] = _answers({"ideas": [{"description": []}]})
    body = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner)
    assert body["data"]["ideas_created"] == 3 and fake.count("/chat/completions") == 2
    repair = fake.calls[-1]["json"]["messages"][-1]["content"]
    assert "title" in repair and "Missing data for required field." in repair
    assert await job_ledger(body["data"]["job"]["id"]) == [("usage", -5)]
    assert await balance(owner.account["id"]) == 995


async def test_an_answer_the_schema_refuses_twice_fails_the_job_refunds_and_says_why(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, ids = await _setup(api, fake)
    fake.responders["ideas"] = _answers({"ideas": []}, {"ideas": [{"title": 42}]})
    body = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner, status=502)
    assert body["code"] == "upstream_error" and "malformed" in body["error"]
    assert "Not a valid string." in body["error"]  # what was wrong the second time
    job = body["job"]
    assert job["status"] == "failed" and job["credits_used"] == 0
    assert fake.count("/chat/completions") == 2
    assert await job_ledger(job["id"]) == [("usage", -5), ("refund", 5)]
    assert await balance(owner.account["id"]) == 1000
    assert await ContentIdea.all().count() == 0


async def test_harmless_slips_in_an_answer_are_fixed_without_a_repair(api: Api, fake: FakeOpenAI) -> None:
    owner, ids = await _setup(api, fake)
    sloppy = {
        "title": "T" * 400,
        "description": "An outline in prose.",
        "content_type": "blog post",
        "content_structure": None,
        "target_keywords": "trail running",
        "estimated_word_count": "about a thousand",
        "mood": "upbeat",
    }
    fake.responders["ideas"] = _answers({"ideas": [sloppy]})
    body = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner)
    assert body["data"]["ideas_created"] == 1 and fake.count("/chat/completions") == 1
    stored = await ContentIdea.get(id=body["data"]["idea_ids"][0])
    assert (stored.title, stored.description, stored.content_type, stored.content_structure) == (
        "T" * 300,
        [],
        "post",
        "article",
    )
    assert (stored.target_keywords, stored.estimated_word_count) == (["trail running"], 1000)


async def test_429_then_success_charges_once_and_logs_the_retry(api: Api, fake: FakeOpenAI, caplog: Any) -> None:
    owner, ids = await _setup(api, fake)
    fake.fail_next("429", retry_after=0.05)
    with caplog.at_level(logging.WARNING, logger="inkflow.ai"):
        body = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner)
    assert body["data"]["job"]["credits_used"] == 5 and fake.count("/chat/completions") == 2
    assert "429" in caplog.text and "retry 1" in caplog.text
    assert await job_ledger(body["data"]["job"]["id"]) == [("usage", -5)]
    assert await balance(owner.account["id"]) == 995


async def test_provider_down_for_the_whole_job_fails_and_refunds_naming_the_status(
    api: Api, fake: FakeOpenAI, monkeypatch: Any
) -> None:
    monkeypatch.setattr("services.ai_client.BACKOFF_BASE", 0.01)
    owner, ids = await _setup(api, fake)
    fake.always("500")
    body = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner, status=502)
    assert "500" in body["error"] and body["job"]["status"] == "failed"
    assert fake.count("/chat/completions") == 4  # every attempt
    assert await balance(owner.account["id"]) == 1000


async def test_quota_and_auth_failures_are_not_retried_and_are_a_clear_4xx(api: Api, fake: FakeOpenAI) -> None:
    owner, ids = await _setup(api, fake, clusters=1)
    fake.fail_next("insufficient_quota")
    body = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner, status=400)
    assert body["code"] == "ai_quota_exceeded" and "quota" in body["error"]
    assert fake.count("/chat/completions") == 1
    fake.api_key = "another-key"
    body = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner, status=400)
    assert body["code"] == "ai_auth_failed" and "401" in body["error"]
    assert await balance(owner.account["id"]) == 1000


async def test_cancel_during_a_batch_keeps_done_items_and_refunds_the_rest(api: Api, fake: FakeOpenAI) -> None:
    owner, ids = await _setup(api, fake, clusters=4)
    fake.always("slow", seconds=0.3)
    started = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner, status=202, params={"wait": 0})
    job_id = started["data"]["job"]["id"]
    assert started["data"]["job"]["status"] in {"queued", "running"}

    async def one_done() -> bool:
        return (await Job.get(id=job_id)).progress_done >= 1

    await _wait_until(one_done)
    cancelled = await api.call("POST", f"/api/v1/jobs/{job_id}/cancel/", as_=owner)
    assert cancelled["data"]["id"] == job_id

    async def finished() -> bool:
        return (await Job.get(id=job_id)).status == "cancelled"

    await _wait_until(finished)
    job = await Job.get(id=job_id)
    done = job.progress_done
    assert 1 <= done < 4 and job.credits_used == 5 * done
    assert await ContentIdea.all().count() == 3 * done
    assert await job_ledger(job_id) == [("usage", -20), ("refund", 20 - 5 * done)]
    assert await balance(owner.account["id"]) == 1000 - 5 * done


async def test_ids_of_another_account_are_404_and_201_keywords_are_400(api: Api, fake: FakeOpenAI) -> None:
    owner, ids = await _setup(api, fake)
    stranger = await api.register()
    await configure_ai(api, stranger, fake)
    body = await api.call("POST", IDEAS, json={"ids": ids}, as_=stranger, status=404)
    assert body["code"] == "not_found"
    site = await api.site(stranger)
    body = await api.call(
        "POST",
        "/api/v1/planner/clusters/auto_cluster/",
        as_=stranger,
        status=400,
        json={"ids": list(range(1, 202)), "site_id": site["id"]},
    )
    assert "ids" in body["errors"]
    await api.call("POST", IDEAS, json={"ids": ids}, as_=owner, params={"wait": 61}, status=400)
    assert fake.count("/chat/completions") == 0 and await Job.all().count() == 0
    assert await balance(owner.account["id"]) == 1000 and await balance(stranger.account["id"]) == 1000


async def test_a_job_left_running_by_a_stopped_server_resumes_without_repeating_or_charging_twice(
    aiohttp_client: Any, settings: Any, fake: FakeOpenAI
) -> None:
    first = Api(await aiohttp_client(create_app(settings, docs=False)))
    owner, ids = await _setup(first, fake, clusters=3)
    fake.always("slow", seconds=0.3)
    started = await first.call("POST", IDEAS, json={"ids": ids}, as_=owner, status=202, params={"wait": 0})
    job_id = started["data"]["job"]["id"]

    async def one_done() -> bool:
        return (await Job.get(id=job_id)).progress_done >= 1

    await _wait_until(one_done)
    await first.client.close()  # the server stops mid-job
    assert fake.count("/chat/completions") < 3, "the job must still have had items left"

    fake.reset()
    second = Api(await aiohttp_client(create_app(settings, docs=False)))

    async def succeeded() -> bool:
        return (await Job.get(id=job_id)).status == "succeeded"

    await _wait_until(succeeded)
    job = await Job.get(id=job_id)
    assert job.progress_done == 3 and job.credits_used == 15
    assert await ContentIdea.all().count() == 9  # each cluster's ideas made once
    assert await job_ledger(job_id) == [("usage", -15)]
    assert await balance(owner.account["id"]) == 985
    body = await second.call("GET", f"/api/v1/jobs/{job_id}/", as_=owner)
    assert body["data"]["result"]["ideas_created"] == 9


async def test_a_crash_in_an_item_fails_and_refunds_that_job_and_the_actor_goes_on(
    api: Api, fake: FakeOpenAI, monkeypatch: Any, caplog: Any
) -> None:
    owner, ids = await _setup(api, fake, clusters=2)
    from actors.operations.planner import GenerateIdeas

    original = GenerateIdeas.run_item
    calls = {"n": 0}

    async def crash_once(self: GenerateIdeas, item: str) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk on fire")
        await original(self, item)

    monkeypatch.setattr(GenerateIdeas, "run_item", crash_once)
    with caplog.at_level(logging.ERROR, logger="inkflow.actors"):
        body = await api.call("POST", IDEAS, json={"ids": ids[:1]}, as_=owner, status=502)
    assert body["code"] == "server_error" and body["job"]["status"] == "failed"
    assert "disk on fire" in caplog.text and "crashed" in caplog.text
    assert await job_ledger(body["job"]["id"]) == [("usage", -5), ("refund", 5)]
    after = await api.call("POST", IDEAS, json={"ids": ids[1:]}, as_=owner)
    assert after["data"]["job"]["status"] == "succeeded"
    assert await balance(owner.account["id"]) == 995


async def test_every_model_call_is_in_the_usage_log_with_tokens(api: Api, fake: FakeOpenAI) -> None:
    owner, ids = await _setup(api, fake, clusters=2)
    body = await api.call("POST", IDEAS, json={"ids": ids}, as_=owner)
    from models.billing import UsageLog

    rows = await UsageLog.filter(job_id=body["data"]["job"]["id"]).values(
        "operation", "credits", "tokens_in", "tokens_out", "model"
    )
    assert len(rows) == 2
    assert all(r["operation"] == "generate_ideas" and r["credits"] == 5 and r["model"] for r in rows)
    assert all(r["tokens_in"] > 0 and r["tokens_out"] > 0 for r in rows)
    summary = await api.call("GET", "/api/v1/billing/usage/summary/", as_=owner)
    assert summary["data"]["total_credits"] == 10


async def test_a_task_deleted_while_its_article_is_written_or_while_queued_ends_its_job_not_found(
    api: Api, fake: FakeOpenAI
) -> None:
    """The running job's article has nowhere to go: on PostgreSQL the actor used to go round its
    store loop for good (the job `running` for ever, the site's actor with it), on SQLite the
    job crashed as a `server_error`. Now each job ends `failed` with `not_found`, and everything
    reserved is refunded; the site's actor goes on with the next job."""
    owner, _, tasks = await site_with_tasks(api, fake, 3)
    before = await balance(owner.account["id"])
    fake.always("slow", seconds=0.5)
    started = [
        (await api.call("POST", f"{TASKS}{task}/generate_content/", as_=owner, params={"wait": 0}, status=202))["data"][
            "job"
        ]["id"]
        for task in tasks
    ]

    await _until_the_model_is_called(fake)  # the first job is with the model
    for task in tasks[:2]:  # the one being written and the one waiting its turn
        await api.call("DELETE", f"{TASKS}{task}/", as_=owner, status=204)

    async def all_ended() -> bool:
        return await Job.filter(id__in=started, status__in=("failed", "succeeded")).count() == 3

    await _wait_until(all_ended)
    writing, waiting, kept = [await Job.get(id=job_id) for job_id in started]
    for job, when in ((writing, "while its article was being written"), (waiting, "before its article was written")):
        assert job.status == "failed" and job.error["code"] == "not_found", job.error
        assert when in job.error["message"] and job.credits_used == 0
    assert kept.status == "succeeded", "the site's actor went on with the next job"
    assert await balance(owner.account["id"]) == before - kept.credits_used
    answer = await api.call("GET", f"/api/v1/jobs/{writing.id}/", as_=owner)
    assert answer["data"]["status"] == "failed"


@pytest.mark.parametrize("stage", ["optimize", "image prompts", "image drawing"])
async def test_a_content_deleted_while_its_item_runs_is_not_charged_and_the_job_goes_on(
    api: Api, fake: FakeOpenAI, stage: str
) -> None:
    """The model answers for a content deleted meanwhile: its answer has nowhere to go. The item
    ends as one whose content was deleted before its turn (nothing written, nothing charged) —
    it used to crash the job (`server_error`); a drawn image's file is removed."""
    owner, site = await _ai_site(api, fake)
    html = "<p>" + "word " * 300 + "</p>"
    content = await _made(api, owner, "/api/v1/writer/content/", site_id=site, title="T", html=html)
    before = await balance(owner.account["id"])
    fake.always("slow", seconds=0.4)
    path, body, model_path = {
        "optimize": ("/api/v1/optimizer/optimize/", {"content_id": content}, "/chat/completions"),
        "image prompts": (
            "/api/v1/writer/images/generate_for_content/",
            {"content_ids": [content]},
            "/chat/completions",
        ),
        "image drawing": (
            "/api/v1/writer/images/generate_for_content/",
            {"content_ids": [content]},
            "/images/generations",
        ),
    }[stage]
    job_id = (await api.call("POST", path, json=body, as_=owner, params={"wait": 0}, status=202))["data"]["job"]["id"]

    await _until_the_model_is_called(fake, model_path)
    await api.call("DELETE", f"/api/v1/writer/content/{content}/", as_=owner, status=204)

    job = await _until_ended(job_id)
    assert job.status == "succeeded" and job.credits_used == 0, (job.status, job.error)
    assert await balance(owner.account["id"]) == before
    media = api.client.app[SETTINGS].media_dir / str(owner.account["id"])
    assert not media.exists() or not any(media.iterdir()), "a drawn image's file outlived its row"


async def test_a_cluster_deleted_while_its_ideas_are_written_is_not_charged_and_the_next_one_is(
    api: Api, fake: FakeOpenAI
) -> None:
    """The first cluster's ideas come back after it was deleted: no idea is stored for it (their
    cluster is gone) and it isn't charged; the second cluster's are, and the job succeeds."""
    owner, ids = await _setup(api, fake, clusters=2)
    before = await balance(owner.account["id"])
    fake.always("slow", seconds=0.4)
    job_id = (await api.call("POST", IDEAS, json={"ids": ids}, as_=owner, params={"wait": 0}, status=202))["data"][
        "job"
    ]["id"]

    await _until_the_model_is_called(fake)
    await api.call("DELETE", f"/api/v1/planner/clusters/{ids[0]}/", as_=owner, status=204)

    job = await _until_ended(job_id)
    assert job.status == "succeeded", job.error
    assert await ContentIdea.filter(cluster_id=ids[0]).count() == 0
    assert await ContentIdea.filter(cluster_id=ids[1]).count() > 0
    assert job.credits_used == 5 and await balance(owner.account["id"]) == before - 5


@pytest.mark.parametrize("deleted", ["cluster", "sector"])
async def test_a_task_s_cluster_or_sector_deleted_while_its_article_is_written_leaves_the_article_without_it(
    api: Api, fake: FakeOpenAI, deleted: str
) -> None:
    """The task outlives its cluster or sector (set to none); its article, stored after, must
    not name the deleted one (the insert broke the foreign key and the job crashed as
    `server_error`, the article lost): it takes the task's as they are then."""
    owner, site = await _ai_site(api, fake)
    cluster = await _made(api, owner, CLUSTERS, site_id=site, name="C")
    sector = await _made(api, owner, SECTORS, site_id=site, name="S")
    body = {"site_id": site, "title": "T", "cluster_id": cluster, "sector_id": sector}
    task = (await api.call("POST", TASKS, json=body, as_=owner, status=201))["data"]["id"]
    fake.always("slow", seconds=0.4)
    job_id = (await api.call("POST", f"{TASKS}{task}/generate_content/", as_=owner, params={"wait": 0}, status=202))[
        "data"
    ]["job"]["id"]

    await _until_the_model_is_called(fake)
    path = f"/api/v1/planner/clusters/{cluster}/" if deleted == "cluster" else f"/api/v1/auth/sectors/{sector}/"
    await api.call("DELETE", path, as_=owner, status=204)

    job = await _until_ended(job_id)
    assert job.status == "succeeded", job.error
    content = await Content.get(id=job.result["content_id"])
    kept = {"cluster": sector, "sector": cluster}[deleted]
    assert (content.cluster_id, content.sector_id) == ((None, kept) if deleted == "cluster" else (kept, None))


async def test_a_cluster_s_sector_deleted_while_its_ideas_are_written_leaves_the_ideas_without_it(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, site = await _ai_site(api, fake)
    sector = await _made(api, owner, SECTORS, site_id=site, name="S")
    cluster = await _made(api, owner, CLUSTERS, site_id=site, name="C", sector_id=sector)
    fake.always("slow", seconds=0.4)
    job_id = (await api.call("POST", IDEAS, json={"ids": [cluster]}, as_=owner, params={"wait": 0}, status=202))[
        "data"
    ]["job"]["id"]

    await _until_the_model_is_called(fake)
    await api.call("DELETE", f"/api/v1/auth/sectors/{sector}/", as_=owner, status=204)

    assert (await _until_ended(job_id)).status == "succeeded"
    ideas = await ContentIdea.filter(cluster_id=cluster).values_list("sector_id", flat=True)
    assert ideas and set(ideas) == {None}


@pytest.mark.parametrize("deleted", ["sector", "keyword"])
async def test_a_keyword_or_the_sector_deleted_while_keywords_are_clustered_is_left_out(
    api: Api, fake: FakeOpenAI, deleted: str
) -> None:
    """The clusters named the sector given, and the mapping the keywords read before the model
    call: one deleted meanwhile crashed the job as `server_error` on a foreign key (the sector)
    or listed a keyword that was gone. Now the clusters are stored without the sector, and a
    deleted keyword is `not_found`, in no cluster."""
    owner, site = await _ai_site(api, fake)
    sector = await _made(api, owner, SECTORS, site_id=site, name="S")
    words = ["running shoes", "running socks", "yoga mat", "yoga pants"]
    ids = [await _made(api, owner, "/api/v1/planner/keywords/", site_id=site, keyword=w, volume=100) for w in words]
    fake.always("slow", seconds=0.4)
    body = {"ids": ids, "site_id": site, "sector_id": sector}
    started = await api.call("POST", CLUSTER, json=body, as_=owner, params={"wait": 0}, status=202)

    await _until_the_model_is_called(fake)
    path = f"/api/v1/auth/sectors/{sector}/" if deleted == "sector" else f"/api/v1/planner/keywords/{ids[0]}/"
    await api.call("DELETE", path, as_=owner, status=204)

    job = await _until_ended(started["data"]["job"]["id"])
    assert job.status == "succeeded", job.error
    clustered = sorted(i for cluster in job.result["clusters"] for i in cluster["keyword_ids"])
    if deleted == "sector":
        assert (clustered, job.result["not_found"]) == (ids, [])
        assert await Cluster.filter(site_id=site).values_list("sector_id", flat=True) == [None, None]
    else:
        assert (clustered, job.result["not_found"]) == (ids[1:], [ids[0]])
        assert await Cluster.filter(site_id=site, sector_id=sector).count() == 2
        assert sum(await Cluster.filter(site_id=site).values_list("keywords_count", flat=True)) == 3
