"""The WordPress plugin's webhook (CONTRACT §9.2): which integration an API key speaks for, the
Standard Webhooks signature check (the `standardwebhooks` library: HMAC-SHA256 over
`id.timestamp.body`, constant-time compare, 300 s tolerance), `webhook-id` de-duplication, and
applying the event to the local mirror (services/wp_mirror.py, as the sync does).

Every delivery leaves a `WebhookEvent` row: `rejected` (bad signature or timestamp, counted by
`sync_health/`) or `processed`. A processed `webhook-id` is never applied twice: deliveries of
one integration are serialised on its row, so a replay racing the original finds it done.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from tortoise.transactions import in_transaction

from models.accounts import ApiKey
from models.integration import Integration, WebhookEvent
from services.errors import Conflict, InvalidToken, PermissionDenied, ValidationFailed
from services.events import EventBus
from services.integration import accepts_site_url
from services.principal import Principal
from services.security import Crypto
from services.wp_mirror import TERM_KINDS, Applied, MirrorSite, apply_post, apply_term, remove_post, remove_term
from services.wp_sync import channels

log = logging.getLogger("inkflow.webhook")

MAX_BODY = 1024 * 1024  # bytes
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
WEBHOOK_ID_LENGTH = 255
CONTENT_EVENT = "content.updated"
# Term changes are published as this, with `action` created/updated/deleted (CONTRACT names
# only `content.updated`; terms get their own name so a content listener isn't woken by them).
TERM_EVENT = "taxonomy.updated"


class WebhookRejected(InvalidToken):
    code, message = "invalid_signature", "The webhook signature is invalid or its timestamp is out of tolerance."


class OtherWordPress(PermissionDenied):
    code, message = "wrong_wordpress", "The delivery comes from another WordPress than the integration's."


async def integration_of(caller: Principal) -> Integration:
    """The integration whose API key signed in; the webhook takes nothing else."""
    if caller.kind != "apikey" or caller.api_key_id is None:
        raise PermissionDenied("The webhook takes an integration's API key: 'Authorization: ApiKey ink_…'.")
    key = await ApiKey.get_or_none(id=caller.api_key_id)
    integration = (
        await Integration.get_or_none(id=key.integration_id, account_id=caller.account_id)
        if key is not None and key.integration_id is not None
        else None
    )
    if integration is None:
        raise PermissionDenied("This API key belongs to no integration.")
    if not integration.is_active:
        raise Conflict("The integration is inactive: its webhooks are not applied.")
    return integration


async def _reject(integration: Integration, webhook_id: str, reason: str, event: str = "") -> None:
    """Record a refused delivery (`sync_health.webhooks_rejected` counts them) and log it."""
    await WebhookEvent.create(
        integration_id=integration.id,
        webhook_id=webhook_id[:WEBHOOK_ID_LENGTH],
        event=event,
        status="rejected",
        error=reason[:500],
    )
    log.warning("webhook rejected integration=%s id=%r: %s", integration.id, webhook_id[:80], reason[:300])


async def verify(integration: Integration, crypto: Crypto, body: bytes, headers: Mapping[str, str]) -> str:
    """Check the signature and timestamp; a failure is recorded as rejected and is a 401."""
    wanted = {name: headers.get(name, "") for name in SIGNATURE_HEADERS}
    webhook_id = wanted["webhook-id"]
    try:
        secret = crypto.decrypt(integration.webhook_secret_enc or "")
        Webhook(secret).verify(body, wanted, json_parse=False)
    except (WebhookVerificationError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        await _reject(integration, webhook_id, reason)
        raise WebhookRejected(f"The webhook was rejected: {reason}.") from None
    if len(webhook_id) > WEBHOOK_ID_LENGTH:
        raise ValidationFailed(
            "webhook-id is too long.", errors={"webhook-id": [f"At most {WEBHOOK_ID_LENGTH} characters."]}
        )
    return webhook_id


async def _apply(site: MirrorSite, event: str, data: Mapping[str, Any], occurred_at: datetime) -> Applied:
    if event == "post.deleted":
        return await remove_post(site, data["id"], deleted_at=occurred_at)
    if event.startswith("post."):
        return await apply_post(site, data)
    if event == "term.deleted":
        return await remove_term(site, TERM_KINDS[data["taxonomy"]], data["id"])
    return await apply_term(site, data)


async def receive(
    events: EventBus, integration: Integration, webhook_id: str, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """Apply a verified delivery once; a `webhook-id` already processed changes nothing. One from
    another WordPress (a staging copy holding the same key) is refused and recorded as rejected."""
    site = MirrorSite(integration.account_id, integration.site_id)
    event = payload["event"]
    if not accepts_site_url(integration, payload["site_url"]):
        reason = (
            f"The delivery comes from {payload['site_url']!r}, not from the integration's WordPress "
            f"({integration.base_url}): a copy of the site (staging?) holds its key. If WordPress calls itself "
            "by that address (behind a proxy), set the integration's home_url to it."
        )
        await _reject(integration, webhook_id, reason, event)
        raise OtherWordPress(reason)
    async with in_transaction():
        await Integration.filter(id=integration.id).select_for_update().first()
        if await WebhookEvent.filter(integration_id=integration.id, webhook_id=webhook_id, status="processed").exists():
            return {"duplicate": True}
        applied = await _apply(site, event, payload["data"], payload["occurred_at"])
        await WebhookEvent.create(integration_id=integration.id, webhook_id=webhook_id, event=event, status="processed")
        if payload["site_url"] != integration.plugin_site_url:
            integration.plugin_site_url = payload["site_url"]
            await Integration.filter(id=integration.id).update(plugin_site_url=payload["site_url"])
    answer: dict[str, Any] = {"duplicate": False, "event": event, "outcome": applied.outcome}
    where = channels(integration.id, integration.site_id)
    external_id = str(payload["data"]["id"])
    if applied.content is not None:
        answer["content_id"] = applied.content.id
    if applied.term is not None:
        answer["taxonomy_id"] = applied.term.id
    if applied.outcome in ("created", "updated", "deleted"):
        if event.startswith("post."):
            content = applied.content
            assert content is not None
            data = {
                "action": applied.outcome,
                "event": event,
                "integration_id": integration.id,
                "content_id": content.id,
                "external_id": external_id,
                "title": content.title,
                "slug": content.slug,
                "status": content.status,
            }
            await events.publish(where, CONTENT_EVENT, data)
        else:
            term = applied.term
            assert term is not None
            data = {
                "action": applied.outcome,
                "event": event,
                "integration_id": integration.id,
                "taxonomy_id": term.id,
                "external_id": external_id,
                "kind": term.kind,
                "name": term.name,
                "slug": term.slug,
            }
            await events.publish(where, TERM_EVENT, data)
    return answer
