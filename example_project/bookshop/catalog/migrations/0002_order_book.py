"""``Order.book_id`` becomes ``Order.book``, a RemoteForeignKey: the column keeps its name
(``book_id``) and its data; migrations see a plain integer column."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [
        migrations.RenameField(model_name="order", old_name="book_id", new_name="book"),
        migrations.AlterField(
            model_name="order",
            name="book",
            field=models.BigIntegerField(db_column="book_id", db_index=True),
        ),
    ]
