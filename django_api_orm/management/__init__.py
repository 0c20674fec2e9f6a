"""Management commands of django-api-orm."""
