"""OpenAPI 3 document, Swagger UI and ReDoc, all served by this server (no CDN).

aiohttp-apigami builds the document from each handler's decorators; `finish_document` then
adds what every operation shares and the decorators can't know: the statuses the middlewares
answer (from the handler's `EndpointRules`), the security each operation accepts, and a
description for every response, so the document is valid OpenAPI 3 and exact.
"""

from __future__ import annotations

from pathlib import Path
from string import Template
from typing import Any

from aiohttp import web
from aiohttp_apigami import OpenApiVersion, setup_aiohttp_apispec
from aiohttp_apigami.constants import APISPEC_PARSER, SWAGGER_DICT
from aiohttp_apigami.swagger_ui import SWAGGER_UI_STATIC_FILES

from server.access import RULES_ATTR, EndpointRules
from server.middlewares import CheckedBodyParser, validation_error_callback

STATIC = Path(__file__).parent / "static"
SPEC_URL = "/api/docs/openapi.json"
SWAGGER_PATH = "/api/docs/"
SWAGGER_STATIC = "/api/docs/static"
TITLE = "Inkflow API"
REDOC_PAGE = """<!DOCTYPE html>
<html><head><title>Inkflow API — ReDoc</title><meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="{spec}"></redoc><script src="/api/redoc/static/redoc.standalone.js"></script>
</body></html>"""

SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "apiKeyAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`ApiKey ink_…`: a site key for the WordPress plugin",
    },
    "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session"},
}

# What each status means here; a handler's own description (e.g. which object a 404 is about) wins.
STATUS_DESCRIPTIONS = {
    200: "OK",
    201: "Created",
    202: "Accepted: a job was queued; follow it at /api/v1/jobs/{id}/",
    204: "Done; no body",
    400: "Invalid input: `validation_error` (per-field messages in `errors`) or `parse_error`",
    401: "Not authenticated: no, expired or revoked credentials",
    402: "Not enough credits: `required` and `available` say how many",
    403: "Not allowed: the role is too low, an API key can't be used here, the module is off, or the CSRF check failed",
    404: "Not found, or not one of the caller's account's",
    409: "Conflict with the current state (a duplicate, the last owner, an Idempotency-Key in use)",
    413: "The request body is larger than the server accepts",
    415: "The body is not `application/json`",
    426: "Upgrade required",
    429: "Rate limited: wait `Retry-After` seconds",
    502: "The AI provider failed",
    503: "Service unavailable",
}
BODY_METHODS = frozenset({"post", "put", "patch", "delete"})
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def common_statuses(rules: EndpointRules, method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses the middlewares and shared validation can answer for this operation."""
    statuses: set[int] = set()
    if operation.get("parameters") or "requestBody" in operation or method in BODY_METHODS:
        statuses.add(400)  # schema validation, or malformed JSON in a body
    if method in BODY_METHODS:
        statuses |= {413, 415}  # the body middleware reads any body these methods carry
    if not rules.public:
        statuses |= {401, 403}
    if rules.module:
        statuses.add(403)
    if "{" in path:
        statuses.add(404)
    if rules.scope is not None:
        statuses.add(429)
    if rules.idempotent:
        statuses.add(409)  # the Idempotency-Key was used with another body, or is in progress
    if (method in {"put", "delete"} and "{" in path) or (method == "post" and "201" in operation["responses"]):
        statuses.add(409)  # writing an object: a duplicate name, or the account's last owner
    return statuses


def security_of(rules: EndpointRules) -> list[dict[str, list[str]]]:
    if rules.public:
        return []
    schemes = ["bearerAuth", "cookieAuth"] + (["apiKeyAuth"] if rules.apikey else [])
    return [{name: []} for name in schemes]


def finish_document(app: web.Application, document: dict[str, Any]) -> dict[str, Any]:
    """Complete the generated document in place (see the module's docstring) and return it."""
    handlers = {
        (route.resource.canonical, route.method.lower()): route.handler
        for route in app.router.routes()
        if route.resource is not None
    }
    schemas = document.get("components", {}).get("schemas", {})
    for path, item in document["paths"].items():
        # aiohttp answers HEAD for every GET; it is the GET, not an operation of its own.
        item.pop("head", None)
        for method, operation in item.items():
            operation.pop("produces", None)  # a Swagger 2 key that OpenAPI 3 doesn't have
            rules = getattr(handlers.get((path, method)), RULES_ATTR, None)
            if rules is not None:
                operation["security"] = security_of(rules)
                responses = operation["responses"]
                for status in common_statuses(rules, method, path, operation):
                    responses.setdefault(str(status), {"content": ERROR_CONTENT})
            body = operation.get("requestBody")
            if body is not None:
                ref = body["content"]["application/json"]["schema"].get("$ref", "")
                body["required"] = bool(schemas.get(ref.rsplit("/", 1)[-1], {}).get("required"))
            for status, response in operation["responses"].items():
                if status == "204":
                    response.pop("content", None)
                if not response.get("description"):
                    response["description"] = STATUS_DESCRIPTIONS.get(int(status), "")
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return document


def _swagger_page() -> str:
    """aiohttp-apigami's Swagger UI page, titled for this API."""
    page = Template((SWAGGER_UI_STATIC_FILES / "index.html").read_text())
    html = page.substitute(path=SPEC_URL, static=SWAGGER_STATIC, layout="StandaloneLayout")
    return html.replace("<title>Swagger UI</title>", f"<title>{TITLE}</title>")


def setup_docs(app: web.Application, version: str, generate: bool = True) -> None:
    api = setup_aiohttp_apispec(
        app,
        title=TITLE,
        version=version,
        url=SPEC_URL,
        openapi_version=OpenApiVersion.V303,
        error_callback=validation_error_callback,
        generate_spec=generate,
        security=[{"bearerAuth": []}, {"apiKeyAuth": []}, {"cookieAuth": []}],
        info={"description": "Multi-tenant SEO content pipeline. Every response is an envelope; see README."},
    )
    app[APISPEC_PARSER] = CheckedBodyParser(error_handler=validation_error_callback)
    if not generate:
        return
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)

    async def finish(app: web.Application) -> None:
        # Runs after aiohttp-apigami's own start-up hook, which builds the document.
        finish_document(app, app[SWAGGER_DICT])

    app.on_startup.append(finish)
    swagger_html = _swagger_page()

    async def swagger(request: web.Request) -> web.Response:
        return web.Response(text=swagger_html, content_type="text/html")

    async def redoc(request: web.Request) -> web.Response:
        return web.Response(text=REDOC_PAGE.format(spec=SPEC_URL), content_type="text/html")

    app.router.add_get(SWAGGER_PATH, swagger)
    app.router.add_static(SWAGGER_STATIC, SWAGGER_UI_STATIC_FILES)
    app.router.add_get("/api/redoc/", redoc)
    app.router.add_static("/api/redoc/static", STATIC / "redoc")
