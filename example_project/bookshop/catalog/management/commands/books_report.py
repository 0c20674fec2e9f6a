"""``manage.py books_report``: a short report on the remote catalogue."""

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand

from catalog.models import Author, Book


async def _books_per_author() -> list[tuple[str, int]]:
    """``(author, number of books)``: one count per author, all requested concurrently."""
    names = [author.name async for author in Author.objects.order_by("name")]
    counts = await asyncio.gather(*(Book.objects.filter(author=name).acount() for name in names))
    return list(zip(names, counts, strict=True))


class Command(BaseCommand):
    """Counts and the oldest titles with the sync API; per-author counts with the async one."""

    help = "Print a short report on the remote book catalogue."

    def handle(self, *args: Any, **options: Any) -> None:
        total = Book.objects.count()
        sold_out = Book.objects.filter(in_stock=False).count()
        self.stdout.write(f"{total} books in the catalogue, {sold_out} sold out.")
        self.stdout.write("The five oldest:")
        for book in Book.objects.order_by("year", "title")[:5]:
            self.stdout.write(f"  {book.year}  {book.title} ({book.author})")
        self.stdout.write("Books per author (async, concurrent counts):")
        for name, count in async_to_sync(_books_per_author)():
            self.stdout.write(f"  {count:3d}  {name}")
