"""Per-site actors: the runtime (`runtime`), the site actor (`site`) and the operations it runs."""
