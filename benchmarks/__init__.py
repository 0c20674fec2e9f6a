"""Benchmarks of django-api-orm against raw httpx + pydantic (see README.md)."""
