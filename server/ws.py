"""The websocket at `/api/v1/ws/`: live events of the event bus for dashboards (CONTRACT §13).

In the Home Assistant shape: every client message is `{"id", "type", …}` and goes through a
command table with one schema per command; answers and events are built by `result`, `error`
and `event_message` below and nowhere else; error codes are the constants below. Each
connection holds one `Subscription` of the bus (its channels, one bounded queue) and one writer
task draining it, so a client that can't keep up fills only its own queue and is closed with
1013 instead of delaying anyone. The layer only subscribes: it never publishes.

Replay seam: on `subscribe` with `last_seq` the channel is added to the live subscription
first, its live events are held while the missed ones are read with `bus.replay`, then the
missed ones are sent, then the held ones; a per-channel "last seq sent" drops anything the
client already has, so there is neither a gap nor a duplicate. Every subscribe answer names
the channel's `stream` (the history its seqs count in: the bus's, and its counter's birth); a
`last_seq` sent with another stream was counted in a history that has ended, and is answered
`replay_gap`, never replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp_apigami import docs
from marshmallow import Schema, ValidationError

from models.accounts import Site
from models.automation import AutomationRun
from models.base import scoped
from models.integration import Integration
from models.jobs import Job
from schemas.common import error_responses
from schemas.ws import MAX_ID, AuthMessage, PingMessage, SubscribeMessage, UnsubscribeMessage, parse_channel
from server.access import endpoint
from server.errors import ApiError
from server.keys import CRYPTO, EVENTS, SETTINGS, WEBSOCKETS
from services import auth as auth_service
from services.errors import DomainError, NotAuthenticated
from services.events import Event, EventBus, Subscription
from services.principal import Principal

log = logging.getLogger("inkflow.ws")
routes = web.RouteTableDef()
PATH = "/api/v1/ws/"

AUTH_TIMEOUT_S = 5.0  # the first `auth` message must arrive within this (CONTRACT §13)
HEARTBEAT_S = 30.0  # server pings; a client that doesn't pong within half of it is dropped
MAX_MESSAGE_BYTES = 64 * 1024  # a bigger client message closes the connection with 1009
MAX_SUBSCRIPTIONS = 100  # channels per connection; more answers `too_many_subscriptions`
QUEUE_SIZE = 1000  # events waiting for one client before it counts as too slow (1013)
SEND_TIMEOUT_S = 10.0  # one event stuck this long in a full send buffer: too slow (1013)
CLOSE_TIMEOUT_S = 5.0  # a close that can't be written by then drops the connection

# Close codes.
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_TOO_SLOW = WSCloseCode.TRY_AGAIN_LATER  # 1013
CLOSE_GOING_AWAY = WSCloseCode.GOING_AWAY  # 1001, at server shutdown
CLOSE_SERVICE_RESTART = WSCloseCode.SERVICE_RESTART  # 1012, at shutdown while other processes serve
# 1009 (message too big) is sent by aiohttp itself, from `max_msg_size`.

# Error codes of `error` answers.
NOT_AUTHENTICATED = "not_authenticated"
INVALID_MESSAGE = "invalid_message"
UNKNOWN_TYPE = "unknown_type"
PERMISSION_DENIED = "permission_denied"
NOT_FOUND = "not_found"
TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
REPLAY_GAP = "replay_gap"
SERVER_ERROR = "server_error"


# --- the messages the server sends, built here and nowhere else --------------------------------


def result(msg_id: int | None, **extra: Any) -> dict[str, Any]:
    return {"id": msg_id, "type": "result", "success": True, **extra}


def error(msg_id: int | None, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"id": msg_id, "type": "error", "success": False, "code": code, "message": message, **extra}


def pong(msg_id: int) -> dict[str, Any]:
    return {"id": msg_id, "type": "pong"}


# Every subscriber of one channel gets the same event bytes: encode once, not once per client.
_last_encoded: tuple[Event | None, str, bytes] = (None, "", b"")


def event_message(item: Event, channel: str) -> bytes:
    """The event as the client sees it, under the channel name the client used."""
    global _last_encoded
    cached, cached_channel, encoded = _last_encoded
    if cached is item and cached_channel == channel:
        return encoded
    encoded = orjson.dumps(
        {"type": "event", "channel": channel, "seq": item.seq, "event": item.event, "data": item.data, "ts": item.ts}
    )
    _last_encoded = (item, channel, encoded)
    return encoded


async def close_socket(
    ws: web.WebSocketResponse, code: int, reason: str, transport: asyncio.BaseTransport | None = None
) -> None:
    """Close with `code`; a client that reads nothing can keep even the close frame from being
    written, so after CLOSE_TIMEOUT_S its connection is cut instead."""
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await ws.close(code=code, message=reason.encode()[:120])
    except ConnectionError:
        pass
    except TimeoutError:
        if isinstance(transport, asyncio.WriteTransport):
            transport.abort()  # a plain close would wait for the unread buffer forever


# --- one connection ----------------------------------------------------------------------------


class Connection:
    """One client: who it is, its channels, its writer task."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        bus: EventBus,
        caller: Principal,
        transport: asyncio.BaseTransport | None = None,
    ) -> None:
        self.ws = ws
        self.bus = bus
        self.caller = caller
        self.transport = transport
        self.subscription: Subscription = bus.subscribe(queue_size=QUEUE_SIZE)
        self.subscription.on_overflow = self.fell_behind
        self.names: dict[str, str] = {}  # bus channel → the name the client subscribed with
        self.last_sent: dict[str, int] = {}  # bus channel → the seq the client has up to
        self.held: dict[str, list[Event]] = {}  # channels being replayed: their live events wait here
        self.writer: asyncio.Task[None] | None = None
        self.closer: asyncio.Task[None] | None = None

    def bus_channel(self, name: str) -> str:
        return f"account:{self.caller.account_id}" if name == "account" else name

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_frame(orjson.dumps(message), WSMsgType.TEXT)

    async def emit(self, item: Event) -> None:
        """Send one event unless the client has it already or has unsubscribed."""
        name = self.names.get(item.channel)
        if name is None or item.seq <= self.last_sent.get(item.channel, 0):
            return
        self.last_sent[item.channel] = item.seq
        await self.ws.send_frame(event_message(item, name), WSMsgType.TEXT)

    async def write(self) -> None:
        """The writer task: drain the subscription's queue into the socket, in order."""
        try:
            await self._write()
        except ConnectionError:
            pass  # the client is gone; the reader sees it too and cleans up
        except Exception:
            log.exception("websocket writer failed")
            self.shut(WSCloseCode.INTERNAL_ERROR, "server error")

    async def _write(self) -> None:
        subscription = self.subscription
        while True:
            item = await subscription.get()
            held = self.held.get(item.channel)
            if held is not None:
                held.append(item)
                if len(held) > QUEUE_SIZE:
                    self.fell_behind()
                    return
                continue
            try:
                async with asyncio.timeout(SEND_TIMEOUT_S):
                    await self.emit(item)
            except TimeoutError:
                self.shut(CLOSE_TOO_SLOW, "too slow: the send buffer stayed full")
                return

    def fell_behind(self) -> None:
        """The client is QUEUE_SIZE events behind: drop it now, even while the writer is stuck."""
        self.subscription.close()  # nothing more piles up meanwhile
        self.shut(CLOSE_TOO_SLOW, f"too slow: more than {QUEUE_SIZE} events behind")

    def shut(self, code: int, reason: str) -> None:
        """Close from the server's side, once, in a task of its own (the writer may be the one stuck)."""
        if self.closer is None:
            self.closer = asyncio.create_task(self._shut(code, reason), name="ws-close")

    async def _shut(self, code: int, reason: str) -> None:
        writer = self.writer
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        await close_socket(self.ws, code, reason, self.transport)

    def release(self) -> None:
        self.subscription.close()
        self.names.clear()
        self.held.clear()


# --- commands ----------------------------------------------------------------------------------

Command = Callable[[Connection, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class CommandSpec:
    schema: Schema
    handler: Command


COMMANDS: dict[str, CommandSpec] = {}


def command(name: str, schema: type[Schema]) -> Callable[[Command], Command]:
    """Register a client message type with the schema its messages must pass."""

    def register(handler: Command) -> Command:
        COMMANDS[name] = CommandSpec(schema(), handler)
        return handler

    return register


# The model whose row a channel's id names; a row the caller can't see is `permission_denied`,
# whether it exists or not (like the 404 of the REST API, nothing tells the two apart).
CHANNEL_MODELS = {"run": AutomationRun, "job": Job, "integration": Integration}


async def may_subscribe(caller: Principal, kind: str, object_id: int | None) -> bool:
    """Whether the channel is the caller's: one indexed query at most."""
    if kind == "account":
        return caller.site_id is None  # an API key sees its own site only
    assert object_id is not None
    if object_id > MAX_ID:
        return False
    if kind == "site":
        if caller.site_id is not None:
            return object_id == caller.site_id
        return await scoped(Site, caller, site_owned=False).filter(id=object_id).exists()
    return await scoped(CHANNEL_MODELS[kind], caller).filter(id=object_id).exists()


def _same_stream(sent: str, stream: str) -> bool:
    """Whether a client's `stream` names the history `stream` does. One from before streams had
    a counter's birth (the bus's history alone, no dot) is taken as it was then: the same bus
    history, whatever the channel's counter did."""
    return sent == stream or ("." not in sent and sent == stream.partition(".")[0])


@command("subscribe", SubscribeMessage)
async def subscribe(conn: Connection, msg: dict[str, Any]) -> None:
    msg_id, name = msg["id"], msg["channel"]
    channel = conn.bus_channel(name)
    if channel in conn.names:
        await conn.send(result(msg_id, stream=await conn.bus.stream_id(channel)))
        return
    if len(conn.names) >= MAX_SUBSCRIPTIONS:
        await conn.send(error(msg_id, TOO_MANY_SUBSCRIPTIONS, f"At most {MAX_SUBSCRIPTIONS} channels per connection."))
        return
    if not await may_subscribe(conn.caller, *parse_channel(name)):
        await conn.send(error(msg_id, PERMISSION_DENIED, f"You can't subscribe to {name}."))
        return
    # Read before the channel's counter: should the history change in between (Redis emptied,
    # the counter expired), the client holds the old id with seqs of the new history, and its
    # next resubscribe is a gap rather than a replay of the wrong events.
    stream = await conn.bus.stream_id(channel)
    last_seq = msg.get("last_seq")
    if last_seq is None:
        conn.names[channel] = name
        conn.subscription.add(channel)
        await conn.send(result(msg_id, stream=stream))
        return

    # Live first (held back), then what was missed, then the held live events past it.
    conn.held[channel] = []
    conn.names[channel] = name
    conn.subscription.add(channel)
    current = await conn.bus.last_seq(channel)
    # The client's seqs count another history when it names another stream (a memory bus
    # restarted, an emptied Redis, the channel's counter started again). A client that names
    # none (older ones) is only caught when its last_seq is past the counter: the new history
    # has not yet numbered that far.
    same_history = _same_stream(msg.get("stream", stream), stream) and last_seq <= current
    missed = await conn.bus.replay(channel, last_seq) if same_history else None
    if missed is None:
        conn.last_sent[channel] = current
        await conn.send(
            error(
                msg_id,
                REPLAY_GAP,
                f"Events after {last_seq} on {name} are no longer kept (or were counted in another stream): "
                f"you are subscribed from seq {current} of stream {stream} on; fetch the current state over "
                "the REST API.",
                last_seq=current,
                stream=stream,
            )
        )
    else:
        conn.last_sent[channel] = last_seq
        await conn.send(result(msg_id, stream=stream, replayed=len(missed)))
        for item in missed:
            await conn.emit(item)
    while held := conn.held.get(channel):
        conn.held[channel] = []
        for item in held:
            await conn.emit(item)
    conn.held.pop(channel, None)


@command("unsubscribe", UnsubscribeMessage)
async def unsubscribe(conn: Connection, msg: dict[str, Any]) -> None:
    channel = conn.bus_channel(msg["channel"])
    if channel not in conn.names:
        await conn.send(error(msg["id"], NOT_FOUND, f"Not subscribed to {msg['channel']}."))
        return
    conn.subscription.remove(channel)
    del conn.names[channel]
    conn.last_sent.pop(channel, None)
    conn.held.pop(channel, None)
    await conn.send(result(msg["id"]))


@command("ping", PingMessage)
async def ping(conn: Connection, msg: dict[str, Any]) -> None:
    await conn.send(pong(msg["id"]))


def _parse(raw: str) -> dict[str, Any] | str:
    """The message as a dict, or why it isn't one."""
    try:
        msg = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "The message is not valid JSON."
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        return 'A message is a JSON object with a "type".'
    return msg


async def dispatch(conn: Connection, raw: str) -> None:
    parsed = _parse(raw)
    if isinstance(parsed, str):
        await conn.send(error(None, INVALID_MESSAGE, parsed))
        return
    msg_id = parsed.get("id") if isinstance(parsed.get("id"), int) else None
    spec = COMMANDS.get(parsed["type"])
    if spec is None:
        known = ", ".join(sorted(COMMANDS))
        await conn.send(error(msg_id, UNKNOWN_TYPE, f"Unknown message type {parsed['type'][:50]!r}; use {known}."))
        return
    try:
        msg = spec.schema.load(parsed)
    except ValidationError as exc:
        await conn.send(error(msg_id, INVALID_MESSAGE, "Invalid message.", errors=exc.messages))
        return
    try:
        await spec.handler(conn, msg)
    except ConnectionError:
        raise
    except Exception:
        log.exception("websocket command %s failed", parsed["type"])
        await conn.send(error(msg_id, SERVER_ERROR, "Internal server error."))


# --- authentication ----------------------------------------------------------------------------


async def _from_access(request: web.Request, token: str) -> Principal:
    return await auth_service.principal_from_bearer(request.app[CRYPTO].read_access(token))


async def credentials(request: web.Request) -> Principal | None:
    """The caller from the upgrade request, in the order of CONTRACT §3, or None when it carried
    no credentials (the first message must then be `auth`); bad ones raise."""
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if header:
        if scheme.lower() == "bearer" and credential:
            return await _from_access(request, credential)
        if scheme.lower() == "apikey" and credential:
            return await auth_service.principal_from_api_key(credential)
        raise NotAuthenticated("Use 'Authorization: Bearer <token>' or 'Authorization: ApiKey <key>'.")
    if token := request.query.get("token"):
        return await _from_access(request, token)
    if session := request.cookies.get("session"):
        caller = await auth_service.principal_from_session(session)
        if caller is None:
            raise NotAuthenticated("The session has expired; log in again.")
        return caller
    return None


async def first_message_auth(request: web.Request, ws: web.WebSocketResponse) -> Principal | None:
    """Wait for `{"type": "auth", "token": …}` as the first message."""
    try:
        msg = await ws.receive(timeout=AUTH_TIMEOUT_S)
    except TimeoutError:
        return None
    if msg.type is not WSMsgType.TEXT:
        return None
    parsed = _parse(msg.data)
    if isinstance(parsed, str) or parsed["type"] != "auth":
        return None
    try:
        data = AuthMessage().load(parsed)
        caller = await _from_access(request, data["token"])
    except (ValidationError, DomainError):
        return None
    await ws.send_frame(orjson.dumps(result(data.get("id"))), WSMsgType.TEXT)
    return caller


# --- the route ---------------------------------------------------------------------------------


class UpgradeRequired(ApiError):
    status, code, message = 426, "upgrade_required", "Connect with a websocket client (Upgrade: websocket)."


PROTOCOL_DOC = f"""A websocket of live events (CONTRACT §13); see the README's "Websockets" section.

**Authenticate** with `Authorization: Bearer <access>`, `Authorization: ApiKey <key>` (its own
site's channels only), `?token=<access>`, the `session` cookie, or a first message
`{{"type": "auth", "token": "<access>"}}` within {AUTH_TIMEOUT_S:.0f} s; otherwise the server closes with 4401.

**Client → server** (each with an integer `id`, answered with the same `id`):
`{{"id": 1, "type": "subscribe", "channel": "site:12", "last_seq": 40, "stream": "9f86d081884c7d65"}}`
(`last_seq` optional; `stream`, optional, is the one the answer carried when that seq was counted),
`{{"id": 2, "type": "unsubscribe", "channel": "site:12"}}`, `{{"id": 3, "type": "ping"}}`.
Channels: `account`, `site:<id>`, `run:<id>`, `job:<id>`, `integration:<id>`.

**Server → client**: `{{"id": 1, "type": "result", "success": true, "stream": "9f86d081884c7d65"}}` (a
replaying subscribe adds `replayed`; `stream` names the history the seqs count in: a new one when
the server's counters start again), `{{"id": 3, "type": "pong"}}`, errors `{{"id": 1, "type": "error",
"success": false, "code": "…", "message": "…"}}` with codes `permission_denied` (another account's
channel, or one that doesn't exist), `invalid_message`, `unknown_type`, `too_many_subscriptions`
(more than {MAX_SUBSCRIPTIONS} channels), `not_found` (unsubscribing a channel not subscribed),
`replay_gap` (the events after `last_seq` are no longer kept, or the `stream` sent is not the
current one: the subscription is live from the `last_seq` of the current `stream` in the answer;
fetch the state over REST), and events
`{{"type": "event", "channel": "run:7", "seq": 41, "event": "job.progress", "data": {{…}}, "ts": "…"}}`
with `seq` rising by one per channel.

**Close codes**: 4401 not authenticated, 1009 a message over {MAX_MESSAGE_BYTES // 1024} KiB, 1013 the
client fell more than {QUEUE_SIZE} events behind, 1001 the server is shutting down (1012 when other
processes serve on: reconnect and replay with `last_seq`). The server pings
every {HEARTBEAT_S:.0f} s. A plain GET without the upgrade answers 426.
"""


@routes.get(PATH)
@endpoint(public=True)  # it authenticates itself, after the upgrade, so it can close with 4401
@docs(
    tags=["websocket"],
    summary="Live events over a websocket: subscribe to channels, replay from last_seq",
    description=PROTOCOL_DOC,
    responses={
        101: {"description": "Switching protocols: the websocket is open"},
        **error_responses(426, 429, s426="not a websocket upgrade request"),
    },
)
async def websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_MESSAGE_BYTES, compress=False)
    if not ws.can_prepare(request).ok:
        raise UpgradeRequired(headers={"Upgrade": "websocket"})
    try:
        caller = await credentials(request)
        rejected = False
    except DomainError:
        caller, rejected = None, True
    await ws.prepare(request)
    open_sockets = request.app[WEBSOCKETS]
    open_sockets.add(ws)
    if caller is None and not rejected:
        caller = await first_message_auth(request, ws)
    if caller is None:
        await close_socket(ws, CLOSE_NOT_AUTHENTICATED, "not authenticated", request.transport)
        open_sockets.discard(ws)
        return ws
    conn = Connection(ws, request.app[EVENTS], caller, request.transport)
    conn.writer = asyncio.create_task(conn.write(), name="ws-writer")
    try:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await dispatch(conn, msg.data)
            elif msg.type is WSMsgType.BINARY:
                await conn.send(error(None, INVALID_MESSAGE, "Send messages as text frames of JSON."))
            elif msg.type is WSMsgType.ERROR:
                break  # aiohttp has closed it already (1009 for a message too big)
    except ConnectionError:
        pass  # the client went away mid-answer
    finally:
        conn.writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await conn.writer
        if conn.closer is not None:
            await conn.closer  # bounded by CLOSE_TIMEOUT_S
        conn.release()
        open_sockets.discard(ws)
    return ws


async def close_all(app: web.Application) -> None:
    """At shutdown: close every open websocket with 1001 (going away) — or, when other
    processes share Redis and serve on, 1012 (service restart): reconnect, and replay with
    `last_seq` from any of them."""
    open_sockets = app[WEBSOCKETS]
    sockets = [ws for ws in open_sockets]  # a copy: closing sockets leave the set meanwhile
    code = CLOSE_SERVICE_RESTART if app[SETTINGS].redis_url else CLOSE_GOING_AWAY
    await asyncio.gather(*(close_socket(ws, code, "server shutdown") for ws in sockets))


def setup(app: web.Application) -> None:
    app[WEBSOCKETS] = weakref.WeakSet()
    app.on_shutdown.append(close_all)
