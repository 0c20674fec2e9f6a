"""Signal receivers: keep the remote catalogue in step with local orders."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Book, Order


@receiver(post_save, sender=Order, dispatch_uid="catalog.mark_sold_out")
def mark_sold_out(sender: type[Order], instance: Order, created: bool, **kwargs: Any) -> None:
    """Each title is a single copy: once it is ordered, the remote book is out of stock.

    A plain sync receiver: it runs in whatever thread saved the order (Django moves
    ``await Order.objects.acreate()`` to a worker thread), so the sync API is the right one.
    The remote update waits for the local transaction to commit.
    """
    if created:
        book_id = instance.book_id
        transaction.on_commit(lambda: Book.objects.filter(pk=book_id).update(in_stock=False))
