"""pytest plugin entry point for django-api-orm."""
