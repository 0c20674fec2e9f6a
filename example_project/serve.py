#!/usr/bin/env python
"""``make serve``: run the bookshop and the upstream API until Ctrl-C.

Environment: ``BOOKSHOP_PORT`` (8000), ``UPSTREAM_PORT`` (8001), ``UPSTREAM_TOKEN`` (unset:
the upstream is open, so its JSON can be read in a browser). Both keep their SQLite files
(``bookshop/db.sqlite3``, ``upstream/db.sqlite3``); delete them to start afresh. The
bookshop logs every request it sends to the upstream (``API_ORM_LOG_LEVEL=DEBUG``).
"""

from __future__ import annotations

import os
import sys
import time

from demo_support.servers import ServerError, install_signal_handlers, port_in_use
from demo_support.stack import Stack, StackConfig, running_stack


def _urls(stack: Stack, token: str | None) -> None:
    shop, api = stack.bookshop.url, stack.api_url
    print()
    print("The example is running (Ctrl-C stops both servers):")
    print(f"  bookshop, HTML views      {shop}/books/   {shop}/books/1/")
    print(f"  bookshop, async JSON API  {shop}/api/books   {shop}/api/stats   {shop}/api/docs")
    print(f"  upstream books API        {api}books/?year__gte=1990&ordering=-year")
    print(f"  admin                     {shop}/admin/   (manage.py createsuperuser first)")
    if token:
        print(f"    (the upstream wants 'Authorization: Bearer {token}')")
    print("  the report command:")
    print(
        f"    cd example_project/bookshop && BOOKS_API_URL={api} "
        "../../.venv/bin/python manage.py books_report"
    )
    print(flush=True)


def main() -> int:
    """Serve until Ctrl-C; non-zero if a server cannot start or dies."""
    install_signal_handlers()
    os.environ.setdefault("API_ORM_LOG_LEVEL", "DEBUG")
    bookshop_port = int(os.environ.get("BOOKSHOP_PORT", "8000"))
    upstream_port = int(os.environ.get("UPSTREAM_PORT", "8001"))
    busy = [port for port in (bookshop_port, upstream_port) if port_in_use(port)]
    if busy:
        print(
            f"serve: port(s) {', '.join(map(str, busy))} already in use on 127.0.0.1; "
            "set BOOKSHOP_PORT / UPSTREAM_PORT.",
            file=sys.stderr,
        )
        return 2
    token = os.environ.get("UPSTREAM_TOKEN") or None
    config = StackConfig(
        upstream_port=upstream_port, bookshop_port=bookshop_port, token=token, debug=True
    )
    try:
        with running_stack(config) as stack:
            _urls(stack, token)
            while stack.upstream.running and stack.bookshop.running:
                time.sleep(0.5)
            print("serve: a server stopped unexpectedly; stopping the other.", file=sys.stderr)
            return 1
    except ServerError as error:
        print(f"serve: the servers did not start: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nserve: stopped.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
