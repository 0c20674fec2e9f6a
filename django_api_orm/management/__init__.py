"""Management commands of django-api-orm."""

__all__: list[str] = []
