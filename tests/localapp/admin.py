"""The admin of the tests' remote models (tests/test_admin.py)."""

from django.contrib import admin

from django_api_orm.admin import APIModelAdmin

from .models import Book, LaxBook, Rating


@admin.register(Book)
class BookAdmin(APIModelAdmin):
    list_display = ["title", "author", "year", "in_stock"]
    list_filter = ["in_stock"]
    search_fields = ["title"]
    list_per_page = 10


@admin.register(Rating)
class RatingAdmin(APIModelAdmin):
    list_display = ["text", "book", "stars"]
    list_filter = ["stars"]
    list_per_page = 10


@admin.register(LaxBook)
class LaxBookAdmin(APIModelAdmin):
    """Its API ignores ``in_stock`` (the checks cannot know: nothing declares it)."""

    list_display = ["title", "in_stock"]
    list_filter = ["in_stock"]
    list_per_page = 10
