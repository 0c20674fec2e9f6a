"""ASGI entry point: ``uvicorn tests.upstream.asgi:application``.

Importing this module sets up Django with ``tests.upstream.settings``, creates the tables in
the SQLite file named by ``UPSTREAM_DB`` and seeds it if empty.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import django
from django.core.asgi import get_asgi_application

from .control import UpstreamApp, install_log_filter


def build_application() -> UpstreamApp:
    """Configure Django, prepare the database and wrap the Django ASGI app."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.upstream.settings"
    django.setup(set_prefix=False)
    from .db import setup_database  # models can only be imported once apps are ready

    # Under ``--workers`` uvicorn imports the app inside a running event loop, where Django
    # refuses sync DB access; a helper thread is safe either way.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(setup_database).result()
    install_log_filter()
    return UpstreamApp(get_asgi_application())


application = build_application()
