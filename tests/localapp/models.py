"""A local (database) model; no migrations: pytest-django creates its table with syncdb."""

from django.db import models


class Note(models.Model):
    """A note that, once saved, is mirrored as a remote Book by the tests' receivers."""

    title = models.CharField(max_length=100)
    year = models.IntegerField(default=2000)

    def __str__(self) -> str:
        return self.title
