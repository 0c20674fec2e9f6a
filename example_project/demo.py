#!/usr/bin/env python
"""``make demo``: start the example's two servers and drive every path of django-api-orm.

Starts the upstream books API and the bookshop (uvicorn, free ports on 127.0.0.1, fresh
SQLite files in a temporary directory), then calls the upstream, the bookshop's sync views,
its async django-ninja routes, places orders (a post_save receiver updates the remote book),
runs ``manage.py books_report`` and finally uses the library in-process, sync and async.
Prints one block per step; exits 0 only if every step succeeded. Servers are stopped on any
exit, Ctrl-C and SIGTERM included.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from demo_support.http_tour import HttpTour
from demo_support.library_tour import LibraryTour, setup_django
from demo_support.report import Report, expect
from demo_support.servers import ServerError, free_port, install_signal_handlers
from demo_support.stack import Stack, StackConfig, running_stack

TOKEN = "demo-token"


def _config(tmp: Path) -> StackConfig:
    upstream_port = free_port()
    bookshop_port = free_port()
    while bookshop_port == upstream_port:
        bookshop_port = free_port()
    return StackConfig(
        upstream_port=upstream_port,
        bookshop_port=bookshop_port,
        upstream_db=tmp / "upstream.sqlite3",
        bookshop_db=tmp / "bookshop.sqlite3",
        token=TOKEN,
        log_dir=tmp,
    )


def _header(stack: Stack) -> None:
    print("django-api-orm demo")
    print(f"  upstream  {stack.api_url}  (django-ninja + SQLite, needs 'Bearer {TOKEN}')")
    print(f"  bookshop  {stack.bookshop.url}/  (Django under uvicorn; BOOKS_API_URL -> upstream)")
    print(f"  both answering after {stack.ready_seconds:.1f} s; bookshop database migrated")


def _books_report(stack: Stack, report: Report) -> None:
    report.section("5. Management command (sync API, plus async_to_sync)")

    def run() -> str:
        result = stack.manage("books_report")
        expect(result.returncode == 0, f"exit code {result.returncode}:\n{result.stderr}")
        expect("41 books in the catalogue, 12 sold out." in result.stdout, result.stdout)
        return "exit 0, it printed:\n" + result.stdout.rstrip()

    report.step("python manage.py books_report", run)


def _server_logs(stack: Stack) -> None:
    for server in (stack.upstream, stack.bookshop):
        output = server.output()
        if output:
            print(f"\n--- last lines of the {server.name} log ---\n{output}")


def _fail(message: str) -> None:
    sys.stdout.flush()  # keep the report and the verdict in order when both are piped
    print(message, file=sys.stderr, flush=True)


def main() -> int:
    """Run the demo; 0 when every step passed."""
    install_signal_handlers()
    began = time.perf_counter()
    report = Report()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="django-api-orm-demo-") as tmp,
            running_stack(_config(Path(tmp))) as stack,
        ):
            _header(stack)
            tour = HttpTour(stack, report, TOKEN)
            try:
                tour.run()
                _books_report(stack, report)
                setup_django(stack.bookshop_env)
                LibraryTour(report).run()
                tour.outage()  # last: it stops the upstream
            finally:
                tour.close()
            if not report.ok:
                _server_logs(stack)
    except ServerError as error:
        _fail(f"\ndemo: FAILED, the servers did not start: {error}")
        return 2
    except KeyboardInterrupt:
        _fail("\ndemo: interrupted; servers stopped.")
        return 130
    except SystemExit:
        _fail("\ndemo: terminated; servers stopped.")
        raise
    took = time.perf_counter() - began
    if report.ok:
        print(f"\ndemo: OK, all {report.passed} steps passed in {took:.1f} s; servers stopped.")
        return 0
    failed = len(report.failures)
    total = failed + report.passed
    _fail(f"\ndemo: FAILED, {failed} of {total} steps failed: " + "; ".join(report.failures))
    return 1


if __name__ == "__main__":
    sys.exit(main())
