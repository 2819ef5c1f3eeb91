"""/api/v1/auth/: registration, tokens, passwords, users, account, sites, sectors, reference."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp_apigami import docs, request_schema, response_schema

from models.accounts import Account, Site, SiteSector, User
from models.reference import Industry, SeedKeyword
from schemas import auth as s
from schemas.common import ListQuery, error_responses, page_envelope
from schemas.common import envelope as envelope_schema
from server import envelope
from server.access import endpoint, principal
from server.crud import (
    Resource,
    add_crud,
    delete_row,
    row_serializer,
    with_caller,
    with_events,
    with_files,
    with_settings,
    without_request,
)
from server.keys import CRYPTO, EVENTS, MAILER, SETTINGS
from services import auth as auth_service
from services import tenancy
from services.errors import NotAuthenticated
from services.principal import ROLE_PERMISSIONS, ROLE_RANK

routes = web.RouteTableDef()
TAG = "auth"
BASE = "/api/v1/auth"
ERRORS = error_responses(400, 401)


USER = row_serializer(s.UserOut())
ACCOUNT = row_serializer(s.AccountOut())


def _cookie_flags(request: web.Request) -> dict[str, Any]:
    return {"path": "/", "samesite": "Lax", "secure": request.secure}


@routes.post(f"{BASE}/register/")
@endpoint(public=True, scope="auth", idempotent=True)
@docs(tags=[TAG], summary="Create an account and its owner", responses=error_responses(400, 409))
@request_schema(s.RegisterIn)
@response_schema(envelope_schema(s.RegisterOut, "RegisterEnvelope"), 201)
async def register(request: web.Request) -> web.Response:
    data = request["data"]
    settings = request.app[SETTINGS]
    user, account = await auth_service.register(settings, **data)
    pair = await auth_service.issue_pair(request.app[CRYPTO], settings, user)
    body = {"user": USER(user), "account": ACCOUNT(account), **pair.as_dict()}
    return envelope.created(request, body)


@routes.post(f"{BASE}/login/")
@endpoint(public=True, scope="auth")
@docs(
    tags=[TAG],
    summary="Log in: tokens, and a session cookie with `session: true`",
    responses=ERRORS,
)
@request_schema(s.LoginIn)
@response_schema(envelope_schema(s.LoginOut, "LoginEnvelope"), 200)
async def login(request: web.Request) -> web.Response:
    data = request["data"]
    settings = request.app[SETTINGS]
    user = await auth_service.login(data["email"], data["password"])
    pair = await auth_service.issue_pair(request.app[CRYPTO], settings, user)
    response = envelope.ok(request, {"user": USER(user), **pair.as_dict()})
    if data["session"]:
        session_token, csrf = await auth_service.start_session(settings, user)
        flags = _cookie_flags(request)
        response.set_cookie("session", session_token, httponly=True, max_age=settings.session_ttl, **flags)
        response.set_cookie("csrftoken", csrf, httponly=False, max_age=settings.session_ttl, **flags)
    return response


@routes.post(f"{BASE}/logout/")
@endpoint()
@docs(tags=[TAG], summary="Revoke the refresh token (or session) and the current access token", responses=ERRORS)
@request_schema(s.LogoutIn)
@response_schema(envelope_schema(s.MessageOut, "LogoutEnvelope"), 200)
async def logout(request: web.Request) -> web.Response:
    caller = principal(request)
    refresh = request["data"].get("refresh")
    if caller.kind == "apikey":
        raise NotAuthenticated("API keys have no session to log out of.")
    if refresh and caller.user_id:
        await auth_service.revoke_refresh(caller.user_id, refresh)
    await auth_service.deny_access_token(request.app[EVENTS], caller)
    if caller.session_id:
        await auth_service.end_session(caller.session_id)
    response = envelope.ok(request, {"detail": "Logged out."})
    if caller.kind == "session":
        response.del_cookie("session", path="/")
        response.del_cookie("csrftoken", path="/")
    return response


@routes.post(f"{BASE}/token/refresh/")
@endpoint(public=True, scope="auth")
@docs(tags=[TAG], summary="Rotate a refresh token into a new pair; reuse revokes the family", responses=ERRORS)
@request_schema(s.RefreshIn)
@response_schema(envelope_schema(s.TokenPairOut, "TokenPairEnvelope"), 200)
async def token_refresh(request: web.Request) -> web.Response:
    pair = await auth_service.rotate_refresh(request.app[CRYPTO], request.app[SETTINGS], request["data"]["refresh"])
    return envelope.ok(request, pair.as_dict())


@routes.post(f"{BASE}/password/change/")
@endpoint()
@docs(tags=[TAG], summary="Change the password; every other session is revoked", responses=ERRORS)
@request_schema(s.PasswordChangeIn)
@response_schema(envelope_schema(s.TokenPairOut, "PasswordChangeEnvelope"), 200)
async def password_change(request: web.Request) -> web.Response:
    caller = principal(request)
    if caller.user_id is None:
        raise NotAuthenticated("Log in as a user to change a password.")
    data = request["data"]
    events = request.app[EVENTS]
    user = await auth_service.change_password(events, caller.user_id, data["old_password"], data["new_password"])
    await auth_service.deny_access_token(events, caller)
    pair = await auth_service.issue_pair(request.app[CRYPTO], request.app[SETTINGS], user)
    return envelope.ok(request, pair.as_dict())


RESET_MESSAGE = "If an account exists for this email, a reset link has been sent."


@routes.post(f"{BASE}/password/reset/")
@endpoint(public=True, scope="auth")
@docs(tags=[TAG], summary="Mail a single-use reset token (same answer whether or not the email exists)")
@request_schema(s.PasswordResetIn)
@response_schema(envelope_schema(s.MessageOut, "ResetEnvelope"), 200)
async def password_reset(request: web.Request) -> web.Response:
    email = request["data"]["email"]
    token = await auth_service.start_password_reset(email)
    if token is not None:
        await request.app[MAILER].send(
            auth_service.normalise_email(email),
            "Reset your Inkflow password",
            f"Use this token within an hour to set a new password:\n\n{token}\n",
            log_line=f"token={token}",
        )
    return envelope.ok(request, {"detail": RESET_MESSAGE})


@routes.post(f"{BASE}/password/reset/confirm/")
@endpoint(public=True, scope="auth")
@docs(tags=[TAG], summary="Set a new password with a reset token", responses=ERRORS)
@request_schema(s.PasswordResetConfirmIn)
@response_schema(envelope_schema(s.MessageOut, "ResetConfirmEnvelope"), 200)
async def password_reset_confirm(request: web.Request) -> web.Response:
    data = request["data"]
    await auth_service.confirm_password_reset(request.app[EVENTS], data["token"], data["new_password"])
    return envelope.ok(request, {"detail": "The password has been changed; log in again."})


ROLE_ROWS = [
    {"name": name, "rank": rank, "permissions": ROLE_PERMISSIONS[name]}
    for name, rank in sorted(ROLE_RANK.items(), key=lambda item: -item[1])
]


class GroupQuery(ListQuery):
    pass


@routes.get(f"{BASE}/groups/")
@endpoint()
@docs(tags=[TAG], summary="List the roles and what each may do")
@request_schema(GroupQuery, location="querystring", put_into="querystring")
@response_schema(page_envelope(s.RoleOut, "RolePage"), 200)
async def groups(request: web.Request) -> web.Response:
    query = request["querystring"]
    start = (query["page"] - 1) * query["page_size"]
    rows = ROLE_ROWS[start : start + query["page_size"]]
    more = start + query["page_size"] < len(ROLE_ROWS)
    return envelope.page(
        request,
        rows,
        count=len(ROLE_ROWS),
        next_url=str(request.url.update_query(page=query["page"] + 1)) if more else None,
        previous_url=str(request.url.update_query(page=query["page"] - 1)) if query["page"] > 1 else None,
    )


@routes.get(f"{BASE}/account/")
@endpoint()
@docs(tags=[TAG], summary="The caller's account")
@response_schema(envelope_schema(s.AccountOut, "AccountEnvelope"), 200)
async def account_get(request: web.Request) -> web.Response:
    account = await Account.get(id=principal(request).account_id)
    return envelope.ok(request, ACCOUNT(account))


@routes.put(f"{BASE}/account/")
@endpoint(role="admin")
@docs(tags=[TAG], summary="Rename the account", responses=ERRORS)
@request_schema(s.AccountUpdateIn)
@response_schema(envelope_schema(s.AccountOut, "AccountUpdateEnvelope"), 200)
async def account_put(request: web.Request) -> web.Response:
    account = await Account.get(id=principal(request).account_id)
    account.name = request["data"]["name"]
    await account.save(update_fields=["name", "updated_at"])
    return envelope.ok(request, ACCOUNT(account))


# --- declared resources -------------------------------------------------------------------------


add_crud(
    routes,
    Resource(
        name="user",
        path=f"{BASE}/users/",
        tag=TAG,
        model=User,
        out_schema=s.UserOut(),
        query_schema=s.UserQuery,
        search_fields=("email", "first_name", "last_name"),
        create_schema=s.UserCreateIn,
        update_schema=s.UserUpdateIn,
        create=with_settings(tenancy.create_user),
        update=with_events(tenancy.update_user),
        delete=with_events(tenancy.delete_user),
        write_role="admin",
        write_scope="general",
        site_owned=False,
    ),
)
add_crud(
    routes,
    Resource(
        name="site",
        path=f"{BASE}/sites/",
        tag=TAG,
        model=Site,
        out_schema=s.SiteOut(),
        query_schema=s.SiteQuery,
        search_fields=("name", "domain"),
        create_schema=s.SiteIn,
        update_schema=s.SiteUpdateIn,
        create=with_settings(tenancy.create_site),
        update=without_request(tenancy.update_site),
        delete=with_files(tenancy.delete_site),
        delete_errors=(409,),  # a job of the site is unfinished
        write_role="admin",
        write_scope="general",
        site_owned=False,
    ),
)
add_crud(
    routes,
    Resource(
        name="sector",
        path=f"{BASE}/sectors/",
        tag=TAG,
        model=SiteSector,
        out_schema=s.SectorOut(),
        query_schema=s.SectorQuery,
        search_fields=("name",),
        create_schema=s.SectorIn,
        update_schema=s.SectorUpdateIn,
        create=with_caller(tenancy.create_sector),
        update=without_request(tenancy.update_sector),
        delete=delete_row,
        write_role="admin",
        write_scope="general",
    ),
)


add_crud(
    routes,
    Resource(
        name="industry",
        path=f"{BASE}/industries/",
        tag=TAG,
        model=Industry,
        out_schema=s.IndustryOut(),
        query_schema=s.IndustryQuery,
        search_fields=("name",),
        actions=("list",),
        tenant=False,
        base_query=lambda caller: Industry.all().prefetch_related("sectors"),
        default_order=("name", "id"),
    ),
)
add_crud(
    routes,
    Resource(
        name="seed keyword",
        path=f"{BASE}/seed-keywords/",
        tag=TAG,
        model=SeedKeyword,
        out_schema=s.SeedKeywordOut(),
        query_schema=s.SeedKeywordQuery,
        search_fields=("keyword",),
        actions=("list",),
        tenant=False,
        default_order=("-volume", "id"),
    ),
)
