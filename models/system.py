"""Per-account settings (AI, images, modules) and edited prompts."""

from typing import Any

from tortoise import fields

from models.base import AccountOwned

# The vocabularies the settings documents use (CONTRACT §11).
MODULES = ("planner", "writer", "linker", "optimizer", "automation", "publisher", "integration")
IMAGE_PROVIDERS = ("openai",)
IMAGE_SIZES = ("1024x1024", "1024x1536", "1536x1024")
IMAGE_QUALITIES = ("low", "medium", "high", "auto")
IMAGE_STYLES = ("natural", "vivid")


class AccountSetting(AccountOwned):
    """One settings document of an account, by key: `openai`, `image_generation`, `modules`."""

    key = fields.CharField(max_length=32)
    value: Any = fields.JSONField(default=dict)
    secret_enc = fields.TextField(null=True)  # Fernet token of the document's secret

    class Meta:
        table = "account_setting"
        unique_together = (("account_id", "key"),)


class Prompt(AccountOwned):
    """An account's own text for a prompt type; absent means the default from config."""

    type = fields.CharField(max_length=32)
    text = fields.TextField()

    class Meta:
        table = "prompt"
        unique_together = (("account_id", "type"),)
