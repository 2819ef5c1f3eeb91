"""Prices of AI work from the cost table (config/costs.py, CONTRACT §7), in one place: the
operations charge with them and the automation estimate simulates with them."""

from __future__ import annotations

import math

from config.settings import Settings

# Ideas asked of the model per cluster (the ideas prompt's `count`).
IDEAS_PER_CLUSTER = 3


def content_cost(settings: Settings, words: int) -> int:
    costs = settings.costs
    over = max(0, words - costs["generate_content_base_words"])
    return costs["generate_content_per_task"] + math.ceil(over / 100) * costs["generate_content_per_100_words_over"]


def cluster_cost(settings: Settings, keywords: int) -> int:
    costs = settings.costs
    return max(costs["auto_cluster_min"], costs["auto_cluster_per_keyword"] * keywords)
