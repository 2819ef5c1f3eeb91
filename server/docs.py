"""OpenAPI 3 document, Swagger UI and ReDoc, all served by this server (no CDN)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp_apigami import OpenApiVersion, setup_aiohttp_apispec

from server.middlewares import validation_error_callback

STATIC = Path(__file__).parent / "static"
SPEC_URL = "/api/docs/openapi.json"
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


def setup_docs(app: web.Application, version: str, generate: bool = True) -> None:
    api = setup_aiohttp_apispec(
        app,
        title="Inkflow API",
        version=version,
        url=SPEC_URL,
        swagger_path="/api/docs/",
        static_path="/api/docs/static",
        openapi_version=OpenApiVersion.V303,
        error_callback=validation_error_callback,
        generate_spec=generate,
        security=[{"bearerAuth": []}, {"apiKeyAuth": []}, {"cookieAuth": []}],
        info={"description": "Multi-tenant SEO content pipeline. Every response is an envelope; see README."},
    )
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)

    async def redoc(request: web.Request) -> web.Response:
        return web.Response(text=REDOC_PAGE.format(spec=SPEC_URL), content_type="text/html")

    app.router.add_get("/api/redoc/", redoc)
    app.router.add_static("/api/redoc/static", STATIC / "redoc")
