"""The admin: the remote books and authors (through the books API) and the local orders."""

from django.contrib import admin
from django_api_orm.admin import APIModelAdmin

from .models import Author, Book, Order


@admin.register(Book)
class BookAdmin(APIModelAdmin):
    """Books of the remote catalogue: one count and one page request per changelist page."""

    list_display = ["title", "author", "year", "in_stock", "isbn"]
    list_filter = ["in_stock"]
    search_fields = ["title", "author"]
    search_param = "search"  # the books API searches title and author itself
    ordering = ["-year"]
    list_per_page = 15


@admin.register(Author)
class AuthorAdmin(APIModelAdmin):
    """Authors of the remote catalogue."""

    list_display = ["name", "born", "country"]
    search_fields = ["name"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Local orders; ``book`` is a RemoteForeignKey (its column holds the book's pk)."""

    list_display = ["id", "book_id", "quantity", "created"]
