"""Schema creation and seed data (runs in the upstream process)."""

import fcntl
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from .models import Author, Book, Review

AUTHORS = ["Ada", "Bob", "Cy", "Dee", "Eve"]
SEED_COUNT = 25
REVIEW_COUNT = 40


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
            writer_id=i % 5 + 1,
        )
        for i in range(1, SEED_COUNT + 1)
    ]


def seed_authors() -> list[Author]:
    """The five writers (ids 1..5, the names of ``Book.author``)."""
    return [Author(id=i + 1, name=name) for i, name in enumerate(AUTHORS)]


def seed_reviews() -> list[Review]:
    """40 reviews: reviews 1..20 are of books 1..20, 21..40 of books 1..20 again."""
    return [
        Review(id=j, book_id=(j - 1) % 20 + 1, stars=j % 5 + 1, text=f"Review {j:02d}")
        for j in range(1, REVIEW_COUNT + 1)
    ]


def reset_books() -> None:
    """Restore the seed rows; the next book id is 26, the next review id 41."""
    try:
        with transaction.atomic():
            Review.objects.all().delete()
            Book.objects.all().delete()
            Author.objects.all().delete()
            Author.objects.bulk_create(seed_authors())
            Book.objects.bulk_create(seed_books())
            Review.objects.bulk_create(seed_reviews())
            with connection.cursor() as cursor:
                for model, count in ((Book, SEED_COUNT), (Review, REVIEW_COUNT)):
                    cursor.execute(
                        "UPDATE sqlite_sequence SET seq = %s WHERE name = %s",
                        [count, model._meta.db_table],
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
