"""Site integrations: their secrets (application password, API key, webhook secret) and the checks
that talk to WordPress (test_connection, test_collection_connection, update_structure, content_types).

Secrets: the application password and the webhook secret are Fernet-encrypted (the secret is
needed back to sign and verify webhooks); the API key is an `ApiKey` row holding only its hash.
The API key and the webhook secret are returned once, at create and at rotate.

Every check answers `{ok: True, …}` or `{ok: False, error, code}`: a check that ran and found a
problem is a result, not a failure of the request. The one exception is the private-address rule
(`INKFLOW_ALLOW_PRIVATE_URLS=false`), which is a 400 `url_not_allowed` here as when the URL is saved.
"""

from __future__ import annotations

import base64
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from config.settings import Settings
from models.accounts import ApiKey, Site
from models.db import locked_ids, save_changes
from models.integration import Integration, SyncRun
from models.jobs import Job
from models.writer import Content, Taxonomy
from services import jobs, wp_sync
from services.ai_settings import check_outbound_url
from services.auth import create_api_key
from services.errors import Conflict
from services.outbound import Outbound
from services.principal import Principal
from services.security import Crypto, utcnow
from services.tenancy import site_or_400
from services.wordpress import API_STYLES, WordPressClient, WordPressError

WEBHOOK_SECRET_PREFIX = "whsec_"
CHECK_TIMEOUT = 15.0  # seconds per WordPress request made by a check
CHECK_ATTEMPTS = 2  # a check answers quickly rather than riding out a long outage
COLLECTION_ROUTES = {
    "posts": "/wp/v2/posts",
    "pages": "/wp/v2/pages",
    "categories": "/wp/v2/categories",
    "tags": "/wp/v2/tags",
    "media": "/wp/v2/media",
    "types": "/wp/v2/types",
}
SEO_NAMESPACES = {"yoast/v1": "yoast", "rankmath/v1": "rankmath"}


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes (the HMAC key)."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def serialize(integration: Integration, **secrets_shown_once: str) -> dict[str, Any]:
    return {
        "id": integration.id,
        "site_id": integration.site_id,
        "platform": integration.platform,
        "base_url": integration.base_url,
        "username": integration.username,
        "app_password_set": bool(integration.app_password_enc),
        "is_active": integration.is_active,
        "sync_enabled": integration.sync_enabled,
        "last_sync_at": integration.last_sync_at,
        "sync_status": integration.sync_status,
        "structure": integration.structure,
        "config": integration.config,
        "plugin_site_url": integration.plugin_site_url,
        "plugin_site_url_matches": (
            None if integration.plugin_site_url is None else accepts_site_url(integration, integration.plugin_site_url)
        ),
        "home_url": integration.home_url,
        "created_at": integration.created_at,
        "updated_at": integration.updated_at,
        **secrets_shown_once,
    }


# --- create, update, rotate ---------------------------------------------------------------------


async def _new_keys(integration: Integration, crypto: Crypto) -> dict[str, str]:
    """A new API key and webhook secret for `integration` (saved by the caller's transaction)."""
    api_key = await create_api_key(integration.account_id, integration.site_id, integration.id)
    webhook_secret = new_webhook_secret()
    integration.webhook_secret_enc = crypto.encrypt(webhook_secret)
    return {"api_key": api_key, "webhook_secret": webhook_secret}


def _wordpress_of(base_url: str) -> tuple[str, int | None, str]:
    """Which WordPress a base URL names: host, explicit port and path (http or https alike)."""
    parts = urlsplit(base_url)
    return ((parts.hostname or "").lower(), parts.port, parts.path.rstrip("/").lower())


def accepts_site_url(integration: Integration, site_url: str) -> bool:
    """Whether a delivery signed with the integration's key comes from its WordPress: `site_url`
    (the plugin's `home_url()`) on `base_url`'s host and port, or on `home_url`'s."""
    try:
        where = _wordpress_of(site_url)[:2]
    except ValueError:  # a port out of range, an unclosed "[": no address of any WordPress
        return False
    return any(where == _wordpress_of(url)[:2] for url in (integration.base_url, integration.home_url) if url)


async def _check_one_wordpress(site_id: int, base_url: str, *, exclude_id: int | None) -> None:
    """A site's mirror keys WordPress's posts by their ids (`(site, external_id)`), so the active
    integrations of a site must all reach one WordPress: another's posts would mix with its own."""
    others = Integration.filter(site_id=site_id, is_active=True)
    if exclude_id is not None:
        others = others.exclude(id=exclude_id)
    for other in await others.values("id", "base_url"):
        if _wordpress_of(other["base_url"]) != _wordpress_of(base_url):
            raise Conflict(
                f"The site already has an active integration with another WordPress ({other['base_url']}, "
                f"integration {other['id']}): their posts would mix in the site's content. Point this one at "
                "the same WordPress, or deactivate or delete that one first."
            )


async def _linked_to_wordpress(site_id: int) -> bool:
    """Whether any of the site's rows carry a WordPress id: a published or synced post, or a term."""
    for model in (Content, Taxonomy):
        if await model.filter(site_id=site_id, external_id__not_isnull=True).exists():
            return True
    return False


async def _no_wordpress_work(site_id: int, linked: str) -> None:
    """409 while a job that reads or writes the site's WordPress is unfinished, or a sync is
    starting: it would go on linking rows to the WordPress the site is leaving."""
    # Imported here: both modules import this one.
    from services import automation, publishing

    kinds = (wp_sync.KIND, publishing.KIND, automation.KIND)
    busy = await Job.filter(site_id=site_id, kind__in=kinds, status__in=jobs.UNFINISHED).first().values("id", "kind")
    if busy is not None:
        raise Conflict(
            f"Job {busy['id']} ({busy['kind']}) of this site is still working with the WordPress at {linked}: "
            "let it finish, or cancel it, before the site changes WordPress."
        )
    # A sync claimed a moment ago has its run before its job, and has read the window already.
    await wp_sync.close_orphaned_runs(site_id)
    if await SyncRun.filter(integration__site_id=site_id, status__in=wp_sync.RUN_ACTIVE).exists():
        raise Conflict(
            f"A sync of this site's WordPress ({linked}) is starting: let it finish before the site changes WordPress."
        )


async def _unlink(site_id: int) -> None:
    """The site's content and terms let go of the WordPress they were linked to: published
    content becomes a draft, WordPress ids and URLs are cleared. Rows are kept, as is where they
    came from (`source`); a sync no longer treats them as mirrors (it goes by WordPress id)."""
    now = utcnow()
    linked = Content.filter(site_id=site_id, external_id__not_isnull=True)
    await linked.filter(status="published").update(status="draft", updated_at=now)
    await linked.update(external_id=None, external_url=None, updated_at=now)
    await Taxonomy.filter(site_id=site_id, external_id__not_isnull=True).update(external_id=None, updated_at=now)


async def _claim_wordpress(site: Site, base_url: str, *, same_wordpress: bool, unlink_content: bool) -> None:
    """Make `base_url` the WordPress the site's content is linked to (`Site.wordpress_url`), or
    refuse (409) while that content is linked to another one: its rows hold that WordPress's post
    and term ids, which this one's would overwrite by id. `same_wordpress`: the caller says
    `base_url` is that WordPress at a new address (a moved domain, which no URL tells from
    another WordPress), so the links stay. `unlink_content`: it is another WordPress, and the
    content lets go of the first one (`_unlink`)."""
    linked = site.wordpress_url
    if linked is not None and _wordpress_of(linked) == _wordpress_of(base_url):
        return
    if same_wordpress:
        await Site.filter(id=site.id).update(wordpress_url=base_url)
        return
    if linked is not None:
        await _no_wordpress_work(site.id, linked)
    if await _linked_to_wordpress(site.id):
        if not unlink_content:
            where = f"the WordPress at {linked}" if linked else "a WordPress the site has no integration for any more"
            raise Conflict(
                f"The site's content is linked to posts of {where}: another WordPress's posts would overwrite "
                'them by id. If this is the same WordPress at a new address, send "same_wordpress": true; if it '
                'is another WordPress, send "unlink_content": true to unlink the content from the first one '
                "(published content becomes drafts, to publish anew), or use another site."
            )
        await _unlink(site.id)
    await Site.filter(id=site.id).update(wordpress_url=base_url, wordpress_since=utcnow())


async def _activate(
    site_id: int, base_url: str, *, exclude_id: int | None, same_wordpress: bool, unlink_content: bool
) -> None:
    """The checks for an integration that is or becomes active with `base_url`, in the caller's
    transaction: the site's row is locked first, so two requests at once can't both pass."""
    site = await Site.select_for_update().get(id=site_id)
    await _check_one_wordpress(site_id, base_url, exclude_id=exclude_id)
    await _claim_wordpress(site, base_url, same_wordpress=same_wordpress, unlink_content=unlink_content)


# Write-only fields that say what a change of WordPress means for the site's content.
MOVES = ("same_wordpress", "unlink_content")


def _moves(data: dict[str, Any]) -> dict[str, bool]:
    return {name: bool(data.get(name, False)) for name in MOVES}


async def create_integration(
    settings: Settings, crypto: Crypto, caller: Principal, data: dict[str, Any]
) -> dict[str, Any]:
    """Create the integration with its keys; the answer carries the API key and webhook secret once."""
    site = await site_or_400(caller, data["site_id"])
    await check_outbound_url(data["base_url"], settings)
    fields = {name: value for name, value in data.items() if name not in ("app_password", *MOVES)}
    async with in_transaction():
        if data.get("is_active", True):
            await _activate(site.id, data["base_url"], exclude_id=None, **_moves(data))
        integration = await Integration.create(
            account_id=caller.account_id,
            **{**fields, "site_id": site.id},
            app_password_enc=crypto.encrypt(data["app_password"]),
        )
        shown = await _new_keys(integration, crypto)
        await integration.save(update_fields=["webhook_secret_enc"])
    return serialize(integration, **shown)


async def update_integration(
    settings: Settings, crypto: Crypto, integration: Integration, data: dict[str, Any]
) -> Integration:
    changes = {name: value for name, value in data.items() if name not in MOVES}
    if "base_url" in changes:
        await check_outbound_url(changes["base_url"], settings)
        if changes["base_url"] != integration.base_url:
            changes["structure"] = {}  # what was read belongs to the old site
    if "app_password" in changes:
        changes["app_password_enc"] = crypto.encrypt(changes.pop("app_password"))
    async with in_transaction():
        if changes.get("is_active", integration.is_active):
            base_url = changes.get("base_url", integration.base_url)
            await _activate(integration.site_id, base_url, exclude_id=integration.id, **_moves(data))
        return await save_changes(integration, changes)


async def rotate_keys(crypto: Crypto, integration: Integration) -> dict[str, Any]:
    """Revoke the integration's API keys and replace them and the webhook secret (CONTRACT §16.18)."""
    async with in_transaction():
        # Rotations one at a time: two at once each revoked the keys before either's new one, and
        # both new keys stayed valid.
        await locked_ids(Integration, [integration.id])
        await ApiKey.filter(integration_id=integration.id, revoked_at=None).update(revoked_at=utcnow())
        shown = await _new_keys(integration, crypto)
        await integration.save(update_fields=["webhook_secret_enc", "updated_at"])
    return serialize(integration, **shown)


# --- talking to WordPress -----------------------------------------------------------------------


class _CannotDecrypt(WordPressError):
    code = "app_password_unreadable"
    message = (
        "The stored application password can't be decrypted with the server's encryption key "
        "(INKFLOW_ENCRYPTION_KEY changed?): set it again with PUT."
    )


def client_for(
    integration: Integration,
    crypto: Crypto,
    outbound: Outbound,
    *,
    timeout: float = CHECK_TIMEOUT,
    max_attempts: int = CHECK_ATTEMPTS,
) -> WordPressClient:
    """The WordPress client of `integration`, starting with the URL style it remembers."""
    try:
        app_password = crypto.decrypt(integration.app_password_enc or "")
    except ValueError:
        raise _CannotDecrypt() from None
    stored_style = (integration.structure or {}).get("api_style")
    return WordPressClient(
        outbound.session,
        integration.base_url,
        integration.username,
        app_password,
        api_style=stored_style if stored_style in API_STYLES else None,
        timeout=timeout,
        max_attempts=max_attempts,
    )


async def remember_api_style(integration: Integration, client: WordPressClient) -> None:
    """Store the URL style the client found, so the next client doesn't probe for it again."""
    structure = dict(integration.structure or {})
    if client.api_style is not None and structure.get("api_style") != client.api_style:
        structure["api_style"] = client.api_style
        integration.structure = structure
        await integration.save(update_fields=["structure", "updated_at"])


def _failed(exc: WordPressError, started: float, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": exc.message, "code": exc.code, "latency_ms": _elapsed_ms(started), **extra}


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


async def check_connection(integration: Integration, crypto: Crypto, outbound: Outbound) -> dict[str, Any]:
    """Read the site's index and `users/me?context=edit` with the application password."""
    started = time.perf_counter()
    try:
        client = client_for(integration, crypto, outbound)
        index = await client.discover()
        me = await client.me()
    except WordPressError as exc:
        return _failed(exc, started)
    await remember_api_style(integration, client)
    capabilities = me.get("capabilities")
    home = str(index["home"]) if index.get("home") else None
    return {
        "ok": True,
        "site_name": str(index.get("name") or ""),
        "site_url": str(index.get("url") or integration.base_url),
        "home": home,
        "webhooks_accepted": None if home is None else accepts_site_url(integration, home),
        "user": {name: me.get(name) for name in ("id", "username", "name", "slug", "roles")},
        "capabilities": sorted(k for k, v in capabilities.items() if v) if isinstance(capabilities, dict) else [],
        "api_style": client.api_style,
        "latency_ms": _elapsed_ms(started),
    }


async def check_collection(
    integration: Integration, crypto: Crypto, outbound: Outbound, collection: str
) -> dict[str, Any]:
    """Read one item of `collection` as an editor would (`context=edit`): `{ok, total}`."""
    started = time.perf_counter()
    route = COLLECTION_ROUTES[collection]
    try:
        client = client_for(integration, crypto, outbound)
        if collection == "types":
            total: int | None = len(await client.types())
        else:
            response = await client.request("GET", route, params={"per_page": 1, "context": "edit"})
            total = response.total
    except WordPressError as exc:
        return _failed(exc, started, collection=collection)
    await remember_api_style(integration, client)
    return {"ok": True, "collection": collection, "total": total, "latency_ms": _elapsed_ms(started)}


def _post_type(slug: str, info: dict[str, Any]) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": info.get("name") or slug,
        "rest_base": info.get("rest_base") or slug,
        "hierarchical": bool(info.get("hierarchical")),
        "viewable": bool(info.get("viewable")),
        "taxonomies": [t for t in info.get("taxonomies") or [] if isinstance(t, str)],
    }


def _taxonomy(slug: str, info: dict[str, Any]) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": info.get("name") or slug,
        "rest_base": info.get("rest_base") or slug,
        "hierarchical": bool(info.get("hierarchical")),
        "types": [t for t in info.get("types") or [] if isinstance(t, str)],
    }


async def update_structure(integration: Integration, crypto: Crypto, outbound: Outbound) -> dict[str, Any]:
    """Read post types and taxonomies (and which SEO plugins expose fields) into `structure`."""
    started = time.perf_counter()
    try:
        client = client_for(integration, crypto, outbound)
        index = await client.discover()
        types = await client.types()
        taxonomies = await client.taxonomies()
    except WordPressError as exc:
        return _failed(exc, started)
    namespaces = [n for n in index.get("namespaces") or [] if isinstance(n, str)]
    structure = {
        "api_style": client.api_style,
        "site": {"name": index.get("name") or "", "url": index.get("url") or "", "home": index.get("home") or ""},
        "namespaces": namespaces,
        "seo_plugins": [plugin for namespace, plugin in SEO_NAMESPACES.items() if namespace in namespaces],
        "post_types": [_post_type(slug, info) for slug, info in types.items() if isinstance(info, dict)],
        "taxonomies": [_taxonomy(slug, info) for slug, info in taxonomies.items() if isinstance(info, dict)],
        "updated_at": datetime.now(UTC).isoformat(),
    }
    integration.structure = structure
    await integration.save(update_fields=["structure", "updated_at"])
    return {"ok": True, "structure": structure, "latency_ms": _elapsed_ms(started)}


def _publishable(structure: dict[str, Any]) -> list[dict[str, Any]]:
    """Post types content can be published as: viewable ones, media excepted."""
    types = structure.get("post_types") or []
    return [t for t in types if isinstance(t, dict) and t.get("viewable") and t.get("slug") != "attachment"]


async def content_types(integration: Integration, crypto: Crypto, outbound: Outbound) -> dict[str, Any]:
    """The post types from `structure`, read from WordPress first when it has none yet."""
    started = time.perf_counter()
    if (integration.structure or {}).get("post_types"):
        return {"ok": True, "content_types": _publishable(integration.structure), "refreshed": False}
    result = await update_structure(integration, crypto, outbound)
    if not result["ok"]:
        return result
    return {
        "ok": True,
        "content_types": _publishable(result["structure"]),
        "refreshed": True,
        "latency_ms": _elapsed_ms(started),
    }
