"""Websocket messages (CONTRACT §13): one schema per client message type, and the channel names."""

from __future__ import annotations

import re

from marshmallow import validate

from schemas.common import Int, StrictSchema, Text

# `account`, or a kind and a positive id: `site:12`, `run:7`, `job:40`, `integration:3`.
CHANNEL_RE = re.compile(r"^(?:account|(?P<kind>site|run|job|integration):(?P<id>[1-9][0-9]{0,9}))$")
CHANNEL_HELP = "account, site:<id>, run:<id>, job:<id> or integration:<id>"
MAX_ID = 2**31 - 1


class MessageId(Int):
    """The client's number for a message; the answer carries it back."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(strict=True, minimum=0, maximum=2**53, **kwargs)


class AuthMessage(StrictSchema):
    """`{"type": "auth", "token": "<access>"}`: the first message, when the upgrade carried no credentials."""

    type = Text(required=True, validate=validate.Equal("auth"))
    id = MessageId()
    token = Text(required=True, validate=validate.Length(min=1, max=4096))


class Channel(Text):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            required=True,
            validate=validate.Regexp(CHANNEL_RE, error=f"Not a channel: use {CHANNEL_HELP}."),
            **kwargs,
        )


class SubscribeMessage(StrictSchema):
    type = Text(required=True)
    id = MessageId(required=True)
    channel = Channel()
    last_seq = Int(strict=True, minimum=0, maximum=2**53)
    # The `stream` of the answer the client's last_seq was counted under; read only with last_seq.
    stream = Text(validate=validate.Length(min=1, max=64))


class UnsubscribeMessage(StrictSchema):
    type = Text(required=True)
    id = MessageId(required=True)
    channel = Channel()


class PingMessage(StrictSchema):
    type = Text(required=True)
    id = MessageId(required=True)


def parse_channel(name: str) -> tuple[str, int | None]:
    """A valid channel name as (kind, id): `("account", None)`, `("site", 12)`."""
    match = CHANNEL_RE.match(name)
    if match is None:
        raise ValueError(name)
    if match["kind"] is None:
        return "account", None
    return match["kind"], int(match["id"])
