"""ASGI entry point: ``uvicorn upstream.asgi:application`` with ``example_project/`` as cwd.

Django's ASGI handler does not speak the lifespan protocol, so a thin wrapper answers it:
on startup it creates and seeds the SQLite database (in a worker thread, since the ORM is
sync), before uvicorn accepts the first request.
"""

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from asgiref.sync import sync_to_async
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "upstream.settings")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

django_application = get_asgi_application()


async def _lifespan(receive: Receive, send: Send) -> None:
    from .seed import prepare_database  # models import only once Django is set up

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await sync_to_async(prepare_database)()
            except Exception as error:
                await send({"type": "lifespan.startup.failed", "message": repr(error)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    """Django for HTTP; the database is prepared at lifespan startup."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    else:
        await django_application(scope, receive, send)
