"""Reference data shared by every account: industries, their sectors, seed keywords."""

from tortoise import fields
from tortoise.models import Model


class Industry(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=120, unique=True)
    slug = fields.CharField(max_length=120, unique=True)

    class Meta:
        table = "industry"


class IndustrySector(Model):
    id = fields.IntField(primary_key=True)
    industry: fields.ForeignKeyRelation["Industry"] = fields.ForeignKeyField(
        "models.Industry", on_delete=fields.CASCADE, related_name="sectors"
    )
    industry_id: int
    name = fields.CharField(max_length=120)
    slug = fields.CharField(max_length=120)

    class Meta:
        table = "industry_sector"
        unique_together = (("industry_id", "slug"),)


class SeedKeyword(Model):
    id = fields.IntField(primary_key=True)
    industry: fields.ForeignKeyRelation["Industry"] = fields.ForeignKeyField(
        "models.Industry", on_delete=fields.CASCADE, related_name=False
    )
    industry_id: int
    sector: fields.ForeignKeyRelation["IndustrySector"] = fields.ForeignKeyField(
        "models.IndustrySector", on_delete=fields.CASCADE, related_name=False
    )
    sector_id: int
    keyword = fields.CharField(max_length=255)
    volume = fields.IntField(default=0)
    difficulty = fields.SmallIntField(default=0)
    intent = fields.CharField(max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "seed_keyword"
        unique_together = (("sector_id", "keyword"),)
        indexes = (("industry_id", "volume"),)
