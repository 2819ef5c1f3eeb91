"""Internal links the linker added between contents of a site."""

from tortoise import fields

from models.base import SiteOwned


class Link(SiteOwned):
    source = fields.ForeignKeyField("models.Content", on_delete=fields.CASCADE, related_name=False)
    target = fields.ForeignKeyField("models.Content", on_delete=fields.CASCADE, related_name=False)
    anchor = fields.CharField(max_length=255)
    href = fields.CharField(max_length=2000)

    class Meta:
        table = "link"
        unique_together = (("source_id", "target_id"),)
