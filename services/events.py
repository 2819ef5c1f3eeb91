"""One event bus: `publish(channels, event, data)` and `subscribe(channels)`.

Channels are strings such as `job:12`, `site:3`, `account:7`, `run:5`, `integration:2`. Each
channel numbers its events with its own `seq`, rising by one, and keeps the last `buffer_size`
of them for replay (a websocket client that reconnects with `last_seq`).

A channel's counter belongs to one history, named by `await bus.stream_id(channel)`: the bus's
history (a new one when every counter starts again: a memory bus in a restarted process, an
emptied Redis) and the birth of the channel's counter (a new one when that counter alone starts
again: dropped by a memory bus to make room, expired in Redis after a month without events). So
a seq remembered from before is known to count something else and is never replayed against
the new numbers.

Two backends behind one interface, chosen by `REDIS_URL`:
- `MemoryEventBus`: one process; counters and replay buffers in memory, and a history id drawn
  when the bus is made.
- `RedisEventBus`: every process; one Lua script per publish numbers the event, appends it to a
  capped stream per channel (the replay buffer) and publishes it once, with each channel's seq,
  on one pub/sub channel, so the seq order is the delivery order everywhere. One script call
  is in flight at a time; what is published meanwhile goes in the next (`services.batching`),
  so a process's events are numbered in the order it made them, and `post_many` can take an
  event's place in that order without waiting for Redis. Each process holds one pub/sub
  connection and fans events out to its local subscribers. The history id is a key of its own,
  set if missing; each counter's birth is a key beside it, living as long as the counter.

Subscribers get events through a bounded queue; one that falls behind is marked `overflowed`
and gets nothing more (the websocket layer closes it with 1013), so a slow reader never slows
the publisher or anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from services.batching import Batcher
from services.redis_calls import SerialScript

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("inkflow.events")

BUFFER_SIZE = 1000  # events kept per channel for replay (CONTRACT §13: at least 1,000)
QUEUE_SIZE = 1000  # events a subscriber may have waiting before it counts as overflowed
MAX_BUFFERED_CHANNELS = 20_000  # memory backend: channels kept (counter, replay buffer), least recently used dropped
STREAM_TTL_S = 86_400  # Redis: a channel's replay buffer outlives its last event by a day
SEQ_TTL_S = 30 * 86_400  # Redis: a channel's counter outlives its last event by a month
# Redis: how long one publishing call may take. A Redis that stops answering (a dropped route,
# no reset) would otherwise hold every publication of the process, and whoever waits for one,
# until the operating system gives the connection up.
PUBLISH_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Event:
    channel: str
    seq: int
    event: str
    data: Mapping[str, Any]
    ts: str

    def as_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "seq": self.seq, "event": self.event, "data": self.data, "ts": self.ts}


# What `publish_many` takes: an event's channels, its name and its data.
Publication = tuple[Sequence[str], str, Mapping[str, Any]]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_stream_id() -> str:
    return secrets.token_hex(8)


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _encode(data: Mapping[str, Any]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS)


class Subscription:
    """A reader's view of some channels: `await get()` or `async for event in subscription`."""

    def __init__(
        self,
        bus: _Fanout,
        channels: Iterable[str],
        queue_size: int,
        *,
        early: bool = False,
        only: frozenset[str] | None = None,
    ) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=queue_size)
        self.channels: set[str] = set()
        self.overflowed = False
        self.closed = False
        self.early = early  # also gets what `hand_over` gives, ahead of the numbered events
        self.only = only  # the events it is woken for (None: all)
        # Called once when the queue overflows, so a reader blocked elsewhere (a websocket
        # writer waiting on a full socket) can be dropped at once.
        self.on_overflow: Callable[[], None] | None = None
        for channel in channels:
            self.add(channel)

    def add(self, channel: str) -> None:
        if channel not in self.channels:
            self.channels.add(channel)
            self._bus._attach(channel, self)

    def remove(self, channel: str) -> None:
        if channel in self.channels:
            self.channels.discard(channel)
            self._bus._detach(channel, self)

    def _deliver(self, event: Event) -> None:
        if self.overflowed or self.closed or (self.only is not None and event.event not in self.only):
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            log.warning("subscriber of %s fell %d events behind; dropped", sorted(self.channels), self._queue.qsize())
            if self.on_overflow is not None:
                self.on_overflow()

    async def get(self) -> Event:
        return await self._queue.get()

    def get_nowait(self) -> Event | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        for channel in list(self.channels):
            self.remove(channel)
        self.closed = True

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while not self.closed:
            yield await self.get()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Listener(Subscription):
    """A subscription that hands each event to a callback at once instead of queueing it."""

    def __init__(self, bus: _Fanout, channels: Iterable[str], callback: Callable[[Event], None]) -> None:
        self._callback = callback
        super().__init__(bus, channels, 1)

    def _deliver(self, event: Event) -> None:
        if not self.closed:
            self._callback(event)


class _Fanout:
    """Local delivery of events to this process's subscribers, by channel."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}

    def _attach(self, channel: str, subscription: Subscription) -> None:
        self._subscribers.setdefault(channel, set()).add(subscription)

    def _detach(self, channel: str, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(channel)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[channel]

    def _dispatch(self, event: Event) -> None:
        for subscription in tuple(self._subscribers.get(event.channel, ())):
            subscription._deliver(event)

    def subscribe(
        self,
        channels: Iterable[str] = (),
        *,
        queue_size: int = QUEUE_SIZE,
        early: bool = False,
        only: frozenset[str] | None = None,
    ) -> Subscription:
        """Start receiving the channels' events from now on (use `replay` for earlier ones);
        `early`: also what `hand_over` gives (a request waiting for a job's end); `only`: just
        these events (a waiter isn't woken for the others)."""
        return Subscription(self, channels, queue_size, early=early, only=only)

    def hand_over(self, channel: str, event: str, data: Mapping[str, Any]) -> None:
        """Give an event now, unnumbered, to this process's `early` subscribers of the channel
        only, ahead of the numbered copy every subscriber gets through `publish` (which, with
        Redis, comes back a round trip later): a request waiting here for a job that ended here
        answers without waiting for Redis. Every other subscriber sees the numbered events
        alone, so their order and numbering are untouched."""
        for subscription in tuple(self._subscribers.get(channel, ())):
            if subscription.early:
                subscription._deliver(Event(channel, 0, event, data, _now()))

    def dispatch_local(self, channel: str, event: str, data: Mapping[str, Any]) -> None:
        """Hand an event to this process's subscribers now, unnumbered and not kept: for
        in-process state that must change before the publisher answers (its own copy through
        Redis arrives a moment later)."""
        self._dispatch(Event(channel, 0, event, data, _now()))

    def listen(self, channels: Iterable[str], callback: Callable[[Event], None]) -> Listener:
        """Call `callback` with each event of the channels as it is dispatched: no queue, so
        it can't fall behind (for in-process state such as a cache that must drop entries)."""
        return Listener(self, channels, callback)

    def subscriber_count(self) -> int:
        """Readers with a queue (websockets and the like); in-process listeners don't count."""
        return sum(1 for subs in self._subscribers.values() for s in subs if not isinstance(s, Listener))


@dataclass(slots=True)
class _Channel:
    """A memory bus's channel: its counter, its replay buffer and the counter's birth."""

    birth: str
    buffer: deque[Event]
    seq: int = 0


class MemoryEventBus(_Fanout):
    """The bus of a single process."""

    # It reaches no other process, so nothing may be cached on the strength of its events.
    epoch: int | None = None

    def __init__(self, buffer_size: int = BUFFER_SIZE, max_channels: int = MAX_BUFFERED_CHANNELS) -> None:
        super().__init__()
        self._buffer_size = buffer_size
        self._max_channels = max_channels
        # Least recently used first; past `max_channels` the oldest goes, counter and all.
        self._channels: OrderedDict[str, _Channel] = OrderedDict()
        # The counters live and die with this object: a new process, a new history.
        self._stream_id = _new_stream_id()

    async def start(self) -> None:
        """Nothing to connect."""

    def _channel(self, channel: str) -> _Channel:
        state = self._channels.get(channel)
        if state is None:
            state = self._channels[channel] = _Channel(_new_stream_id(), deque(maxlen=self._buffer_size))
            if len(self._channels) > self._max_channels:
                self._channels.popitem(last=False)
        else:
            self._channels.move_to_end(channel)
        return state

    async def stream_id(self, channel: str) -> str:
        """The id of the history `channel`'s seqs count in: this bus's, and the birth of the
        channel's counter (a channel dropped to make room starts a new counter, and a new id)."""
        return f"{self._stream_id}.{self._channel(channel).birth}"

    async def close(self) -> None:
        self._subscribers.clear()

    async def publish_many(self, batch: Sequence[Publication]) -> list[Event]:
        """Several events, in order (as the Redis bus's one round trip)."""
        return await self.post_many(batch)

    def post_many(self, batch: Sequence[Publication]) -> asyncio.Future[list[Event]]:
        """`publish_many`, its place in the order taken now: published at once here."""
        future: asyncio.Future[list[Event]] = asyncio.get_running_loop().create_future()
        future.set_result([item for channels, event, data in batch for item in self._publish(channels, event, data)])
        return future

    async def publish(self, channels: Sequence[str], event: str, data: Mapping[str, Any]) -> list[Event]:
        return self._publish(channels, event, data)

    def _publish(self, channels: Sequence[str], event: str, data: Mapping[str, Any]) -> list[Event]:
        ts = _now()
        # A round trip through JSON, as the Redis backend does, so subscribers of either
        # backend see the same plain values (ISO strings for datetimes).
        plain = orjson.loads(_encode(data))
        published = []
        for channel in channels:
            state = self._channel(channel)
            state.seq += 1
            item = Event(channel, state.seq, event, plain, ts)
            state.buffer.append(item)
            published.append(item)
            self._dispatch(item)
        return published

    async def last_seq(self, channel: str) -> int:
        state = self._channels.get(channel)
        return 0 if state is None else state.seq

    async def replay(self, channel: str, after_seq: int) -> list[Event] | None:
        """Events of `channel` after `after_seq`, or None when some of them are no longer kept."""
        state = self._channels.get(channel)
        if state is None or after_seq >= state.seq:
            return []
        missed = [e for e in state.buffer if e.seq > after_seq]
        if not missed or missed[0].seq != after_seq + 1:
            return None
        return missed


# KEYS: for each channel of each event, in order, the channel's counter, its replay log and its
# counter's birth. ARGV: the pub/sub channel, the log's length, the log's TTL, the counter's TTL;
# then for each event: how many channels it goes to, its channels as a JSON list, the message's
# JSON after its seq (`,"event":…,"ts":…,"data":…}`, assembled as text, so the data's JSON
# passes through untouched) and, for each of its channels, the JSON before the seq
# (`{"channel":…,"seq":`). Each channel's log gets the event with that channel's seq (what
# `replay` reads); the pub/sub channel gets one message per event with every channel's seq, so
# a reader decodes an event once however many channels it goes to. The birth (made by
# `_STREAM_LUA`, if any) is given the counter's life again. Returns the seqs, in order.
_PUBLISH_LUA = """
local seqs = {}
local key, arg = 1, 5
while arg <= #ARGV do
  local count, channels, tail = tonumber(ARGV[arg]), ARGV[arg + 1], ARGV[arg + 2]
  local mine = {}
  for j = 1, count do
    local seq = redis.call('INCR', KEYS[key])
    redis.call('EXPIRE', KEYS[key], ARGV[4])
    redis.call('EXPIRE', KEYS[key + 2], ARGV[4])
    redis.call('XADD', KEYS[key + 1], 'MAXLEN', ARGV[2], seq .. '-1', 'm', ARGV[arg + 2 + j] .. seq .. tail)
    redis.call('EXPIRE', KEYS[key + 1], ARGV[3])
    mine[j] = seq
    seqs[#seqs + 1] = seq
    key = key + 3
  end
  redis.call('PUBLISH', ARGV[1], '{"seqs":[' .. table.concat(mine, ',') .. '],"channels":' .. channels .. tail)
  arg = arg + 3 + count
end
return seqs
"""


# KEYS: the history id, a channel's counter, its counter's birth; ARGV: a new history id, a new
# birth, the counter's TTL. The history is set if missing. A channel without a birth gets the new
# one, living no longer than its counter (so a counter that expires takes its birth with it, and
# the one that starts after has another), or a counter's TTL when it has none yet (the first
# event then gives both the same life). Returns the history and the birth.
_STREAM_LUA = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local birth = redis.call('GET', KEYS[3])
if not birth then
  birth = ARGV[2]
  local left = redis.call('PTTL', KEYS[2])
  if left > 0 then
    redis.call('SET', KEYS[3], birth, 'PX', left)
  else
    redis.call('SET', KEYS[3], birth, 'EX', ARGV[3])
  end
end
return {redis.call('GET', KEYS[1]), birth}
"""


def _decode(raw: bytes | str) -> Event:
    """An event as a channel's replay log keeps it."""
    value = orjson.loads(raw)
    return Event(value["channel"], int(value["seq"]), value["event"], value["data"], value["ts"])


def _decode_published(raw: bytes | str) -> list[Event]:
    """An event as the pub/sub channel carries it: one per channel it went to, each with its seq."""
    value = orjson.loads(raw)
    event, data, ts = value["event"], value["data"], value["ts"]
    seqs = zip(value["channels"], value["seqs"], strict=True)
    return [Event(channel, int(seq), event, data, ts) for channel, seq in seqs]


class RedisEventBus(_Fanout):
    """The bus shared by every process pointed at one Redis."""

    def __init__(
        self, redis: Redis, prefix: str, buffer_size: int = BUFFER_SIZE, publish_timeout: float = PUBLISH_TIMEOUT_S
    ) -> None:
        super().__init__()
        self._redis = redis
        self._prefix = prefix
        self._buffer_size = buffer_size
        # Named for its message format (one message per event, every channel's seq in it): a
        # process of an earlier version, during a rolling restart, reads its own channel.
        self._pubsub_channel = f"{prefix}:events:2"
        self._script = SerialScript(redis, _PUBLISH_LUA)
        self._stream_script = redis.register_script(_STREAM_LUA)
        # One script call in flight, the publications made meanwhile gathered for the next:
        # numbered in the order this process made them, whichever task made them.
        self._publications: Batcher[Sequence[Publication], list[Event]] = Batcher(
            self._publish_gathered, timeout=publish_timeout
        )
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        # Which connection of the reader is delivering events: a new number after each
        # reconnect (events published meanwhile were lost), None while Redis is unreachable.
        self.epoch: int | None = None
        self._connections = 0
        self._stream_id = _new_stream_id()  # until Redis has been read: see stream_id
        self._unheld_birth = _new_stream_id()  # what stream_id answers while Redis can't be read

    def _seq_key(self, channel: str) -> str:
        return f"{self._prefix}:ev:seq:{channel}"

    def _stream_key(self, channel: str) -> str:
        return f"{self._prefix}:ev:log:{channel}"

    def _birth_key(self, channel: str) -> str:
        return f"{self._prefix}:ev:birth:{channel}"

    async def stream_id(self, channel: str) -> str:
        """The id of the history `channel`'s seqs count in: this Redis's (shared by every
        process, a new one once Redis has lost its data) and the birth of the channel's counter
        (a new one when the counter starts again after expiring, `SEQ_TTL_S` without events).

        Read on every call rather than once at start: Redis can be emptied under running
        processes, and their counters start again with it. One round trip. The history has no
        TTL: it lasts as long as Redis keeps the data it names. A channel's birth is made here,
        the first time it is asked for, and never outlives the counter (`_STREAM_LUA`)."""
        keys = [f"{self._prefix}:ev:stream", self._seq_key(channel), self._birth_key(channel)]
        try:
            history, born = await self._stream_script(keys=keys, args=[_new_stream_id(), _new_stream_id(), SEQ_TTL_S])
        except Exception as exc:  # Redis down: a plain subscribe still works, as it did before ids
            # An id Redis never held: it can only make a client's next resubscribe a gap, never
            # a replay of another history.
            unheld = f"{self._stream_id}.{self._unheld_birth}"
            log.debug("event bus: stream id unreadable (%s); answering %s", exc, unheld)
            return unheld
        self._stream_id = _text(history)
        return f"{self._stream_id}.{_text(born)}"

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read(), name="event-bus-reader")
        # Serve even when Redis is down: the reader keeps retrying and says so in the log.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), 5)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._script.close()
        self._subscribers.clear()

    async def _read(self) -> None:
        """Receive every event of every process and hand it to the local subscribers."""
        delay = 0.1
        down = False
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._pubsub_channel)
                self._connections += 1
                self.epoch = self._connections
                self._ready.set()
                if down:
                    log.warning("event bus: Redis is reachable again")
                    down, delay = False, 0.1
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        for event in _decode_published(message["data"]):
                            self._dispatch(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.epoch = None
                if not down:
                    log.warning("event bus: lost Redis (%s); retrying", exc)
                    down = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                self.epoch = None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def publish(self, channels: Sequence[str], event: str, data: Mapping[str, Any]) -> list[Event]:
        return await self.publish_many([(channels, event, data)])

    async def publish_many(self, batch: Sequence[Publication]) -> list[Event]:
        """Several events in one round trip (one script call), in order."""
        return await self.post_many(batch)

    def post_many(self, batch: Sequence[Publication]) -> asyncio.Future[list[Event]]:
        """`publish_many`, its place in the order taken now: whatever this process publishes
        after this call is numbered after these events, even while they are still on their way."""
        return self._publications.submit(batch)

    async def _publish_gathered(self, batches: list[Sequence[Publication]]) -> list[list[Event]]:
        """The batches gathered while the previous call was in flight, in one script call."""
        ts = _now()
        keys: list[str] = []
        args: list[str | int] = [self._pubsub_channel, self._buffer_size, STREAM_TTL_S, SEQ_TTL_S]
        made: list[list[tuple[str, str, Any]]] = []
        for batch in batches:
            made.append([])
            for channels, event, data in batch:
                if not channels:
                    continue
                encoded = _encode(data).decode()
                plain = orjson.loads(encoded)
                tail = f',"event":{orjson.dumps(event).decode()},"ts":{orjson.dumps(ts).decode()},"data":{encoded}}}'
                args += [len(channels), orjson.dumps(list(channels)).decode(), tail]
                for channel in channels:
                    keys += [self._seq_key(channel), self._stream_key(channel), self._birth_key(channel)]
                    args.append(f'{{"channel":{orjson.dumps(channel).decode()},"seq":')
                    made[-1].append((channel, event, plain))
        seqs = [int(seq) for seq in await self._script(keys=keys, args=args)] if keys else []
        if len(seqs) != len(keys) // 3:
            raise RuntimeError(f"event bus: {len(seqs)} seqs for {len(keys) // 3} events")
        numbered = iter(seqs)
        return [[Event(c, next(numbered), event, plain, ts) for c, event, plain in events] for events in made]

    async def last_seq(self, channel: str) -> int:
        value = await self._redis.get(self._seq_key(channel))
        return int(value or 0)

    async def replay(self, channel: str, after_seq: int) -> list[Event] | None:
        last = await self.last_seq(channel)
        if after_seq >= last:
            return []
        entries: list[tuple[bytes, dict[bytes, bytes]]] = await self._redis.xrange(
            self._stream_key(channel), min=f"{after_seq + 1}-0"
        )  # type: ignore[assignment]
        missed = [_decode(fields[b"m"]) for _, fields in entries]
        if not missed or missed[0].seq != after_seq + 1:
            return None
        return missed


EventBus = MemoryEventBus | RedisEventBus


def make_bus(redis: Redis | None, prefix: str) -> EventBus:
    return RedisEventBus(redis, prefix) if redis is not None else MemoryEventBus()
