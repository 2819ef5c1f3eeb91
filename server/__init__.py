"""The aiohttp application: factory, middlewares and one route module per API group."""
