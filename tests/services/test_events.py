"""The event bus, both backends: per-channel seq, fan-out, replay, gaps, slow subscribers, and
(Redis) events crossing from one bus — one server process — to another."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from services import events
from services.events import EventBus, MemoryEventBus, RedisEventBus
from tests.conftest import BACKEND, TEST_REDIS_URL
from tests.perf.common import free_port

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


async def _next(subscription: object, timeout: float = 2.0) -> object:
    return await asyncio.wait_for(subscription.get(), timeout)  # type: ignore[attr-defined]


@pytest.fixture(params=["memory", "redis"])
async def buses(request: pytest.FixtureRequest) -> AsyncIterator[tuple[EventBus, EventBus]]:
    """Two buses standing for two server processes: one shared bus in memory, two on one Redis."""
    if request.param == "memory":
        bus = MemoryEventBus(buffer_size=5)
        yield bus, bus
        return
    if BACKEND != "postgres" or not TEST_REDIS_URL:
        pytest.skip("needs Redis: runs in the PostgreSQL + Redis pass")
    prefix = f"inkflow-test:{uuid.uuid4().hex}"
    clients = [Redis.from_url(TEST_REDIS_URL), Redis.from_url(TEST_REDIS_URL)]
    pair = (RedisEventBus(clients[0], prefix, buffer_size=5), RedisEventBus(clients[1], prefix, buffer_size=5))
    for bus in pair:
        await bus.start()
    yield pair
    for bus in pair:
        await bus.close()
    for client in clients:
        await client.aclose()


async def test_each_channel_numbers_its_events_from_one_and_subscribers_get_them_in_order(
    buses: tuple[EventBus, EventBus],
) -> None:
    publisher, receiver = buses
    with receiver.subscribe(["site:1", "account:9"]) as sub:
        await publisher.publish(["job:4", "site:1", "account:9"], "job.queued", {"id": 4})
        await publisher.publish(["site:1"], "job.progress", {"id": 4, "done": 1})
        await publisher.publish(["site:2"], "job.queued", {"id": 5})  # not subscribed
        got = [await _next(sub) for _ in range(3)]
        assert [(e.channel, e.seq, e.event) for e in got] == [  # type: ignore[attr-defined]
            ("site:1", 1, "job.queued"),
            ("account:9", 1, "job.queued"),
            ("site:1", 2, "job.progress"),
        ]
        assert got[2].data == {"id": 4, "done": 1}  # type: ignore[attr-defined]
        await asyncio.sleep(0.05)
        assert sub.get_nowait() is None, "an unsubscribed channel's event was delivered"
    assert await receiver.last_seq("site:1") == 2 and await receiver.last_seq("site:2") == 1


async def test_a_batch_is_published_in_order_as_separate_events_and_replays_like_them(
    buses: tuple[EventBus, EventBus],
) -> None:
    """`publish_many` (one round trip on Redis): each event numbered in its channels in the batch's
    order, delivered and kept for replay exactly as if published one by one."""
    publisher, receiver = buses
    with receiver.subscribe(["job:4", "account:9"]) as sub:
        await publisher.publish(["account:9"], "credits.changed", {"balance": 10})
        assert (await _next(sub)).seq == 1  # type: ignore[attr-defined]
        published = await publisher.publish_many(
            [
                (["account:9"], "credits.changed", {"balance": 7}),
                (["job:4", "site:1", "account:9"], "job.queued", {"id": 4, "note": 'say "hi"'}),
                ([], "nothing", {}),
            ]
        )
        assert [(e.channel, e.seq, e.event) for e in published] == [
            ("account:9", 2, "credits.changed"),
            ("job:4", 1, "job.queued"),
            ("site:1", 1, "job.queued"),
            ("account:9", 3, "job.queued"),
        ]
        got = [await _next(sub) for _ in range(3)]
        assert [(e.channel, e.seq, e.event, e.data) for e in got] == [  # type: ignore[attr-defined]
            ("account:9", 2, "credits.changed", {"balance": 7}),
            ("job:4", 1, "job.queued", {"id": 4, "note": 'say "hi"'}),
            ("account:9", 3, "job.queued", {"id": 4, "note": 'say "hi"'}),
        ]
    replayed = await receiver.replay("account:9", 1)
    assert replayed is not None and [(e.seq, e.event, e.data) for e in replayed] == [
        (2, "credits.changed", {"balance": 7}),
        (3, "job.queued", {"id": 4, "note": 'say "hi"'}),
    ]
    assert await publisher.publish_many([]) == []


async def test_on_redis_an_event_for_several_channels_is_one_pub_sub_message_read_into_each_channel() -> None:
    """Every process reads every event: one message per event (not per channel) keeps that
    reading to one decode however many channels an event goes to."""
    if BACKEND != "postgres" or not TEST_REDIS_URL:
        pytest.skip("needs Redis: runs in the PostgreSQL + Redis pass")
    prefix = f"inkflow-test:{uuid.uuid4().hex}"
    client = Redis.from_url(TEST_REDIS_URL)
    bus = RedisEventBus(client, prefix)
    raw = client.pubsub(ignore_subscribe_messages=True)
    try:
        await bus.start()
        await raw.subscribe(bus._pubsub_channel)
        with bus.subscribe(["job:4", "site:1", "account:9"]) as sub:
            await bus.publish_many([(["job:4", "site:1", "account:9"], "job.queued", {"id": 4}), ([], "nowhere", {})])
            got = [await _next(sub) for _ in range(3)]
        assert [(e.channel, e.seq, e.event, e.data) for e in got] == [  # type: ignore[attr-defined]
            ("job:4", 1, "job.queued", {"id": 4}),
            ("site:1", 1, "job.queued", {"id": 4}),
            ("account:9", 1, "job.queued", {"id": 4}),
        ]
        messages = []
        deadline = asyncio.get_running_loop().time() + 0.5
        while asyncio.get_running_loop().time() < deadline:  # None also stands for the subscribe reply
            if (message := await raw.get_message(timeout=0.1)) is not None:
                messages.append(message)
        assert len(messages) == 1, messages
    finally:
        await raw.aclose()
        await bus.close()
        await client.aclose()


async def test_a_subscriber_of_some_events_only_is_handed_just_those(buses: tuple[EventBus, EventBus]) -> None:
    publisher, receiver = buses
    waiter = receiver.subscribe(["job:4"], only=frozenset({"job.succeeded"}))
    with waiter, receiver.subscribe(["job:4"]) as all_:
        await publisher.publish(["job:4"], "job.queued", {"id": 4})
        await publisher.publish(["job:4"], "job.succeeded", {"id": 4})
        assert (await _next(waiter)).event == "job.succeeded"  # type: ignore[attr-defined]
        assert [(await _next(all_)).event for _ in range(2)] == ["job.queued", "job.succeeded"]  # type: ignore[attr-defined]
        await asyncio.sleep(0.05)
        assert waiter.get_nowait() is None


async def test_unsubscribe_and_close_stop_delivery(buses: tuple[EventBus, EventBus]) -> None:
    publisher, receiver = buses
    sub = receiver.subscribe(["a", "b"])
    sub.remove("a")
    await publisher.publish(["a"], "x", {})
    await publisher.publish(["b"], "y", {})
    assert (await _next(sub)).event == "y"  # type: ignore[attr-defined]
    sub.close()
    assert receiver.subscriber_count() == 0
    await publisher.publish(["b"], "z", {})
    await asyncio.sleep(0.05)
    assert sub.get_nowait() is None


async def test_replay_returns_what_was_missed_or_none_when_it_is_no_longer_kept(
    buses: tuple[EventBus, EventBus],
) -> None:
    publisher, receiver = buses
    for n in range(1, 8):  # buffer_size is 5: events 3..7 are kept
        await publisher.publish(["run:1"], "automation.item_processed", {"n": n})
    missed = await receiver.replay("run:1", 4)
    assert missed is not None and [e.seq for e in missed] == [5, 6, 7]
    assert [e.data["n"] for e in missed] == [5, 6, 7]
    assert await receiver.replay("run:1", 7) == []
    assert await receiver.replay("run:1", 1) is None, "events 2 are gone: the client must hear replay_gap"
    assert await receiver.replay("run:unknown", 0) == []


async def test_a_subscriber_that_falls_behind_is_marked_overflowed_and_others_are_not_slowed(
    buses: tuple[EventBus, EventBus],
) -> None:
    publisher, receiver = buses
    slow = receiver.subscribe(["c"], queue_size=3)
    fast = receiver.subscribe(["c"], queue_size=100)
    for n in range(10):
        await publisher.publish(["c"], "tick", {"n": n})
    got = [await _next(fast) for _ in range(10)]
    assert [e.data["n"] for e in got] == list(range(10))  # type: ignore[attr-defined]
    assert slow.overflowed and slow.pending() == 3
    slow.close()
    fast.close()


async def test_datetimes_arrive_as_iso_strings_on_both_backends(buses: tuple[EventBus, EventBus]) -> None:
    from datetime import UTC, datetime

    publisher, receiver = buses
    with receiver.subscribe(["d"]) as sub:
        await publisher.publish(["d"], "x", {"at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)})
        event = await _next(sub)
    assert event.data == {"at": "2026-01-02T03:04:05Z"}  # type: ignore[attr-defined]
    assert event.ts.endswith("Z")  # type: ignore[attr-defined]


async def test_the_buses_of_one_history_tell_the_same_stream_id_every_time(buses: tuple[EventBus, EventBus]) -> None:
    """Before the channel's first event (a client subscribing early) and after it alike: the
    counter that starts then is the one that stream names."""
    publisher, receiver = buses
    stream = await publisher.stream_id("e")
    await publisher.publish(["e"], "x", {})
    await publisher.publish(["e", "f"], "x", {})
    assert await receiver.stream_id("e") == stream == await publisher.stream_id("e")
    assert stream and await publisher.stream_id("f") not in (stream, "")


async def test_a_new_memory_bus_a_restarted_process_is_a_new_stream() -> None:
    assert await MemoryEventBus().stream_id("e") != await MemoryEventBus().stream_id("e")


async def test_a_channel_a_memory_bus_dropped_to_make_room_counts_in_a_new_stream() -> None:
    """The counter of a channel dropped for newer ones starts again at 1: a seq counted before is
    from another history, and the channel's stream says so (replaying it against the new
    numbers would hand a client events that don't follow what it saw)."""
    bus = MemoryEventBus(max_channels=2)
    for _ in range(5):
        await bus.publish(["site:1"], "x", {})
    before = await bus.stream_id("site:1")
    await bus.publish(["job:1"], "x", {})
    await bus.publish(["job:2"], "x", {})  # site:1 is the least recently used: dropped
    assert await bus.last_seq("site:1") == 0
    for _ in range(7):
        await bus.publish(["site:1"], "x", {})
    assert await bus.last_seq("site:1") == 7
    assert await bus.stream_id("site:1") != before
    assert (await bus.stream_id("site:1")).split(".")[0] == before.split(".")[0], "the bus's history is the same"


async def test_on_redis_buses_of_one_prefix_share_a_stream_id_and_an_emptied_redis_is_a_new_one() -> None:
    if BACKEND != "postgres" or not TEST_REDIS_URL:
        pytest.skip("needs Redis: runs in the PostgreSQL + Redis pass")
    prefix = f"inkflow-test:{uuid.uuid4().hex}"
    redis = Redis.from_url(TEST_REDIS_URL)
    buses = [RedisEventBus(redis, prefix), RedisEventBus(redis, prefix)]
    try:
        stream = await buses[0].stream_id("e")
        assert await buses[1].stream_id("e") == stream
        assert await RedisEventBus(redis, f"{prefix}-other").stream_id("e") != stream, "a prefix is its own history"

        await redis.delete(f"{prefix}:ev:stream")  # Redis emptied (its counters with it)
        fresh = RedisEventBus(redis, prefix)  # a process started afterwards
        renewed = await fresh.stream_id("e")
        assert renewed != stream
        # The processes that were running see the new history too: the id is not read once.
        assert await buses[0].stream_id("e") == renewed == await buses[1].stream_id("e")
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_a_redis_bus_that_cannot_reach_redis_still_tells_a_stream_id_one_no_history_holds() -> None:
    # A plain subscribe goes on working while Redis is down; a client that resumes with this id
    # later hears replay_gap, since Redis never stored it.
    redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    bus = RedisEventBus(redis, f"inkflow-test:{uuid.uuid4().hex}")
    try:
        stream = await bus.stream_id("e")
        assert stream and await bus.stream_id("e") == stream
        assert stream != await RedisEventBus(redis, "inkflow-test:other").stream_id("e")
    finally:
        await redis.aclose()


@dataclass
class OneRedis:
    """Two buses (two processes) on one Redis prefix, and that Redis."""

    redis: Redis
    prefix: str
    here: RedisEventBus
    there: RedisEventBus

    def key(self, kind: str, channel: str) -> str:
        return f"{self.prefix}:ev:{kind}:{channel}"


@pytest.fixture
async def one_redis() -> AsyncIterator[OneRedis]:
    if BACKEND != "postgres" or not TEST_REDIS_URL:
        pytest.skip("needs Redis: runs in the PostgreSQL + Redis pass")
    prefix = f"inkflow-test:{uuid.uuid4().hex}"
    redis = Redis.from_url(TEST_REDIS_URL)
    both = OneRedis(redis, prefix, RedisEventBus(redis, prefix), RedisEventBus(redis, prefix))
    yield both
    for bus in (both.here, both.there):
        await bus.close()
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def test_a_redis_birth_made_late_in_a_counter_s_life_ends_with_it(one_redis: OneRedis) -> None:
    """A subscriber asks for the stream of a channel whose counter has a moment left to live:
    the birth made then must expire with the counter, or the counter that starts after it would
    be named by the old birth."""
    bus, redis, key = one_redis.here, one_redis.redis, one_redis.key
    for _ in range(3):
        await bus.publish(["job:7"], "x", {})
    # Its month without events nearly over (the replay log, kept a day, went long before).
    await redis.pexpire(key("seq", "job:7"), 300)
    await redis.delete(key("log", "job:7"))
    old = await bus.stream_id("job:7")
    assert 0 < await redis.pttl(key("birth", "job:7")) <= 300
    await asyncio.sleep(0.4)
    await bus.publish(["job:7"], "x", {})
    assert await bus.last_seq("job:7") == 1
    assert await bus.stream_id("job:7") != old


async def test_a_redis_birth_made_before_the_first_event_lives_as_long_as_the_counter_after_it(
    one_redis: OneRedis,
) -> None:
    """A subscriber early (the birth made then, a month to live) and the channel's first event
    much later: the birth must last as long as the counter that event starts, or a later
    subscriber would be handed another birth for the same counter (a needless gap)."""
    bus, redis, key = one_redis.here, one_redis.redis, one_redis.key
    early = await bus.stream_id("run:3")
    await redis.pexpire(key("birth", "run:3"), 300)  # made nearly a month ago
    await bus.publish(["run:3"], "x", {})
    await asyncio.sleep(0.4)
    assert await bus.stream_id("run:3") == early
    assert await redis.ttl(key("birth", "run:3")) > events.SEQ_TTL_S - 60


async def test_a_redis_counter_that_expired_and_started_again_counts_in_a_new_stream(one_redis: OneRedis) -> None:
    """A channel's counter expires after a month without events (`SEQ_TTL_S`), its birth with it;
    the counter that starts with the next event has a new birth, on every process. A birth a
    subscriber made before the first event is kept by it."""
    here, there, redis, key = one_redis.here, one_redis.there, one_redis.redis, one_redis.key
    early = await here.stream_id("site:1")  # a subscriber before any event
    for _ in range(3):
        await here.publish(["site:1"], "x", {})
    assert await there.stream_id("site:1") == early
    assert 0 < await redis.ttl(key("birth", "site:1")) <= events.SEQ_TTL_S
    # What a month without events does: the counter and its birth expire together.
    await redis.delete(key("seq", "site:1"), key("birth", "site:1"), key("log", "site:1"))
    for _ in range(5):
        await there.publish(["site:1"], "x", {})
    assert await here.last_seq("site:1") == 5
    renewed = await here.stream_id("site:1")
    assert renewed != early and await there.stream_id("site:1") == renewed
    assert renewed.split(".")[0] == early.split(".")[0], "the Redis history is the same"


async def test_a_hand_over_reaches_only_the_early_subscribers_here_and_numbers_nothing(
    buses: tuple[EventBus, EventBus],
) -> None:
    here, elsewhere = buses
    with (
        here.subscribe(["job:4"], early=True) as waiting,
        here.subscribe(["job:4"]) as watching,
        elsewhere.subscribe(["job:4"], early=True) as waiting_elsewhere,
    ):
        here.hand_over("job:4", "job.succeeded", {"id": 4, "status": "succeeded"})
        handed = await _next(waiting)
        assert (handed.channel, handed.seq, handed.event, handed.data) == (  # type: ignore[attr-defined]
            "job:4",
            0,
            "job.succeeded",
            {"id": 4, "status": "succeeded"},
        )
        await asyncio.sleep(0.05)
        assert watching.get_nowait() is None, "a subscriber that didn't ask for it got the hand-over"
        if here is not elsewhere:
            assert waiting_elsewhere.get_nowait() is None, "a hand-over left the process"
        assert await here.last_seq("job:4") == 0  # nothing numbered, nothing kept for replay
        await here.publish(["job:4"], "job.succeeded", {"id": 4})  # the numbered copy, for everyone
        assert [(e.seq, e.event) for e in (await _next(watching), await _next(waiting))] == [  # type: ignore[attr-defined]
            (1, "job.succeeded"),
            (1, "job.succeeded"),
        ]


async def test_posted_events_are_numbered_in_the_order_they_were_posted_while_the_first_is_still_on_its_way(
    buses: tuple[EventBus, EventBus], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`post_many` takes the event's place in the process's order at once: what is published
    later is numbered after it even while it is held up (a job's end never overtakes its
    `job.queued`). On Redis the first call is held in flight; what is posted meanwhile goes
    together in the next call."""
    bus, _ = buses
    gate = asyncio.Event()
    calls: list[int] = []
    if isinstance(bus, RedisEventBus):
        script = bus._script

        async def held(*, keys: list[str], args: list[object]) -> object:
            calls.append(len(keys) // 3)  # three keys per event and channel
            if len(calls) == 1:
                await gate.wait()
            return await script(keys=keys, args=args)

        monkeypatch.setattr(bus, "_script", held)
    with bus.subscribe(["job:9"]) as watching:
        queued = bus.post_many([(["job:9"], "job.queued", {"n": 1})])
        await asyncio.sleep(0.05)  # its call is in flight now (held on Redis)
        later = [asyncio.ensure_future(bus.publish(["job:9"], "job.progress", {"n": n})) for n in (2, 3)]
        ended = asyncio.ensure_future(bus.publish_many([(["job:9"], "job.succeeded", {"n": 4})]))
        await asyncio.sleep(0.05)
        gate.set()
        numbered = [*(await queued), *[e for f in later for e in await f], *(await ended)]
        assert [(e.seq, e.data["n"]) for e in numbered] == [(1, 1), (2, 2), (3, 3), (4, 4)]
        assert [(e.seq, e.event) for e in [await _next(watching) for _ in range(4)]] == [  # type: ignore[attr-defined]
            (1, "job.queued"),
            (2, "job.progress"),
            (3, "job.progress"),
            (4, "job.succeeded"),
        ]
    if isinstance(bus, RedisEventBus):
        assert calls == [1, 3], "what was posted during the held call went in one call after it"


async def test_a_redis_that_stops_answering_fails_a_publication_in_bounded_time_and_the_next_goes() -> None:
    """A blackholed Redis must not hold the process's events (and whoever waits for one) until the
    operating system gives the connection up: the call fails after `publish_timeout`."""
    if BACKEND != "postgres" or not TEST_REDIS_URL:
        pytest.skip("needs Redis: runs in the PostgreSQL + Redis pass")
    redis = Redis.from_url(TEST_REDIS_URL)
    bus = RedisEventBus(redis, f"inkflow-test:{uuid.uuid4().hex}", publish_timeout=0.2)
    script = bus._script
    calls: list[int] = []

    async def silent_once(*, keys: list[str], args: list[object]) -> object:
        calls.append(len(keys))
        if len(calls) == 1:
            await asyncio.sleep(30)  # no answer, as from a dropped route
        return await script(keys=keys, args=args)

    bus._script = silent_once  # type: ignore[method-assign]
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(bus.publish(["job:1"], "job.queued", {"id": 1}), 3)
        assert asyncio.get_running_loop().time() - started < 2, "the bus's own bound, not the test's"
        [event] = await asyncio.wait_for(bus.publish(["job:1"], "job.succeeded", {"id": 1}), 2)
        assert (event.seq, event.event) == (1, "job.succeeded")  # the lost one was never numbered
    finally:
        await script.close()
        await redis.aclose()
