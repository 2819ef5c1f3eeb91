"""Credit prices of AI operations (CONTRACT §7). Shown by `GET /billing/usage/limits/`."""

DEFAULT_COSTS: dict[str, int] = {
    "auto_cluster_per_keyword": 1,
    "auto_cluster_min": 5,
    "generate_ideas_per_cluster": 5,
    "generate_content_per_task": 10,
    # One more credit for every started 100 words over the base length.
    "generate_content_per_100_words_over": 1,
    "generate_content_base_words": 1000,
    "generate_images_per_image": 4,
    "regenerate_image": 4,
    "optimize_per_content": 3,
    "analyze": 0,
    "linker_per_content": 1,
    "settings_test": 0,
}
