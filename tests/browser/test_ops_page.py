"""The operations page (/app/) in headless Chromium against a real server process and the fake model.

Each test checks what a person sees on the page against what the REST API says, and saves a
screenshot under its tmp folder."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from tests.browser.conftest import PASSWORD, ServerProcess, ThreadedFake, World, make_world, rest
from tests.conftest import BACKEND

A = "/api/v1/automation"
STAGES = ("clustering", "ideas", "tasks", "content", "image_prompts", "images", "publish")
RUN_S = 60_000  # ms: how long a run of the fake model may take, restarts included


async def open_page(browser: Any, server: ServerProcess, **context_options: Any) -> Any:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    await page.goto(server.base + "/app/")
    return page


async def sign_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """With the keyboard: the form's fields in tab order, Enter submits."""
    await page.locator("#email").fill("")
    await page.locator("#password").fill("")
    await page.locator("#email").focus()
    await page.keyboard.type(email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")


async def signed_in(page: Any, world: World) -> None:
    from playwright.async_api import expect

    await sign_in(page, world.email)
    await expect(page.locator("#main")).to_be_visible()
    await expect(page.locator("#connection")).to_have_text("Live")
    await expect(page.locator("#site")).to_have_value(str(world.site_id))


async def bars(page: Any) -> dict[str, tuple[int, int]]:
    """Each stage's progress bar as (aria-valuenow, aria-valuemax)."""
    values: dict[str, tuple[int, int]] = await page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#stages li')].map((li) => {
             const bar = li.querySelector('[role=progressbar]');
             const value = (name) => Number(bar.getAttribute(name));
             return [li.dataset.stage, [value('aria-valuenow'), value('aria-valuemax')]];
           }))"""
    )
    return {name: (now, top) for name, (now, top) in values.items()}


def run_bars(run: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {stage["stage"]: (stage["processed"], stage["total"]) for stage in run["stages"]}


async def balance_shown(page: Any) -> int:
    return int(await page.locator("#balance").get_attribute("data-value"))


async def chart_total(page: Any) -> int:
    from playwright.async_api import expect

    svg = page.locator("#chart svg")
    await expect(svg).to_be_visible()
    return int(await svg.get_attribute("data-total"))


async def test_sign_in_out_and_the_messages_for_a_wrong_password_and_an_expired_session(
    browser: Any, server: ServerProcess, fake_model: ThreadedFake, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    world = await make_world(server, fake_model, keywords=0)
    page = await open_page(browser, server)
    await expect(page.locator("#signin")).to_be_visible()
    await expect(page.locator("#signin-message")).to_have_text("")

    await sign_in(page, world.email, "not-the-password-1")
    await expect(page.locator("#signin-message")).to_have_text("Wrong email or password.")
    await expect(page.locator("#main")).to_be_hidden()

    await signed_in(page, world)
    balance = await rest(server, world, "/api/v1/billing/balance/")
    await expect(page.locator("#balance")).to_have_text(f"{balance['credits']:,}")
    # No secret in the page's storage: the session cookie (HttpOnly) is the only credential.
    stored = await page.evaluate("() => [localStorage.length, sessionStorage.length]")
    assert stored == [0, 0]
    cookies = {cookie["name"]: cookie for cookie in await page.context.cookies()}
    assert set(cookies) == {"session", "csrftoken"} and cookies["session"]["httpOnly"]

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.locator("#signin-message")).to_have_text("You are signed out.")
    assert {cookie["name"] for cookie in await page.context.cookies()} == set()
    await page.reload()
    await expect(page.locator("#signin")).to_be_visible()

    # A session the server no longer knows (expired or revoked) while the page still holds it.
    await signed_in(page, world)
    host = server.base
    await page.context.add_cookies([{"name": "session", "value": "expired-session-token", "url": host}])
    await page.reload()
    await expect(page.locator("#signin-message")).to_have_text("Your session has expired; sign in again.")
    await expect(page.locator("#main")).to_be_hidden()
    await page.screenshot(path=tmp_path / "expired-session.png")


async def test_a_run_started_from_the_page_fills_every_bar_live_then_balance_and_chart_change(
    browser: Any, server: ServerProcess, fake_model: ThreadedFake, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    fake_model.slow(0.15)
    world = await make_world(server, fake_model)
    page = await open_page(browser, server)
    await signed_in(page, world)
    await expect(page.locator("#overview tr[data-stage=clustering]")).to_have_attribute("data-waiting", "10")
    balance_before = await balance_shown(page)
    chart_before = await chart_total(page)

    # From here on every change must come from the socket: record what the page asks over REST.
    polled: list[str] = []
    page.on("request", lambda request: polled.append(request.url) if "/current_" in request.url else None)
    await page.get_by_role("button", name="Run now").click()
    await expect(page.locator("#run-message")).to_have_text(re.compile(r"Run #\d+ started\."))
    summary = page.locator("#run-summary")
    await expect(summary).to_have_attribute("data-status", "running")
    content = page.locator("#stages li[data-stage=content] .stage-status")
    await expect(content).to_have_text("running", timeout=RUN_S)
    await expect(page.locator("#processing")).to_contain_text("Now: content")
    # The README's picture (docs/ops-page.png) is this one: the header, the run, the overview, the chart.
    await page.screenshot(path=tmp_path / "run-in-progress.png", clip={"x": 0, "y": 0, "width": 1280, "height": 690})

    await expect(summary).to_have_attribute("data-status", "completed", timeout=RUN_S)
    run_id = int(await summary.get_attribute("data-run-id"))
    history = await rest(server, world, f"{A}/history/", site_id=world.site_id)
    run = history["results"][0]
    assert run["id"] == run_id and run["status"] == "completed"
    shown = await bars(page)
    assert shown == run_bars(run)
    for stage in run["stages"]:
        assert stage["processed"] == stage["total"] > 0, stage
        item = page.locator(f"#stages li[data-stage={stage['stage']}]")
        await expect(item.locator(".stage-status")).to_have_text("completed")
        await expect(item.locator(".stage-credits")).to_have_text(f"{stage['credits_used']:,} credits")
    assert polled == [], "the page asked for the run over REST while the socket was up"

    # The money: the balance follows credits.changed, the chart the usage summary.
    balance = (await rest(server, world, "/api/v1/billing/balance/"))["credits"]
    assert balance == balance_before - run["credits_used"] and run["credits_used"] > 0
    await expect(page.locator("#balance")).to_have_text(f"{balance:,}")
    await expect(page.locator("#chart svg")).to_have_attribute(
        "data-total", str(chart_before + run["credits_used"]), timeout=10_000
    )
    # The history and the run's logs, paginated.
    await expect(page.locator(f"#history tr[data-run-id='{run_id}']")).to_be_visible()
    await page.get_by_role("button", name=f"Logs of run {run_id}").click()
    logs = await rest(server, world, f"{A}/logs/", site_id=world.site_id, run_id=run_id, page_size=20)
    await expect(page.locator("#logs tr")).to_have_count(20)
    await expect(page.locator("#logs tr").first).to_contain_text(logs["results"][0]["message"])
    assert logs["next"] is not None
    await page.get_by_role("button", name="Older").last.click()
    await expect(page.locator("#logs-page")).to_have_text("Page 2")
    await page.screenshot(path=tmp_path / "run-finished.png", full_page=True)


async def test_pause_and_resume_from_the_page(
    browser: Any, server: ServerProcess, fake_model: ThreadedFake, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    fake_model.slow(0.3)
    world = await make_world(server, fake_model)
    page = await open_page(browser, server)
    await signed_in(page, world)
    await page.get_by_role("button", name="Run now").click()
    await expect(page.locator("#stages li[data-stage=ideas] .stage-status")).to_have_text("running", timeout=RUN_S)

    # The pause's answer (read with an item in flight: the run still running, its pause requested)
    # is held until the page has had the run's `paused` event, and must not take the page back.
    paused = asyncio.Event()
    answered: list[dict[str, Any]] = []

    async def hold_the_answer(route: Any) -> None:
        answer = await route.fetch()
        answered.append((await answer.json())["data"])
        await paused.wait()
        await route.fulfill(response=answer)

    await page.route(re.compile(r"/automation/pause/"), hold_the_answer)
    fake_model.slow(2.0)  # the item after the one in flight takes long enough to be asked to pause in
    await page.wait_for_timeout(400)
    await page.get_by_role("button", name="Pause").click()
    summary = page.locator("#run-summary")
    await expect(summary).to_have_attribute("data-status", "paused", timeout=RUN_S)
    assert [run["status"] for run in answered] == ["running"]
    paused.set()
    await expect(page.locator("#run-message")).to_have_text("Paused.")
    await expect(summary).to_have_attribute("data-status", "paused")
    await expect(page.get_by_role("button", name="Resume")).to_be_enabled()
    await expect(page.get_by_role("button", name="Pause")).to_be_disabled()
    current = await rest(server, world, f"{A}/current_run/", site_id=world.site_id)
    assert current["status"] == "paused"
    assert await bars(page) == run_bars(current)
    await page.screenshot(path=tmp_path / "paused.png")

    fake_model.slow(0.05)
    await page.get_by_role("button", name="Resume").click()
    await expect(page.locator("#run-message")).to_have_text("Resumed.")
    await expect(summary).to_have_attribute("data-status", "completed", timeout=RUN_S)
    history = await rest(server, world, f"{A}/history/", site_id=world.site_id)
    assert await bars(page) == run_bars(history["results"][0])
    await page.screenshot(path=tmp_path / "resumed-and-finished.png")


async def test_a_run_the_balance_cannot_pay_shows_the_per_stage_estimate(
    browser: Any, server: ServerProcess, fake_model: ThreadedFake, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    world = await make_world(server, fake_model)
    balance = (await rest(server, world, "/api/v1/billing/balance/"))["credits"]
    server.cli("credits", "grant", "--email", world.email, "--amount", str(10 - balance), "--reason", "browser test")
    estimate = await rest(server, world, f"{A}/estimate/", site_id=world.site_id)
    assert not estimate["sufficient"]

    page = await open_page(browser, server)
    await signed_in(page, world)
    await expect(page.locator("#balance")).to_have_text("10")
    await page.get_by_role("button", name="Run now").click()
    table = page.locator("#run-message table.estimate")
    await expect(table.locator("caption")).to_have_text(
        f"Not enough credits: this run needs {estimate['required']:,}, the balance is 10."
    )
    rows = table.locator("tbody tr")
    await expect(rows).to_have_count(len(estimate["stages"]))
    for n, stage in enumerate(estimate["stages"]):
        await expect(rows.nth(n).locator("td").last).to_have_text(f"{stage['credits']:,}")
    assert await rest(server, world, f"{A}/current_run/", site_id=world.site_id) is None
    await page.screenshot(path=tmp_path / "estimate-402.png")


async def test_a_server_restart_mid_run_ends_with_the_page_showing_the_resumed_run(
    browser: Any, server: ServerProcess, fake_model: ThreadedFake, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    fake_model.slow(0.25)
    world = await make_world(server, fake_model)
    page = await open_page(browser, server)
    sent: list[dict[str, Any]] = []  # what the page sends on its websockets, old and new
    received: list[dict[str, Any]] = []
    page.on(
        "websocket",
        lambda ws: (
            ws.on("framesent", lambda payload: sent.append(json.loads(payload))),
            ws.on("framereceived", lambda payload: received.append(json.loads(payload))),
        ),
    )
    await signed_in(page, world)
    await page.get_by_role("button", name="Run now").click()
    await expect(page.locator("#stages li[data-stage=content] .stage-status")).to_have_text("running", timeout=RUN_S)
    run_id = await page.locator("#run-summary").get_attribute("data-run-id")
    reloads: list[str] = []
    page.on("request", lambda request: reloads.append(request.url) if "/current_run/" in request.url else None)
    streams = {m["stream"] for m in received if m["type"] == "result" and "stream" in m}
    assert streams and len({stream.split(".")[0] for stream in streams}) == 1, received  # one per channel, one bus
    before = len(sent)

    server.stop()
    await expect(page.locator("#connection")).to_have_text("Reconnecting…")
    await page.screenshot(path=tmp_path / "reconnecting.png")
    # The model speeds up before the server is back, so the resumed run may publish more events
    # than the page has seen before it reconnects: without Redis the new process numbers them
    # from 1 again, and only the stream the page sends back tells the two histories apart.
    fake_model.slow(0.05)
    server.start()
    await expect(page.locator("#connection")).to_have_text("Live", timeout=30_000)
    summary = page.locator("#run-summary")
    await expect(summary).to_have_attribute("data-status", "completed", timeout=RUN_S)
    assert await summary.get_attribute("data-run-id") == run_id
    history = await rest(server, world, f"{A}/history/", site_id=world.site_id)
    run = history["results"][0]
    assert str(run["id"]) == run_id and run["status"] == "completed"
    assert await bars(page) == run_bars(run)
    assert all(processed == total for processed, total in run_bars(run).values())
    # The page resubscribed with the seq it had seen and the stream that seq was counted in.
    site_channel = f"site:{world.site_id}"
    resubscribe = next(m for m in sent[before:] if m["type"] == "subscribe" and m["channel"] == site_channel)
    assert resubscribe["last_seq"] > 0 and resubscribe["stream"] in streams, resubscribe
    answer = next(m for m in received if m.get("id") == resubscribe["id"])
    if BACKEND == "postgres":
        # Redis kept the channels' events: the page resubscribed with last_seq and got the missed
        # ones replayed, so it had no reason to reload anything.
        assert answer["type"] == "result" and answer["stream"] in streams, answer
        assert reloads == []
    else:
        # A memory bus starts again at seq 1, in a new stream: replay_gap, and the page reloaded
        # the run over REST.
        assert answer["code"] == "replay_gap" and answer["stream"] not in streams, answer
        assert len(reloads) >= 1
    await page.screenshot(path=tmp_path / "after-restart.png")


async def test_answers_read_before_the_run_ended_but_arriving_after_its_events_do_not_undo_them(
    browser: Any, server: ServerProcess, fake_model: ThreadedFake, tmp_path: Path
) -> None:
    """REST and the socket are separate connections, so an answer read before a change can reach
    the page after the change's event. Two pages whose first answer is held until the run has
    ended and both have had its events: one signed in before the run (its balance read before the
    run reserved credits), one signed in while it went (its run read while running). Each must end
    up showing what is true after the run, not what the late answer holds."""
    from playwright.async_api import expect

    fake_model.slow(0.1)
    world = await make_world(server, fake_model)
    ended = asyncio.Event()

    async def held_page(pattern: str) -> tuple[Any, list[str]]:
        page = await open_page(browser, server)
        held: list[str] = []

        async def hold_the_first_answer(route: Any) -> None:
            if held:
                await route.continue_()
                return
            held.append(route.request.url)
            answer = await route.fetch()  # read now; it reaches the page once the run has ended
            await ended.wait()
            await route.fulfill(response=answer)

        await page.route(re.compile(pattern), hold_the_first_answer)
        await signed_in(page, world)
        return page, held

    before, balance_read = await held_page("/billing/balance/")
    await before.get_by_role("button", name="Run now").click()
    await expect(before.locator("#run-summary")).to_have_attribute("data-status", "running")
    during, run_read = await held_page("/automation/current_run/")

    for page in (before, during):
        await expect(page.locator("#run-summary")).to_have_attribute("data-status", "completed", timeout=RUN_S)
    history = await rest(server, world, f"{A}/history/", site_id=world.site_id)
    run = history["results"][0]
    assert run["status"] == "completed" and run["credits_used"] > 0
    balance = (await rest(server, world, "/api/v1/billing/balance/"))["credits"]
    await expect(before.locator("#balance")).to_have_text(f"{balance:,}")
    assert len(balance_read) == len(run_read) == 1

    ended.set()  # the old answers land now
    for page in (before, during):
        await page.wait_for_timeout(1_000)
        await expect(page.locator("#run-summary")).to_have_attribute("data-status", "completed")
        assert await bars(page) == run_bars(run)
        await expect(page.locator("#balance")).to_have_text(f"{balance:,}")
    await during.screenshot(path=tmp_path / "late-answers.png")


async def test_the_page_works_with_every_address_but_the_server_blocked_and_at_phone_width(
    browser: Any, server: ServerProcess, fake_model: ThreadedFake, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    world = await make_world(server, fake_model, keywords=5)
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    outside: list[str] = []

    async def only_the_server(route: Any) -> None:
        if route.request.url.startswith(server.base + "/"):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await context.route("**/*", only_the_server)
    page = await context.new_page()
    await page.goto(server.base + "/app/")
    await signed_in(page, world)
    await expect(page.locator("#overview tr")).to_have_count(7)
    await expect(page.locator("#chart svg")).to_be_visible()
    await expect(page.locator("#stages [role=progressbar]")).to_have_count(7)
    # Nothing wider than the phone's screen.
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390
    assert outside == []
    # The route really blocks the rest of the world (so the assertion above means something).
    reached = await page.evaluate("() => fetch('https://example.com/').then(() => true, () => false)")
    assert reached is False and outside == ["https://example.com/"]
    await page.screenshot(path=tmp_path / "phone-offline.png", full_page=True)
