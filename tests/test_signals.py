"""Signals both ways: our pre/post save and delete and api_request, from sync and async code;
and Django's own post_save on a local model driving remote models."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from django.db.models import signals as django_signals
from django.dispatch import Signal
from django.test import override_settings

from django_api_orm import exceptions, signals
from tests.localapp.models import Note
from tests.models import Book, PlainBook, PrivateBook
from tests.upstream_fixture import Upstream


class Recorder:
    """Connects receivers for one test and records what they were called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.threads: list[int] = []
        self._connected: list[tuple[Signal, Callable[..., Any], Any]] = []

    def sync(self, signal: Signal, name: str, sender: Any = Book) -> Callable[..., Any]:
        def receiver(sender: Any, **kwargs: Any) -> None:
            self.threads.append(threading.get_ident())
            self.calls.append((name, self._snapshot(kwargs)))

        self.connect(signal, receiver, sender)
        return receiver

    def asynchronous(self, signal: Signal, name: str, sender: Any = Book) -> Callable[..., Any]:
        async def receiver(sender: Any, **kwargs: Any) -> None:
            await asyncio.sleep(0)
            self.threads.append(threading.get_ident())
            self.calls.append((name, self._snapshot(kwargs)))

        self.connect(signal, receiver, sender)
        return receiver

    def connect(self, signal: Signal, receiver: Callable[..., Any], sender: Any = None) -> None:
        signal.connect(receiver, sender=sender, weak=False)
        self._connected.append((signal, receiver, sender))

    @staticmethod
    def _snapshot(kwargs: dict[str, Any]) -> dict[str, Any]:
        data = {k: v for k, v in kwargs.items() if k != "signal"}
        if "instance" in data:
            data["pk"] = data["instance"].pk  # the pk at the time of the signal
        return data

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def disconnect(self) -> None:
        for signal, receiver, sender in self._connected:
            assert signal.disconnect(receiver, sender=sender)


@pytest.fixture
def record() -> Iterator[Recorder]:
    recorder = Recorder()
    try:
        yield recorder
    finally:
        recorder.disconnect()


def saves(recorder: Recorder) -> list[tuple[str, Any, Any, Any]]:
    return [
        (name, data["pk"], data.get("created"), data["update_fields"])
        for name, data in recorder.calls
    ]


# -- pre/post_save and pre/post_delete ----------------------------------------------------------


def test_save_sends_pre_and_post_save(record: Recorder, upstream: Upstream) -> None:
    record.sync(signals.pre_save, "pre")
    record.sync(signals.post_save, "post")
    book = Book(title="New", year=2020)
    book.save()
    book.year = 2021
    book.save()
    book.title = "Renamed"
    book.save(update_fields=["title"])
    assert saves(record) == [
        ("pre", None, None, None),
        ("post", 26, True, None),
        ("pre", 26, None, None),
        ("post", 26, False, None),
        ("pre", 26, None, frozenset({"title"})),
        ("post", 26, False, frozenset({"title"})),
    ]
    assert all(data["instance"] is book for _, data in record.calls)
    assert [r["method"] for r in upstream.requests()] == ["POST", "PATCH", "PATCH"]


def test_create_and_update_send_save_signals(record: Recorder, upstream: Upstream) -> None:
    record.sync(signals.post_save, "post")
    Book.objects.create(title="New", year=2020)
    Book.objects.filter(year__gt=2003).update(in_stock=True)
    assert saves(record) == [
        ("post", 26, True, None),
        ("post", 24, False, frozenset({"in_stock"})),
        ("post", 25, False, frozenset({"in_stock"})),
        ("post", 26, False, frozenset({"in_stock"})),
    ]


async def test_asave_runs_async_receivers_natively(record: Recorder, upstream: Upstream) -> None:
    counted: list[int] = []

    async def count_in_receiver(sender: Any, instance: Book, **kwargs: Any) -> None:
        counted.append(await Book.objects.acount())  # async I/O inside the receiver

    record.asynchronous(signals.pre_save, "pre")
    record.asynchronous(signals.post_save, "post")
    record.connect(signals.post_save, count_in_receiver, Book)
    assert iscoroutinefunction(count_in_receiver)
    book = await Book.objects.acreate(title="New", year=2020)
    await book.asave(update_fields=["year"])
    assert saves(record) == [
        ("pre", None, None, None),
        ("post", 26, True, None),
        ("pre", 26, None, frozenset({"year"})),
        ("post", 26, False, frozenset({"year"})),
    ]
    assert set(record.threads) == {threading.get_ident()}  # on the event loop's thread
    assert counted == [26, 26]


async def test_asave_runs_sync_receivers_through_the_bridge(
    record: Recorder, upstream: Upstream
) -> None:
    fetched: list[str] = []

    def sync_receiver(sender: Any, instance: Book, created: bool, **kwargs: Any) -> None:
        fetched.append(Book.objects.get(pk=1).title)  # blocking I/O is fine: no loop here

    record.sync(signals.post_save, "post")
    record.connect(signals.post_save, sync_receiver, Book)
    book = await Book.objects.aget(pk=3)
    await book.asave()
    assert saves(record) == [("post", 3, False, None)]
    assert record.threads[0] != threading.get_ident()  # sync_to_async's thread
    assert fetched == ["Book 01"]


def test_sync_save_runs_async_receivers(record: Recorder, upstream: Upstream) -> None:
    record.asynchronous(signals.post_save, "post")
    Book(title="New", year=2020).save()
    assert saves(record) == [("post", 26, True, None)]


def test_delete_sends_pre_and_post_delete(record: Recorder, upstream: Upstream) -> None:
    record.sync(signals.pre_delete, "pre")
    record.sync(signals.post_delete, "post")
    book = Book.objects.get(pk=5)
    assert book.delete() == (1, {"tests.Book": 1})
    assert [(name, data["pk"]) for name, data in record.calls] == [("pre", 5), ("post", 5)]
    assert book.pk is None
    Book.objects.filter(year__gt=2003).delete()
    assert [(name, data["pk"]) for name, data in record.calls[2:]] == [
        ("pre", 24),
        ("post", 24),
        ("pre", 25),
        ("post", 25),
    ]


async def test_adelete_sends_delete_signals(record: Recorder, upstream: Upstream) -> None:
    record.asynchronous(signals.pre_delete, "pre")
    record.sync(signals.post_delete, "post")
    await (await Book.objects.aget(pk=5)).adelete()
    assert [(name, data["pk"]) for name, data in record.calls] == [("pre", 5), ("post", 5)]


def test_receivers_filter_by_sender(record: Recorder, upstream: Upstream) -> None:
    record.sync(signals.post_save, "book")
    record.sync(signals.post_save, "plain", sender=PlainBook)
    Book.objects.create(title="New", year=2020)
    assert record.names() == ["book"]


def test_failing_pre_save_receiver_stops_the_save(record: Recorder, upstream: Upstream) -> None:
    def refuse(sender: Any, instance: Book, **kwargs: Any) -> None:
        raise ValueError("no new books today")

    record.connect(signals.pre_save, refuse, Book)
    with pytest.raises(ValueError, match="no new books today"):
        Book.objects.create(title="New", year=2020)
    assert upstream.requests() == []


# -- api_request --------------------------------------------------------------------------------


def test_api_request_reports_each_request(record: Recorder, upstream: Upstream) -> None:
    record.sync(signals.api_request, "request", sender=None)
    Book.objects.get(pk=7)
    [(_, data)] = record.calls
    assert set(data) == {"service", "method", "url", "status_code", "duration", "error"}
    assert (data["service"], data["method"], data["status_code"]) == ("default", "GET", 200)
    assert data["url"].endswith("/api/books/7/")
    assert 0 < data["duration"] < 5 and data["error"] is None


async def test_api_request_from_async_code(record: Recorder, upstream: Upstream) -> None:
    record.asynchronous(signals.api_request, "request", sender=None)
    await Book.objects.filter(year__gte=2000).acount()
    [(_, data)] = record.calls
    assert (data["method"], data["status_code"]) == ("GET", 200)
    assert "year__gte=2000" in data["url"]


def test_api_request_never_carries_the_token(record: Recorder, upstream: Upstream) -> None:
    record.sync(signals.api_request, "request", sender=None)
    PrivateBook.objects.using("private").params(api_key="s3cret").count()
    [(_, data)] = record.calls
    assert data["service"] == "private" and data["status_code"] == 200
    assert "api_key=***" in data["url"]
    text = repr(data)
    assert "test-token" not in text and "s3cret" not in text


def test_api_request_reports_failures_and_retries(record: Recorder, upstream: Upstream) -> None:
    record.sync(signals.api_request, "request", sender=None)
    upstream.fault(path_prefix="/api/books/", status=503, times=2)
    assert Book.objects.count() == 25
    assert [data["status_code"] for _, data in record.calls] == [503, 503, 200]
    dead = {"default": {"BASE_URL": "http://127.0.0.1:9/api/", "MAX_RETRIES": 0}}
    with override_settings(API_ORM_SERVICES=dead), pytest.raises(exceptions.APIConnectionError):
        Book.objects.count()
    last = record.calls[-1][1]
    assert last["status_code"] is None
    assert isinstance(last["error"], exceptions.APIConnectionError)


# -- Django's signals on a local model drive remote models --------------------------------------


@pytest.mark.django_db
def test_local_post_save_creates_a_remote_book(record: Recorder, upstream: Upstream) -> None:
    def mirror(sender: Any, instance: Note, created: bool, **kwargs: Any) -> None:
        if created:
            Book.objects.create(title=instance.title, year=instance.year)

    record.connect(django_signals.post_save, mirror, Note)
    Note.objects.create(title="Local note", year=2001)
    [request] = upstream.requests()
    assert request["method"] == "POST"
    assert json.loads(request["body"])["title"] == "Local note"
    assert Book.objects.get(pk=26).title == "Local note"


@pytest.mark.django_db(transaction=True)
async def test_local_post_save_with_an_async_receiver(record: Recorder, upstream: Upstream) -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    async def mirror(sender: Any, instance: Note, created: bool, **kwargs: Any) -> None:
        threads.append(threading.get_ident())
        await Book.objects.acreate(title=instance.title, year=instance.year)

    record.connect(django_signals.post_save, mirror, Note)
    # Django saves in a worker thread and sends post_save with send(): the async receiver
    # runs back on this event loop through async_to_sync.
    note = await Note.objects.acreate(title="Async note", year=2002)
    # A project's own code may also dispatch with asend(): the receiver runs natively.
    await django_signals.post_save.asend(sender=Note, instance=note, created=True)
    assert threads == [loop_thread, loop_thread]
    titles = [b.title async for b in Book.objects.filter(year__gte=2002, title__contains="note")]
    assert titles == ["Async note", "Async note"]
    assert await Note.objects.acount() == 1
