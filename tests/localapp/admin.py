"""The admin of the tests' remote books (tests/test_admin.py)."""

from django.contrib import admin

from django_api_orm.admin import APIModelAdmin

from .models import Book


@admin.register(Book)
class BookAdmin(APIModelAdmin):
    list_display = ["title", "author", "year", "in_stock"]
    list_filter = ["in_stock"]
    search_fields = ["title"]
    list_per_page = 10
