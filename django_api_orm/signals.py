"""Signals of remote models, sent by both colours of every write.

``save()`` sends :data:`pre_save` and :data:`post_save` with ``Signal.send``; ``asave()``
sends them with ``Signal.asend``, so async receivers run natively and sync receivers through
asgiref's bridge. Receivers get the same arguments as Django's model signals::

    @receiver(post_save, sender=Book)
    def on_book_saved(sender, instance, created, update_fields, **kwargs): ...

:data:`api_request` fires once per HTTP attempt (retries included) for instrumentation, with
``service``, ``method``, ``url`` (secrets redacted, never headers), ``status_code`` (None
when no response arrived), ``duration`` (seconds) and ``error`` (the exception or None).
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["api_request", "post_delete", "post_save", "pre_delete", "pre_save"]

#: Before ``save()``/``asave()`` sends: ``sender``, ``instance``, ``update_fields``.
pre_save = Signal()
#: After a save: ``sender``, ``instance``, ``created``, ``update_fields``.
post_save = Signal()
#: Before ``delete()``/``adelete()`` of an instance: ``sender``, ``instance``.
pre_delete = Signal()
#: After an instance was deleted: ``sender``, ``instance``.
post_delete = Signal()
#: Once per HTTP attempt: ``service``, ``method``, ``url``, ``status_code``, ``duration``,
#: ``error``.
api_request = Signal()
