"""Internal links the linker added between contents of a site."""

from typing import TYPE_CHECKING

from tortoise import fields

from models.base import SiteOwned

if TYPE_CHECKING:
    from models.writer import Content


class Link(SiteOwned):
    source: fields.ForeignKeyRelation["Content"] = fields.ForeignKeyField(
        "models.Content", on_delete=fields.CASCADE, related_name=False
    )
    source_id: int
    target: fields.ForeignKeyRelation["Content"] = fields.ForeignKeyField(
        "models.Content", on_delete=fields.CASCADE, related_name=False
    )
    target_id: int
    anchor = fields.CharField(max_length=255)
    href = fields.CharField(max_length=2000)

    class Meta:
        table = "link"
        unique_together = (("source_id", "target_id"),)
        # The links into a content (deleting it deletes them; the source's are the unique index's).
        indexes = (("target_id",),)
