"""Schema creation and seed data (runs in the upstream process)."""

import fcntl
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from .models import Book

AUTHORS = ["Ada", "Bob", "Cy", "Dee", "Eve"]
SEED_COUNT = 25


def seed_books() -> list[Book]:
    """The 25 seed books (ids 1..25)."""
    return [
        Book(
            id=i,
            title=f"Book {i:02d}",
            year=1980 + i,
            in_stock=i % 2 == 0,
            author=AUTHORS[i % 5],
            isbn=None if i % 3 == 0 else f"isbn-{i}",
        )
        for i in range(1, SEED_COUNT + 1)
    ]


def reset_books() -> None:
    """Restore the seed rows and make the next auto id 26."""
    try:
        with transaction.atomic():
            Book.objects.all().delete()
            Book.objects.bulk_create(seed_books())
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE sqlite_sequence SET seq = %s WHERE name = %s",
                    [SEED_COUNT, Book._meta.db_table],
                )
    finally:
        connection.close()


def setup_database() -> None:
    """Create tables and seed an empty DB; a file lock keeps parallel workers apart."""
    lock_path = Path(str(settings.DATABASES["default"]["NAME"]) + ".lock")
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
            if not Book.objects.exists():
                reset_books()
        finally:
            connection.close()
            fcntl.flock(lock, fcntl.LOCK_UN)
