"""Seed data and startup preparation: create the tables, then fill an empty database."""

from django.core.management import call_command
from django.db import transaction

from .models import Author, Book

# name, born, country
AUTHORS: list[tuple[str, int, str]] = [
    ("Frank Herbert", 1920, "United States"),
    ("Ursula K. Le Guin", 1929, "United States"),
    ("Isaac Asimov", 1920, "United States"),
    ("Octavia E. Butler", 1947, "United States"),
    ("Terry Pratchett", 1948, "United Kingdom"),
    ("Iain M. Banks", 1954, "United Kingdom"),
    ("N. K. Jemisin", 1972, "United States"),
    ("William Gibson", 1948, "Canada"),
]

# title, author, year
BOOKS: list[tuple[str, str, int]] = [
    ("Dune", "Frank Herbert", 1965),
    ("Dune Messiah", "Frank Herbert", 1969),
    ("Children of Dune", "Frank Herbert", 1976),
    ("The Dosadi Experiment", "Frank Herbert", 1977),
    ("God Emperor of Dune", "Frank Herbert", 1981),
    ("A Wizard of Earthsea", "Ursula K. Le Guin", 1968),
    ("The Left Hand of Darkness", "Ursula K. Le Guin", 1969),
    ("The Lathe of Heaven", "Ursula K. Le Guin", 1971),
    ("The Dispossessed", "Ursula K. Le Guin", 1974),
    ("Tehanu", "Ursula K. Le Guin", 1990),
    ("I, Robot", "Isaac Asimov", 1950),
    ("Foundation", "Isaac Asimov", 1951),
    ("The Caves of Steel", "Isaac Asimov", 1954),
    ("The End of Eternity", "Isaac Asimov", 1955),
    ("The Gods Themselves", "Isaac Asimov", 1972),
    ("Kindred", "Octavia E. Butler", 1979),
    ("Dawn", "Octavia E. Butler", 1987),
    ("Parable of the Sower", "Octavia E. Butler", 1993),
    ("Parable of the Talents", "Octavia E. Butler", 1998),
    ("Fledgling", "Octavia E. Butler", 2005),
    ("The Colour of Magic", "Terry Pratchett", 1983),
    ("Mort", "Terry Pratchett", 1987),
    ("Guards! Guards!", "Terry Pratchett", 1989),
    ("Small Gods", "Terry Pratchett", 1992),
    ("Night Watch", "Terry Pratchett", 2002),
    ("Consider Phlebas", "Iain M. Banks", 1987),
    ("The Player of Games", "Iain M. Banks", 1988),
    ("Use of Weapons", "Iain M. Banks", 1990),
    ("Excession", "Iain M. Banks", 1996),
    ("Look to Windward", "Iain M. Banks", 2000),
    ("The Hundred Thousand Kingdoms", "N. K. Jemisin", 2010),
    ("The Fifth Season", "N. K. Jemisin", 2015),
    ("The Obelisk Gate", "N. K. Jemisin", 2016),
    ("The Stone Sky", "N. K. Jemisin", 2017),
    ("The City We Became", "N. K. Jemisin", 2020),
    ("Neuromancer", "William Gibson", 1984),
    ("Count Zero", "William Gibson", 1986),
    ("Mona Lisa Overdrive", "William Gibson", 1988),
    ("Pattern Recognition", "William Gibson", 2003),
    ("The Peripheral", "William Gibson", 2014),
]


WRITERS = {name: number for number, (name, _born, _country) in enumerate(AUTHORS, start=1)}


def seed_books() -> list[Book]:
    """The seed books (ids 1..40), each written by its author (``writer``: ids 1..8 in the
    order of AUTHORS); every 7th has no ISBN, every 4th is out of stock.

    The ISBNs are made up (``978-0-00-0000NN``): the example must not look like real data.
    """
    return [
        Book(
            id=number,
            title=title,
            author=author,
            year=year,
            in_stock=number % 4 != 0,
            isbn=None if number % 7 == 0 else f"978-0-00-{number:06d}",
            writer_id=WRITERS[author],
        )
        for number, (title, author, year) in enumerate(BOOKS, start=1)
    ]


def seed_authors() -> list[Author]:
    """The seed authors (ids 1..8)."""
    return [
        Author(id=number, name=name, born=born, country=country)
        for number, (name, born, country) in enumerate(AUTHORS, start=1)
    ]


def prepare_database() -> None:
    """Create the tables and seed them when empty (a restarted server keeps its data)."""
    call_command("migrate", interactive=False, verbosity=0)
    with transaction.atomic():
        if not Author.objects.exists():
            Author.objects.bulk_create(seed_authors())
        if not Book.objects.exists():
            Book.objects.bulk_create(seed_books())
