"""The actor runtime on its own: ordering, concurrency, supervision, idle stop, shutdown.

No test waits a fixed time for something to happen: each waits for an event or a condition
(bounded by a generous timeout), so a loaded machine makes them slower, never red.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from actors.runtime import Actor, ActorStopped, ActorSystem

PATIENCE = 5.0  # seconds: only reached when the behaviour under test is broken


class Recorder(Actor[str]):
    """Appends (key, phase, message) around a few yields to the loop, so interleaving would show."""

    log: list[tuple[str, str, Any]] = []
    starts: list[str] = []
    stops: list[str] = []
    failures: list[Any] = []
    stopped = asyncio.Event()
    hold = asyncio.Event()  # actor "a" holds its message 0 until the test opens this

    async def on_start(self) -> None:
        Recorder.starts.append(self.key)

    async def on_stop(self) -> None:
        Recorder.stops.append(self.key)
        Recorder.stopped.set()

    async def on_failure(self, message: Any, exc: BaseException) -> None:
        Recorder.failures.append(message)

    async def receive(self, message: Any) -> Any:
        if message == "crash":
            raise RuntimeError("boom")
        if message == "hang":
            await asyncio.Event().wait()  # never set
        if isinstance(message, asyncio.Barrier):
            await message.wait()  # passes only when the other actor reaches it too
            return self.key
        Recorder.log.append((self.key, "start", message))
        if (self.key, message) == ("a", 0):
            await Recorder.hold.wait()
        for _ in range(3):
            await asyncio.sleep(0)  # another message of this actor would start here if it could
        Recorder.log.append((self.key, "end", message))
        return f"{self.key}:{message}"


class Stepper(Actor[str]):
    """Long work in steps; each step waits at `gate`, which the test opens."""

    in_step = asyncio.Event()
    gate = asyncio.Event()
    finished = asyncio.Event()

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
        Stepper.in_step.set()
        await Stepper.gate.wait()
        self.left -= 1
        self.events.append(f"step:{self.left}")
        if self.left:
            self.schedule_step()
        else:
            Stepper.finished.set()


@pytest.fixture(autouse=True)
def _reset() -> None:
    Recorder.log, Recorder.starts, Recorder.stops, Recorder.failures = [], [], [], []
    Recorder.stopped, Recorder.hold = asyncio.Event(), asyncio.Event()
    Stepper.in_step, Stepper.gate, Stepper.finished = asyncio.Event(), asyncio.Event(), asyncio.Event()


async def _until(condition: Callable[[], bool]) -> None:
    """Yield to the loop until `condition` holds (for state with no event of its own, e.g. a
    message having reached a mailbox)."""
    async with asyncio.timeout(PATIENCE):
        while not condition():  # noqa: ASYNC110 - the runtime exposes no event for this
            await asyncio.sleep(0)


async def _set(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), PATIENCE)


def _spans(log: list[tuple[str, str, Any]], key: str) -> list[tuple[str, Any]]:
    return [(phase, msg) for k, phase, msg in log if k == key]


async def test_messages_of_one_actor_never_interleave_and_different_actors_run_concurrently() -> None:
    system: ActorSystem[str] = ActorSystem(Recorder)
    try:
        a, b = await system.ref("a"), await system.ref("b")
        asks = asyncio.gather(*(a.ask(n) for n in range(5)), *(b.ask(n) for n in range(5)))
        # While "a" holds message 0, its other four wait in the mailbox (and "b" carries on).
        await _until(lambda: system.stats()["busiest_mailbox"] == 4 and len(_spans(Recorder.log, "b")) == 10)
        Recorder.hold.set()
        results = await asyncio.wait_for(asks, PATIENCE)
        # Both actors must be inside a message at once to pass the barrier: run in turn, they'd time out.
        meeting = asyncio.Barrier(2)
        met = await asyncio.wait_for(asyncio.gather(a.ask(meeting), b.ask(meeting)), PATIENCE)
    finally:
        await system.close()
    assert results[:5] == [f"a:{n}" for n in range(5)] and results[5:] == [f"b:{n}" for n in range(5)]
    assert _spans(Recorder.log, "a") == [(phase, n) for n in range(5) for phase in ("start", "end")]
    assert _spans(Recorder.log, "b") == [(phase, n) for n in range(5) for phase in ("start", "end")]
    assert met == ["a", "b"]


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
    pending = asyncio.ensure_future(ref.ask("queued behind the hang", timeout=PATIENCE))
    await _until(lambda: system.stats()["busiest_mailbox"] == 1)
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
        await _set(Recorder.stopped)
        assert system.stats()["running"] == 0 and Recorder.stops == ["a"]
        assert await (await system.ref("a")).ask(2) == "a:2"
    finally:
        await system.close()
    assert Recorder.starts == ["a", "a"]


async def test_messages_are_handled_between_the_steps_of_long_work() -> None:
    system: ActorSystem[str] = ActorSystem(Stepper)
    try:
        ref = await system.ref("s")
        await ref.tell("work")
        await _set(Stepper.in_step)  # the first step is under way, held at the gate
        ping = asyncio.ensure_future(ref.ask("ping"))
        await _until(lambda: system.stats()["busiest_mailbox"] == 1)
        Stepper.gate.set()
        events = await asyncio.wait_for(ping, PATIENCE)
        await _set(Stepper.finished)
        final = await ref.ask("done")
    finally:
        await system.close()
    assert events == ["msg:work", "step:2", "msg:ping"]  # ping came between the first and second step
    assert final == ["msg:work", "step:2", "msg:ping", "step:1", "step:0", "msg:done"]


async def test_idle_names_an_actor_only_while_it_waits_for_a_message_with_none_pending() -> None:
    system: ActorSystem[str] = ActorSystem(Stepper)
    try:
        assert system.idle("s") is None, "not running"
        ref = await system.ref("s")
        await ref.ask("ping")
        await _until(lambda: system.idle("s") is not None)
        await ref.tell("work")
        assert system.idle("s") is None, "a message waits in its mailbox"
        await _set(Stepper.in_step)
        assert system.idle("s") is None, "a step in hand"
        Stepper.gate.set()
        await _set(Stepper.finished)
        await _until(lambda: system.idle("s") is not None)
        assert isinstance(system.idle("s"), Stepper)
        closing = asyncio.ensure_future(system.close())
        await asyncio.sleep(0)  # close() has begun: it stops the actors next
        assert system.idle("s") is None, "the system is closing"
        await closing
    finally:
        await system.close()
