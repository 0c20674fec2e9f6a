"""A tiny local Django app: a database model whose signals drive remote models (tests)."""
