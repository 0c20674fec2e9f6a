"""Books refer to their author by key (``writer``), filled in from the author names."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def fill_writers(apps: Any, schema_editor: Any) -> None:
    author_model = apps.get_model("upstream", "Author")
    book_model = apps.get_model("upstream", "Book")
    ids = dict(author_model.objects.values_list("name", "id"))
    for book in book_model.objects.all():
        book.writer_id = ids.get(book.author)
        book.save(update_fields=["writer"])


class Migration(migrations.Migration):
    dependencies = [("upstream", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="book",
            name="writer",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="books",
                to="upstream.author",
            ),
        ),
        migrations.RunPython(fill_writers, migrations.RunPython.noop),
    ]
