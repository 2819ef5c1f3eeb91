"""Schemas of /api/v1/system/: health, AI settings, prompts and modules."""

from marshmallow import Schema, fields, validate

from config.prompts import PROMPT_TYPES
from models.system import IMAGE_PROVIDERS, IMAGE_QUALITIES, IMAGE_SIZES, IMAGE_STYLES, MODULES
from schemas.common import Bool, Int, ListQuery, StrictSchema, Text, Url, optional, trimmed


class HealthCheckOut(Schema):
    ok = fields.Boolean()
    latency_ms = fields.Float()
    error = fields.String()


class HealthOut(Schema):
    status = fields.String(metadata={"enum": ["ok", "degraded", "down"]})
    version = fields.String()
    uptime_s = fields.Float()
    checks = fields.Dict(
        metadata={
            "description": "database {ok, latency_ms}; redis {ok, latency_ms} or 'not configured'; "
            "actors {running, busiest_mailbox}; jobs {queued, running}; ownership 'single process', or with "
            "Redis {process, sites, scheduler, leases, degraded, lease_ttl_s, problems}: this process's id, the "
            "sites whose actors it owns, whether it holds the scheduler, and lease problems (degraded: Redis lost, "
            "no site is taken over until it is back)"
        }
    )


# --- settings -----------------------------------------------------------------------------------


class OpenAiSettingsOut(Schema):
    api_key_set = fields.Boolean(metadata={"description": "A key is in effect (the account's or the server's)"})
    api_key_last4 = fields.String(allow_none=True, metadata={"description": "Last 4 characters of the key in effect"})
    key_source = fields.String(
        allow_none=True,
        metadata={"enum": ["account", "server", None], "description": "Whose key is in effect; null: none"},
    )
    model = fields.String()
    base_url = fields.String(allow_none=True, metadata={"description": "null: the server's OPENAI_BASE_URL"})
    temperature = fields.Float()
    max_tokens = fields.Integer()


# A key goes into the `Authorization` header, which carries ASCII: printable ASCII with no space
# inside. Whitespace around it (a paste) is trimmed. The pattern is the document's and the check's.
API_KEY = r"^[ \t\r\n]*[!-~]*[ \t\r\n]*$"


class OpenAiSettingsIn(StrictSchema):
    api_key = Text(
        allow_none=True,
        validate=[
            validate.Length(max=300),
            validate.Regexp(API_KEY, error="Must be printable ASCII without spaces or control characters inside."),
        ],
        metadata={
            "description": "Stored encrypted and never returned; null or an empty string clears it. Printable "
            "ASCII with no space inside; whitespace around it is trimmed"
        },
    )
    model = trimmed(100, min_length=1)
    base_url = Url(
        allow_none=True,
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=2000),
        metadata={"description": "An OpenAI-compatible endpoint; null: the server's OPENAI_BASE_URL"},
    )
    temperature = fields.Float(validate=validate.Range(min=0, max=2))
    max_tokens = Int(strict=True, minimum=1, maximum=128_000)


class ImageSettingsOut(Schema):
    provider = fields.String(metadata={"enum": list(IMAGE_PROVIDERS)})
    model = fields.String()
    size = fields.String(metadata={"enum": list(IMAGE_SIZES)})
    quality = fields.String(metadata={"enum": list(IMAGE_QUALITIES)})
    style = fields.String(metadata={"enum": list(IMAGE_STYLES)})
    images_per_content = fields.Integer(metadata={"description": "In-article images per content"})
    featured_image = fields.Boolean(metadata={"description": "Also generate one featured image"})


class ImageSettingsIn(StrictSchema):
    provider = Text(validate=validate.OneOf(IMAGE_PROVIDERS))
    model = trimmed(100, min_length=1)
    size = Text(validate=validate.OneOf(IMAGE_SIZES))
    quality = Text(validate=validate.OneOf(IMAGE_QUALITIES))
    style = Text(validate=validate.OneOf(IMAGE_STYLES))
    images_per_content = Int(
        strict=True,
        minimum=0,
        maximum=10,
        metadata={"description": "In-article images per content; the featured image is extra"},
    )
    featured_image = Bool()


class IntegrationTestIn(StrictSchema):
    integration = Text(required=True, validate=validate.OneOf(("openai", "image_generation")))


class IntegrationTestOut(Schema):
    ok = fields.Boolean()
    latency_ms = optional(fields.Float(metadata={"description": "When ok"}))
    model = optional(fields.String(metadata={"description": "When ok: the model that answered (or was found)"}))
    error = optional(fields.String(metadata={"description": "When not ok: the provider's status, code and message"}))


# --- prompts ------------------------------------------------------------------------------------


class PromptQuery(ListQuery):
    pass


class PromptOut(Schema):
    type = fields.String(metadata={"enum": list(PROMPT_TYPES)})
    text = fields.String()
    is_default = fields.Boolean()
    placeholders = fields.List(fields.String(), metadata={"description": "Required `{name}` placeholders"})
    updated_at = fields.DateTime(allow_none=True, metadata={"description": "null while the default is in effect"})


class PromptIn(StrictSchema):
    text = Text(
        required=True,
        validate=validate.Length(min=1, max=20_000),
        metadata={"description": "Must contain every placeholder of the type, and no other `{name}`"},
    )


# --- modules ------------------------------------------------------------------------------------

ModulesOut = Schema.from_dict({name: fields.Boolean() for name in MODULES}, name="ModulesOut")
# Any subset of the modules; the others keep their state. Unknown names are a 400.
ModulesIn = StrictSchema.from_dict({name: Bool() for name in MODULES}, name="ModulesIn")
