"""Per-account settings (AI, images, modules) and edited prompts."""

from typing import Any

from tortoise import fields

from models.base import AccountOwned


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
