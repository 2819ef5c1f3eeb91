"""Tortoise models, one module per domain. `MODEL_MODULES` is what Tortoise and aerich load."""

MODEL_MODULES = [
    "models.accounts",
    "models.reference",
    "models.planner",
    "models.writer",
    "models.billing",
    "models.jobs",
    "models.integration",
    "models.publisher",
    "models.system",
    "models.automation",
    "models.linker",
    "models.idempotency",
    "aerich.models",
]
