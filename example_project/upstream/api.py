"""The NinjaAPI of the upstream: bearer auth, DRF-style errors, the books and authors routes."""

from ninja import NinjaAPI

from . import authors, books
from .auth import bearer_token
from .errors import install_error_handlers

__all__ = ["api"]

api = NinjaAPI(
    title="Example books upstream",
    description="A Django REST framework style books API, for the django-api-orm example.",
    auth=bearer_token,
    urls_namespace="upstream",
)
install_error_handlers(api)
api.add_router("/books/", books.router)
api.add_router("/authors/", authors.router)
