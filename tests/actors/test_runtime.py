"""The actor runtime on its own: ordering, concurrency, supervision, idle stop, shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from actors.runtime import Actor, ActorStopped, ActorSystem


class Recorder(Actor[str]):
    """Appends (key, phase, message) around a short sleep, so interleaving would show."""

    log: list[tuple[str, str, Any]] = []
    starts: list[str] = []
    failures: list[Any] = []

    async def on_start(self) -> None:
        Recorder.starts.append(self.key)

    async def on_failure(self, message: Any, exc: BaseException) -> None:
        Recorder.failures.append(message)

    async def receive(self, message: Any) -> Any:
        if message == "crash":
            raise RuntimeError("boom")
        if message == "hang":
            await asyncio.sleep(10)
        Recorder.log.append((self.key, "start", message))
        await asyncio.sleep(0.02)
        Recorder.log.append((self.key, "end", message))
        return f"{self.key}:{message}"


class Stepper(Actor[str]):
    """Long work in steps; a message sent mid-work is handled between steps."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.events: list[str] = []
        self.left = 0

    async def receive(self, message: Any) -> Any:
        if message == "work":
            self.left = 3
            self.schedule_step()
        self.events.append(f"msg:{message}")
        return list(self.events)

    async def step(self) -> None:
        await asyncio.sleep(0.02)
        self.left -= 1
        self.events.append(f"step:{self.left}")
        if self.left:
            self.schedule_step()


@pytest.fixture(autouse=True)
def _reset() -> None:
    Recorder.log, Recorder.starts, Recorder.failures = [], [], []


def _spans(log: list[tuple[str, str, Any]], key: str) -> list[tuple[str, Any]]:
    return [(phase, msg) for k, phase, msg in log if k == key]


async def test_messages_of_one_actor_never_interleave_and_different_actors_run_concurrently() -> None:
    system: ActorSystem[str] = ActorSystem(Recorder)
    try:
        a, b = await system.ref("a"), await system.ref("b")
        started = asyncio.get_running_loop().time()
        results = await asyncio.gather(*(a.ask(n) for n in range(5)), *(b.ask(n) for n in range(5)))
        elapsed = asyncio.get_running_loop().time() - started
    finally:
        await system.close()
    assert results[:5] == [f"a:{n}" for n in range(5)]
    assert _spans(Recorder.log, "a") == [(phase, n) for n in range(5) for phase in ("start", "end")]
    # Two actors of 5 × 20 ms each overlap: well under the 200 ms they'd take in turn.
    assert elapsed < 0.17


async def test_a_crash_answers_the_asker_restarts_the_actor_and_keeps_serving() -> None:
    system: ActorSystem[str] = ActorSystem(Recorder)
    try:
        ref = await system.ref("a")
        with pytest.raises(RuntimeError, match="boom"):
            await ref.ask("crash")
        assert await ref.ask("after") == "a:after"
    finally:
        await system.close()
    assert Recorder.failures == ["crash"] and Recorder.starts == ["a", "a"]


async def test_ask_times_out_and_pending_asks_fail_on_shutdown() -> None:
    system: ActorSystem[str] = ActorSystem(Recorder)
    ref = await system.ref("a")
    with pytest.raises(TimeoutError):
        await ref.ask("hang", timeout=0.05)
    pending = asyncio.ensure_future(ref.ask("queued behind the hang", timeout=5))
    await asyncio.sleep(0.01)
    await system.close()
    with pytest.raises(ActorStopped):
        await pending
    with pytest.raises(ActorStopped):
        await system.ref("b")


async def test_an_idle_actor_stops_and_a_new_message_starts_it_again() -> None:
    system: ActorSystem[str] = ActorSystem(Recorder, idle_timeout=0.05)
    try:
        ref = await system.ref("a")
        await ref.ask(1)
        assert system.stats() == {"running": 1, "busiest_mailbox": 0}
        await asyncio.sleep(0.15)
        assert system.stats()["running"] == 0
        assert await (await system.ref("a")).ask(2) == "a:2"
    finally:
        await system.close()
    assert Recorder.starts == ["a", "a"]


async def test_messages_are_handled_between_the_steps_of_long_work() -> None:
    system: ActorSystem[str] = ActorSystem(Stepper)
    try:
        ref = await system.ref("s")
        await ref.tell("work")
        await asyncio.sleep(0.03)  # the first step is under way
        events = await ref.ask("ping")
        await asyncio.sleep(0.1)
        final = await ref.ask("done")
    finally:
        await system.close()
    assert events[0] == "msg:work" and events[-1] == "msg:ping"
    assert 1 <= sum(e.startswith("step") for e in events) < 3  # ping came between steps
    assert final[-2:] == ["step:0", "msg:done"]
