"""``/api/authors/``: a read-only list and detail."""

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router

from .listing import Listing
from .models import Author
from .schemas import AuthorOut

__all__ = ["router"]

router = Router(tags=["authors"])

AUTHORS = Listing(
    model=Author,
    filter_fields=["id", "name", "born", "country"],
    ordering_fields=["id", "name", "born"],
    search_fields=["name", "country"],
)


@router.get("/")
def list_authors(request: HttpRequest) -> dict[str, Any]:
    """Filter, order and paginate like ``/api/books/``."""
    return AUTHORS.page(request, lambda author: AuthorOut.model_validate(author).model_dump())


@router.get("/{int:author_id}/", response=AuthorOut)
def get_author(request: HttpRequest, author_id: int) -> Author:
    """One author, or 404."""
    return get_object_or_404(Author, pk=author_id)
