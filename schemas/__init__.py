"""Marshmallow schemas: request bodies, query strings and responses, one module per API group."""
