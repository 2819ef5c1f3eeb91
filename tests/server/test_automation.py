"""/api/v1/automation/: full runs against the fake model, money, control, access and bad input."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from models.automation import AutomationConfig, AutomationLog, AutomationRun
from models.billing import UsageLog
from models.jobs import Job
from models.planner import Cluster, ContentIdea, Keyword
from models.writer import Content, Image, Task
from server.keys import EVENTS
from services import ledger
from tests.ai_helpers import balance, configure_ai, job_ledger
from tests.automation_helpers import A, events_until, pipeline_site, run_now, wait_job, wait_until
from tests.fakes.openai_server import FakeOpenAI, detect_task, prompt_text
from tests.helpers import Api


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


def _bus(api: Api) -> Any:
    return api.client.app[EVENTS]


async def test_a_full_run_turns_new_keywords_into_content_in_review_and_charges_exactly_its_estimate(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, site_id = await pipeline_site(api, fake)
    account_id = owner.account["id"]
    estimate = (await api.call("GET", f"{A}/estimate/", params={"site_id": site_id}, as_=owner))["data"]
    # 10 keywords → 2 clusters (10) → 6 ideas (30) → 6 tasks → 6 articles of 1,200 words (6 × 12)
    # → 3 image prompts each → 18 images (18 × 4) → 6 contents to review.
    assert [(row["stage"], row["items"], row["credits"]) for row in estimate["stages"]] == [
        ("clustering", 10, 10),
        ("ideas", 2, 10),
        ("tasks", 6, 0),
        ("content", 6, 72),
        ("image_prompts", 6, 0),
        ("images", 18, 72),
        ("publish", 6, 0),
    ]
    assert (estimate["total"], estimate["balance"], estimate["sufficient"]) == (164, 1000, True)

    with _bus(api).subscribe([f"site:{site_id}"]) as site_events:
        run = await run_now(api, owner, site_id)
        assert run["status"] == "queued" and run["trigger"] == "manual" and run["credits_reserved"] == 164
        events = await events_until(site_events, "automation.completed")

    seqs = [e.seq for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "seq rises by one on the channel"
    names = [e.event for e in events if e.event.startswith("automation.")]
    assert names[0] == "automation.run_started" and names[-1] == "automation.completed"
    started = [e.data["stage"] for e in events if e.event == "automation.stage_started"]
    assert started == ["clustering", "ideas", "tasks", "content", "image_prompts", "images", "publish"]
    processed = [e.data for e in events if e.event == "automation.item_processed"]
    assert len(processed) == 1 + 2 + 6 + 6 + 6 + 18 + 6
    assert all(p["status"] == "processed" and p["run_id"] == run["id"] for p in processed)
    assert [p["stage"] for p in processed] == sorted((p["stage"] for p in processed), key=started.index)
    assert processed[0]["item"] == {"type": "keywords", "id": None, "title": "10 keywords"}

    body = await api.call("GET", f"{A}/history/", params={"site_id": site_id}, as_=owner)
    assert body["count"] == 1
    done = body["results"][0]
    assert (done["status"], done["reason"], done["credits_used"]) == ("completed", None, 164)
    assert [(s["stage"], s["status"], s["processed"], s["total"]) for s in done["stages"]] == [
        ("clustering", "completed", 10, 10),
        ("ideas", "completed", 2, 2),
        ("tasks", "completed", 6, 6),
        ("content", "completed", 6, 6),
        ("image_prompts", "completed", 6, 6),
        ("images", "completed", 18, 18),
        ("publish", "completed", 6, 6),
    ]
    assert await job_ledger(done["job_id"]) == [("usage", -164)]  # the charge equals the estimate
    assert await balance(account_id) == 1000 - 164
    assert await Keyword.filter(site_id=site_id, status="mapped").count() == 10
    assert await Cluster.filter(site_id=site_id, status="ideas_generated").count() == 2
    assert await ContentIdea.filter(site_id=site_id, status="queued").count() == 6
    assert await Task.filter(site_id=site_id, status="completed").count() == 6
    assert await Content.filter(site_id=site_id, status="review").count() == 6
    assert await Image.filter(site_id=site_id, status="generated").count() == 18
    usage = await UsageLog.filter(job_id=done["job_id"]).values_list("operation", "credits")
    assert sum(credits for _, credits in usage) == 164
    assert {op for op, _ in usage} == {"auto_cluster", "generate_ideas", "generate_content", "generate_images"}
    assert (await api.call("GET", f"{A}/current_run/", params={"site_id": site_id}, as_=owner))["data"] is None
    assert (await api.call("GET", f"{A}/current_processing/", params={"site_id": site_id}, as_=owner))["data"] is None
    logs = await api.call("GET", f"{A}/logs/", params={"site_id": site_id, "run_id": run["id"]}, as_=owner)
    assert logs["count"] == await AutomationLog.filter(run_id=run["id"]).count() > len(processed)
    assert logs["results"][0]["message"].startswith("Run completed")
    overview = await api.call("GET", f"{A}/pipeline_overview/", params={"site_id": site_id}, as_=owner)
    assert {s["stage"]: s["waiting"] for s in overview["data"]["stages"]} == dict.fromkeys(
        ("clustering", "ideas", "tasks", "content", "image_prompts", "images", "publish"), 0
    )


async def test_stages_with_nothing_to_do_are_skipped_and_cost_nothing(api: Api, fake: FakeOpenAI) -> None:
    owner, site_id = await pipeline_site(api, fake, groups=0)
    run = await run_now(api, owner, site_id)
    job = await wait_job(run["job_id"], "succeeded")
    stored = await AutomationRun.get(id=run["id"])
    assert {s["status"] for s in stored.stages} == {"skipped"} and job.credits_reserved == 0
    assert fake.count("/chat/completions") == 0
    assert await balance(owner.account["id"]) == 1000


async def test_the_credit_cap_ends_the_run_completed_before_the_item_that_would_pass_it(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, site_id = await pipeline_site(api, fake)
    await api.call(
        "PUT", f"{A}/update_config/", params={"site_id": site_id}, json={"max_credits_per_run": 40}, as_=owner
    )
    estimate = (await api.call("GET", f"{A}/estimate/", params={"site_id": site_id}, as_=owner))["data"]
    assert (estimate["total"], estimate["required"]) == (164, 40)
    run = await run_now(api, owner, site_id)
    assert run["credits_reserved"] == 40
    await wait_job(run["job_id"], "succeeded")
    body = await api.call("GET", f"{A}/history/", params={"site_id": site_id}, as_=owner)
    done = body["results"][0]
    # 10 (clustering) + 10 (ideas) + 12 (one article) = 32; a second article would make 44 > 40.
    assert (done["status"], done["reason"], done["credits_used"]) == ("completed", "credit_cap", 32)
    content = next(s for s in done["stages"] if s["stage"] == "content")
    assert (content["status"], content["processed"], content["total"]) == ("stopped", 1, 6)
    assert [s["status"] for s in done["stages"][4:]] == ["pending"] * 3
    assert await job_ledger(done["job_id"]) == [("usage", -40), ("refund", 8)]
    assert await balance(owner.account["id"]) == 1000 - 32
    assert await Content.all().count() == 1
    logs = await api.call(
        "GET", f"{A}/logs/", params={"site_id": site_id, "run_id": run["id"], "level": "warning"}, as_=owner
    )
    assert logs["count"] == 1 and "Stopped before task" in logs["results"][0]["message"]


async def test_model_errors_mid_run_are_logged_as_failed_items_and_the_run_goes_on(
    api: Api, fake: FakeOpenAI, monkeypatch: Any
) -> None:
    monkeypatch.setattr("services.ai_client.BACKOFF_BASE", 0.001)
    owner, site_id = await pipeline_site(api, fake)
    await api.call(
        "PUT",
        f"{A}/update_config/",
        params={"site_id": site_id},
        json={"stages": {"image_prompts": False, "images": False}},
        as_=owner,
    )
    calls = {"n": 0}

    def ideas_then_fail(body: dict[str, Any]) -> Any:
        from tests.fakes.openai_server import default_answer

        text = prompt_text(body)
        calls["n"] += 1
        if calls["n"] == 1:  # the first cluster's ideas: malformed twice (the repair fails too)
            return "not json"
        if calls["n"] == 2:
            return "still not json"
        return default_answer(detect_task(text), text, json_mode=True)

    fake.responders["ideas"] = ideas_then_fail
    run = await run_now(api, owner, site_id)
    job = await wait_job(run["job_id"], "succeeded", "failed")
    assert job.status == "succeeded"
    stored = await AutomationRun.get(id=run["id"])
    ideas = stored.stages[1]
    assert (ideas["status"], ideas["processed"], ideas["failed"], ideas["credits_used"]) == ("completed", 2, 1, 5)
    errors = await AutomationLog.filter(run_id=run["id"], level="error").values_list("message", flat=True)
    assert len(errors) == 1 and "failed" in errors[0]
    assert await Content.filter(site_id=site_id, status="review").count() == 3  # the other cluster's
    # Reserved 10 + 10 + 72 (as estimated); used 10 + 5 + 36; the rest refunded.
    assert await job_ledger(job.id) == [("usage", -92), ("refund", 41)]
    assert await balance(owner.account["id"]) == 1000 - 51


async def test_a_stage_whose_every_item_failed_fails_the_run_and_refunds(
    api: Api, fake: FakeOpenAI, monkeypatch: Any
) -> None:
    monkeypatch.setattr("services.ai_client.BACKOFF_BASE", 0.001)
    owner, site_id = await pipeline_site(api, fake)
    fake.responders["clustering"] = lambda body: "not json"
    with _bus(api).subscribe([f"site:{site_id}"]) as site_events:
        run = await run_now(api, owner, site_id)
        events = await events_until(site_events, "automation.failed")
    failed = events[-1].data
    assert failed["status"] == "failed" and failed["reason"] == "stage_failed"
    assert "stage 1 (clustering)" in failed["error"]["message"]
    assert await job_ledger(run["job_id"]) == [("usage", -164), ("refund", 164)]
    assert await balance(owner.account["id"]) == 1000
    assert (await AutomationRun.get(id=run["id"])).active_site_id is None


async def test_pause_then_resume_continues_from_the_next_item_and_current_processing_agrees(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, site_id = await pipeline_site(api, fake)
    fake.always("slow", seconds=0.15)
    params = {"site_id": site_id}
    with _bus(api).subscribe([f"site:{site_id}"]) as site_events:
        run = await run_now(api, owner, site_id)
        seen = []
        while True:  # until the second article is done
            event = await site_events.get()
            seen.append(event)
            if event.event == "automation.item_processed" and event.data["stage"] == "ideas":
                break
        paused = await api.call("POST", f"{A}/pause/", params={**params, "run_id": run["id"]}, as_=owner)
        assert paused["data"]["status"] == "running"  # the item in flight finishes first
        seen += await events_until(site_events, "automation.paused")
        last = [e.data for e in seen if e.event == "automation.item_processed"][-1]
        current = (await api.call("GET", f"{A}/current_processing/", params=params, as_=owner))["data"]
        assert current["stage"] == last["stage"] and current["item"] == last["item"]
        assert (current["processed"], current["total"]) == (last["processed"], last["total"])
        state = (await api.call("GET", f"{A}/current_run/", params=params, as_=owner))["data"]
        assert state["status"] == "paused"
        calls = fake.count("/chat/completions")
        done = (await Job.get(id=run["job_id"])).checkpoint["done"]
        await api.call("POST", f"{A}/pause/", params={**params, "run_id": run["id"]}, as_=owner, status=409)
        fake.reset()
        resumed = await api.call("POST", f"{A}/resume/", params={**params, "run_id": run["id"]}, as_=owner)
        assert resumed["data"]["status"] == "queued"
        after = await events_until(site_events, "automation.completed")
    assert after[0].event == "automation.resumed"
    again = [e.data for e in after if e.event == "automation.item_processed"]
    keys = {f"{e['stage']}:{e['item']['id'] if e['item']['id'] is not None else 'cluster'}" for e in again}
    assert not keys & set(done), "no finished item runs twice"
    tasks = [
        detect_task(prompt_text(call["json"])) for call in fake.calls if call["path"].endswith("/chat/completions")
    ]
    assert calls < len(tasks), "the run had model calls left when it paused"
    # Every model call made once: 1 clustering, 2 clusters' ideas, 6 articles, 6 image prompt sets.
    assert Counter(tasks) == {"clustering": 1, "ideas": 2, "content": 6, "image_prompts": 6}
    assert await job_ledger(run["job_id"]) == [("usage", -164)]


async def test_cancel_refunds_the_unspent_reservation_and_frees_the_site(api: Api, fake: FakeOpenAI) -> None:
    owner, site_id = await pipeline_site(api, fake)
    fake.always("slow", seconds=0.15)
    params = {"site_id": site_id}
    run = await run_now(api, owner, site_id)

    async def ideas_started() -> bool:
        return (await AutomationRun.get(id=run["id"])).stages[1]["processed"] >= 1

    await wait_until(ideas_started)
    body = await api.call("POST", f"{A}/cancel/", params={**params, "run_id": run["id"]}, as_=owner)
    assert body["data"]["id"] == run["id"]
    job = await wait_job(run["job_id"], "cancelled")
    used = job.credits_used
    assert used >= 15 and await job_ledger(job.id) == [("usage", -164), ("refund", 164 - used)]
    assert await balance(owner.account["id"]) == 1000 - used
    history = (await api.call("GET", f"{A}/history/", params=params, as_=owner))["results"][0]
    assert history["status"] == "cancelled"
    await api.call("POST", f"{A}/cancel/", params={**params, "run_id": run["id"]}, as_=owner, status=409)
    await api.call("POST", f"{A}/resume/", params={**params, "run_id": run["id"]}, as_=owner, status=409)
    fake.reset()
    await run_now(api, owner, site_id)  # the site is free again


async def test_cancel_of_a_paused_run_ends_it_at_once(api: Api, fake: FakeOpenAI) -> None:
    owner, site_id = await pipeline_site(api, fake)
    fake.always("slow", seconds=0.1)
    params = {"site_id": site_id}
    run = await run_now(api, owner, site_id)
    await api.call("POST", f"{A}/pause/", params={**params, "run_id": run["id"]}, as_=owner)
    job = await wait_job(run["job_id"], "paused")
    body = await api.call("POST", f"{A}/cancel/", params={**params, "run_id": run["id"]}, as_=owner)
    assert body["data"]["status"] == "cancelled" and body["data"]["finished_at"]
    assert await job_ledger(job.id) == [("usage", -164), ("refund", 164 - job.credits_used)]


async def test_one_active_run_per_site_and_pause_of_a_finished_run_is_409(api: Api, fake: FakeOpenAI) -> None:
    owner, site_id = await pipeline_site(api, fake)
    fake.always("slow", seconds=0.1)
    params = {"site_id": site_id}
    run = await run_now(api, owner, site_id)
    body = await run_now(api, owner, site_id, status=409)
    assert body["code"] == "conflict"
    assert await AutomationRun.all().count() == 1 and await Job.all().count() == 1
    assert await balance(owner.account["id"]) == 1000 - 164
    fake.reset()
    await wait_job(run["job_id"], "succeeded")
    body = await api.call("POST", f"{A}/pause/", params={**params, "run_id": run["id"]}, as_=owner, status=409)
    assert body["code"] == "conflict"


async def test_run_now_without_enough_credits_is_402_with_the_estimate_and_creates_nothing(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, site_id = await pipeline_site(api, fake)
    await ledger.grant(owner.account["id"], -900)
    body = await run_now(api, owner, site_id, status=402)
    assert body["code"] == "insufficient_credits" and (body["required"], body["available"]) == (164, 100)
    assert [row["credits"] for row in body["estimate"]] == [10, 10, 0, 72, 0, 72, 0]
    assert await AutomationRun.all().count() == 0 and await Job.all().count() == 0
    assert fake.count("/chat/completions") == 0 and await balance(owner.account["id"]) == 100


async def test_run_now_is_idempotent_with_a_key(api: Api, fake: FakeOpenAI) -> None:
    owner, site_id = await pipeline_site(api, fake, groups=0)
    first = await run_now(api, owner, site_id, headers={"Idempotency-Key": "k1"})
    again = await run_now(api, owner, site_id, headers={"Idempotency-Key": "k1"})
    assert first["id"] == again["id"] and await AutomationRun.all().count() == 1


async def test_the_same_key_for_run_now_on_another_site_is_a_409_not_the_first_sites_run(
    api: Api, fake: FakeOpenAI
) -> None:
    owner, site_id = await pipeline_site(api, fake, groups=0)
    _, other_site = await pipeline_site(api, fake, groups=0, owner=owner)
    first = await run_now(api, owner, site_id, headers={"Idempotency-Key": "k2"})
    body = await run_now(api, owner, other_site, status=409, headers={"Idempotency-Key": "k2"})
    assert body["code"] == "conflict" and "query" in body["error"]
    runs = await AutomationRun.all().values_list("site_id", flat=True)
    assert runs == [first["site_id"]]


async def test_config_round_trip_and_next_run_at(api: Api, fake: FakeOpenAI) -> None:
    owner, site_id = await pipeline_site(api, fake, groups=0)
    params = {"site_id": site_id}
    config = (await api.call("GET", f"{A}/config/", params=params, as_=owner))["data"]
    assert config["enabled"] is False and config["next_run_at"] is None and config["stages"]["publish"] is True
    changed = await api.call(
        "PUT",
        f"{A}/update_config/",
        params=params,
        json={
            "enabled": True,
            "schedule": {"frequency": "weekly", "weekday": 2, "time": "06:30"},
            "batch": {"tasks": 3},
        },
        as_=owner,
    )
    data = changed["data"]
    assert data["schedule"] == {"frequency": "weekly", "weekday": 2, "time": "06:30"}
    assert data["batch"]["tasks"] == 3 and data["batch"]["keywords"] == 50  # merged key by key
    assert data["next_run_at"] and "T06:30:00" in data["next_run_at"]
    assert (await api.call("GET", f"{A}/config/", params=params, as_=owner))["data"] == data


async def test_access_roles_modules_and_other_accounts(api: Api, fake: FakeOpenAI) -> None:
    owner, site_id = await pipeline_site(api, fake, groups=0)
    run = await run_now(api, owner, site_id)
    await wait_job(run["job_id"], "succeeded")
    viewer = await api.member(owner, "viewer")
    editor = await api.member(owner, "editor")
    params = {"site_id": site_id}
    await api.call("GET", f"{A}/history/", params=params, as_=viewer)
    await api.call("GET", f"{A}/logs/", params={**params, "run_id": run["id"]}, as_=viewer)
    for who in (viewer, editor):
        await api.call("POST", f"{A}/run_now/", params=params, as_=who, status=403)
        await api.call("PUT", f"{A}/update_config/", params=params, json={"enabled": True}, as_=who, status=403)
    stranger = await api.register()
    await configure_ai(api, stranger, fake)
    own_site = await api.site(stranger)
    for path in ("config", "current_run", "pipeline_overview", "current_processing", "history", "estimate"):
        body = await api.call("GET", f"{A}/{path}/", params=params, as_=stranger, status=404)
        assert body["code"] == "not_found"
    await api.call("POST", f"{A}/run_now/", params=params, as_=stranger, status=404)
    theirs = {"site_id": own_site["id"], "run_id": run["id"]}
    await api.call("GET", f"{A}/logs/", params=theirs, as_=stranger, status=404)
    await api.call("POST", f"{A}/pause/", params=theirs, as_=stranger, status=404)
    await api.call("POST", f"{A}/cancel/", params={**params, "run_id": run["id"]}, as_=stranger, status=404)
    await api.call("PUT", "/api/v1/system/modules/", json={"automation": False}, as_=owner)
    body = await api.call("GET", f"{A}/config/", params=params, as_=owner, status=403)
    assert body["code"] == "module_disabled"
    await api.call("POST", f"{A}/run_now/", params=params, as_=owner, status=403)
    assert await AutomationRun.all().count() == 1


BAD_QUERIES: list[dict[str, Any]] = [
    {},
    {"site_id": "abc"},
    {"site_id": 0},
    {"site_id": 2**40},
    {"site_id": 1, "extra": 1},
]


async def test_bad_input_on_every_endpoint_is_400_and_stores_nothing(api: Api, fake: FakeOpenAI) -> None:
    owner, site_id = await pipeline_site(api, fake, groups=0)
    site_wide = [
        ("GET", "config"),
        ("PUT", "update_config"),
        ("POST", "run_now"),
        ("GET", "current_run"),
        ("GET", "pipeline_overview"),
        ("GET", "current_processing"),
        ("GET", "history"),
        ("GET", "estimate"),
    ]
    for method, path in site_wide:
        for query in BAD_QUERIES:
            query = {k: (site_id if v == 1 else v) for k, v in query.items()}
            body = await api.call(
                method, f"{A}/{path}/", params=query, json={} if method == "PUT" else None, as_=owner, status=400
            )
            assert body["code"] == "validation_error", (path, query, body)
    for method, path in (("POST", "pause"), ("POST", "resume"), ("POST", "cancel"), ("GET", "logs")):
        for query in ({"site_id": site_id}, {"site_id": site_id, "run_id": "x"}, {"site_id": site_id, "run_id": 2**40}):
            await api.call(method, f"{A}/{path}/", params=query, as_=owner, status=400)
        await api.call(method, f"{A}/{path}/", params={"site_id": site_id, "run_id": 999}, as_=owner, status=404)
    for page in ({"page": 0}, {"page_size": 501}, {"ordering": "nope"}):
        await api.call("GET", f"{A}/history/", params={"site_id": site_id, **page}, as_=owner, status=400)
    bad_configs: list[Any] = [
        {"enabled": "yes"},
        {"enabled": 1},
        {"schedule": {"frequency": "monthly"}},
        {"schedule": {"time": "25:00"}},
        {"schedule": {"weekday": 7}},
        {"schedule": {"weekday": "1"}},
        {"schedule": {"nope": 1}},
        {"stages": {"clustering": "off"}},
        {"stages": {"writing": True}},
        {"batch": {"keywords": 0}},
        {"batch": {"keywords": 201}},
        {"batch": {"tasks": 2.5}},
        {"batch": {"tasks": 2**40}},
        {"publish_status": "live"},
        {"max_credits_per_run": -1},
        {"max_credits_per_run": "10"},
        {"surprise": True},
        [],
    ]
    for payload in bad_configs:
        body = await api.call(
            "PUT", f"{A}/update_config/", params={"site_id": site_id}, json=payload, as_=owner, status=400
        )
        assert body["code"] == "validation_error", (payload, body)
    assert await AutomationConfig.all().count() == 0 and await AutomationRun.all().count() == 0


async def test_the_jobs_cancel_endpoint_also_ends_a_paused_run(api: Api, fake: FakeOpenAI) -> None:
    owner, site_id = await pipeline_site(api, fake)
    fake.always("slow", seconds=0.1)
    run = await run_now(api, owner, site_id)
    await api.call("POST", f"{A}/pause/", params={"site_id": site_id, "run_id": run["id"]}, as_=owner)
    await wait_job(run["job_id"], "paused")
    body = await api.call("POST", f"/api/v1/jobs/{run['job_id']}/cancel/", as_=owner)
    assert body["data"]["status"] == "cancelled"
    assert (await AutomationRun.get(id=run["id"])).active_site_id is None
