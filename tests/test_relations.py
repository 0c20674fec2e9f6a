"""RemoteForeignKey between remote models and from local ones, against the real DRF upstream.

Upstream seed: authors 1..5; books 1..25 (book i written by author i % 5 + 1); reviews
1..40 (review j is of book (j - 1) % 20 + 1, so reviews 1..20 are of 20 different books).
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator

import pytest
from django.core.exceptions import SynchronousOnlyOperation
from django.core.management import call_command
from django.test import override_settings

from django_api_orm import exceptions
from django_api_orm.related import aprefetch_related_objects, prefetch_related_objects
from django_api_orm.testing import assert_num_requests
from tests.conftest import service_settings
from tests.localapp.models import Order
from tests.models import Author, Novel, Review, ReviewSchema
from tests.upstream_fixture import Upstream


@pytest.fixture(autouse=True)
def pages_of_20(upstream: Upstream) -> Upstream:
    """Twenty rows per page, so a list of 20 reviews is one request."""
    upstream.config(page_size=20)
    return upstream


# -- forward: review.book ----------------------------------------------------------------------


def test_a_relation_is_fetched_on_first_access_and_cached(upstream: Upstream) -> None:
    review = Review.objects.get(pk=3)
    with assert_num_requests(1):
        book = review.book
        assert review.book is book
    assert isinstance(book, Novel) and book.pk == review.book_id == 3
    assert upstream.requests()[-1]["path"] == "/api/books/3/"


def test_twenty_reviews_with_their_books_cost_21_requests_without_prefetch(
    upstream: Upstream,
) -> None:
    with assert_num_requests(21):
        titles = [r.book.title for r in Review.objects.filter(pk__lte=20)]
    assert titles == [f"Book {i:02d}" for i in range(1, 21)]


@pytest.mark.parametrize("method", ["prefetch_related", "select_related"])
def test_twenty_reviews_with_their_books_cost_2_requests_with_prefetch(
    upstream: Upstream, method: str
) -> None:
    with assert_num_requests(2):
        reviews = list(getattr(Review.objects.filter(pk__lte=20), method)("book"))
        titles = [r.book.title for r in reviews]
    assert titles == [f"Book {i:02d}" for i in range(1, 21)]
    batch = upstream.requests()[-1]
    assert batch["path"] == "/api/books/"
    assert batch["query"].startswith("id__in=1%2C2%2C3")


async def test_prefetch_in_async_code(upstream: Upstream) -> None:
    with assert_num_requests(2):
        reviews = await Review.objects.filter(pk__lte=20).prefetch_related("book").aall()
    assert [r.book.pk for r in reviews] == list(range(1, 21))
    with assert_num_requests(2):
        streamed = [r async for r in Review.objects.filter(pk__lte=5).select_related("book")]
    assert streamed[4].book.title == "Book 05"
    with assert_num_requests(2):
        review = await Review.objects.prefetch_related("book").aget(pk=7)
    assert review.book.pk == 7


async def test_an_unloaded_relation_refuses_to_block_the_event_loop(upstream: Upstream) -> None:
    review = await Review.objects.aget(pk=2)
    assert review.book_id == 2  # the key always works
    with assert_num_requests(0), pytest.raises(SynchronousOnlyOperation) as info:
        review.book  # noqa: B018
    assert "select_related('book')" in str(info.value)
    assert "prefetch_related('book')" in str(info.value)


def test_nested_prefetch_goes_one_batch_per_level(upstream: Upstream) -> None:
    with assert_num_requests(3):
        reviews = list(Review.objects.filter(pk__lte=10).prefetch_related("book__writer"))
        writers = [r.book.writer.name for r in reviews]
    assert writers == [["Ada", "Bob", "Cy", "Dee", "Eve"][(i % 5)] for i in range(1, 11)]


def test_prefetch_batches_stay_under_the_url_budget(upstream: Upstream) -> None:
    upstream.config(max_page_size=1000)
    reviews = [Review(id=j, book_id=b, stars=1) for j, b in enumerate(range(1, 601), 1)]
    for review in reviews:
        review._adding = False
    # Four id__in batches (182, 150, 150 and 118 ids), each one page as large as its batch.
    with assert_num_requests(4) as captured:
        prefetch_related_objects(reviews, "book")
    assert all(len(r.url) < 2000 for r in captured.requests)
    assert [r.book.pk for r in reviews[:25]] == list(range(1, 26))
    with pytest.raises(Novel.DoesNotExist):
        reviews[25].book  # noqa: B018


def test_a_key_the_api_does_not_know_raises_does_not_exist(upstream: Upstream) -> None:
    dangling = Review(id=99, book_id=999, stars=1)
    prefetch_related_objects([dangling], "book")
    with assert_num_requests(0), pytest.raises(Novel.DoesNotExist, match="999"):
        dangling.book  # noqa: B018
    with pytest.raises(Novel.DoesNotExist):
        Review(book_id=998, stars=1).book  # noqa: B018


async def test_aprefetch_related_objects(upstream: Upstream) -> None:
    reviews = await Review.objects.filter(pk__in=[1, 2]).aall()
    with assert_num_requests(1):
        await aprefetch_related_objects(reviews, "book")
    assert [r.book.pk for r in reviews] == [1, 2]


def test_assigning_a_relation_sets_the_key_and_save_sends_it(upstream: Upstream) -> None:
    review = Review.objects.get(pk=1)
    other = Novel.objects.get(pk=9)
    review.book = other
    assert review.book_id == 9 and review.book is other
    review.save(update_fields=["book_id"])
    sent = upstream.requests()[-1]
    assert sent["method"] == "PATCH" and json.loads(sent["body"]) == {"book": 9}
    assert Review.objects.get(pk=1).book_id == 9
    with pytest.raises(ValueError, match='must be a "Novel" instance'):
        review.book = Author(id=1, name="Ada")  # type: ignore[assignment]


# -- filters and creation by relation -----------------------------------------------------------


def test_filter_by_object_key_or_list(upstream: Upstream) -> None:
    novel = Novel.objects.get(pk=3)
    by_object = [r.pk for r in Review.objects.filter(book=novel)]
    assert by_object == [3, 23]
    assert [r.pk for r in Review.objects.filter(book_id=3)] == by_object
    assert [r.pk for r in Review.objects.filter(book__pk=3)] == by_object
    assert [r.pk for r in Review.objects.filter(book__in=[novel, 4])] == [3, 4, 23, 24]
    assert upstream.requests()[-1]["query"].startswith("book__in=3%2C4")


def test_lookups_across_a_relation_are_refused_before_any_request(upstream: Upstream) -> None:
    with assert_num_requests(0):
        with pytest.raises(exceptions.NotSupportedError, match="across the relation 'book'"):
            Review.objects.filter(book__title="Book 01")
        with pytest.raises(exceptions.NotSupportedError, match="reverse relation 'reviews'"):
            Novel.objects.filter(reviews__stars=5)
        with pytest.raises(ValueError, match='must be a "Novel" instance'):
            Review.objects.filter(book=Author(id=1, name="Ada"))
        with pytest.raises(ValueError, match="unsaved"):
            Review.objects.filter(book=Novel(title="new", year=2000))
        with pytest.raises(ValueError, match="invalid parameter to prefetch_related"):
            Review.objects.prefetch_related("nope")
        with pytest.raises(ValueError, match="invalid parameter to select_related"):
            Novel.objects.select_related("reviews")


def test_create_with_an_object_sends_its_key(upstream: Upstream) -> None:
    novel = Novel.objects.get(pk=5)
    review = Review.objects.create(book=novel, stars=4, text="Great")
    sent = upstream.requests()[-1]
    assert sent["method"] == "POST" and json.loads(sent["body"])["book"] == 5
    assert review.pk == 41 and review.book is novel
    child = novel.reviews.create(stars=2, text="Meh")
    assert child.book_id == 5 and novel.reviews.count() == 4


async def test_create_through_the_reverse_manager_async(upstream: Upstream) -> None:
    novel = await Novel.objects.aget(pk=6)
    review = await novel.reviews.acreate(stars=5, text="Async")
    assert review.book_id == 6
    assert await novel.reviews.acount() == 3


# -- reverse: book.reviews ----------------------------------------------------------------------


def test_the_reverse_accessor_filters_by_the_key(upstream: Upstream) -> None:
    novel = Novel.objects.get(pk=2)
    with assert_num_requests(1):
        assert [r.pk for r in novel.reviews.all()] == [2, 22]
    assert upstream.requests()[-1]["query"].startswith("book=2")
    assert novel.reviews.count() == 2
    assert [r.pk for r in novel.reviews.filter(pk__gt=10)] == [22]
    assert [n.pk for n in Author.objects.get(pk=1).novels.all()] == [5, 10, 15, 20, 25]


@pytest.mark.parametrize("colour", ["sync", "async"])
def test_prefetching_a_reverse_relation_is_one_batched_listing(
    upstream: Upstream, colour: str
) -> None:
    query = Novel.objects.filter(pk__lte=3).prefetch_related("reviews")
    with assert_num_requests(2):
        novels = list(query) if colour == "sync" else asyncio.run(query.aall())
    with assert_num_requests(0):
        assert [[r.pk for r in n.reviews.all()] for n in novels] == [[1, 21], [2, 22], [3, 23]]
        assert [n.reviews.count() for n in novels] == [2, 2, 2]
        assert novels[0].reviews.all()[0].book is novels[0]
    assert upstream.requests()[-1]["query"].startswith("book__in=1%2C2%2C3")


# -- a RemoteForeignKey on a local Django model -------------------------------------------------


@pytest.mark.django_db
def test_a_local_model_fetches_and_caches_its_remote_object(upstream: Upstream) -> None:
    order = Order.objects.create(book=Novel.objects.get(pk=4), quantity=2)
    assert order.book_id == 4
    fresh = Order.objects.get(pk=order.pk)
    with assert_num_requests(1):
        assert fresh.book.title == "Book 04"
        assert fresh.book.pk == 4
    assert list(Order.objects.filter(book=Novel.objects.get(pk=4))) == [order]
    assert list(Order.objects.filter(book_id=4)) == [order]


@pytest.mark.django_db
def test_prefetching_from_a_local_model_is_one_batched_request(upstream: Upstream) -> None:
    Order.objects.bulk_create([Order(book_id=b) for b in (1, 2, 2, 3, 7)])
    with assert_num_requests(1):
        orders = list(Order.objects.prefetch_related("book"))
        assert [o.book.pk for o in orders] == [1, 2, 2, 3, 7]


@pytest.mark.django_db(transaction=True)
async def test_prefetching_from_a_local_model_in_async_iteration(upstream: Upstream) -> None:
    await Order.objects.abulk_create([Order(book_id=b) for b in (5, 6)])
    with assert_num_requests(1):
        orders = [o async for o in Order.objects.prefetch_related("book")]
    assert [o.book.title for o in orders] == ["Book 05", "Book 06"]
    unloaded = await Order.objects.aget(book_id=5)
    with pytest.raises(SynchronousOnlyOperation, match="prefetch_related"):
        unloaded.book  # noqa: B018


@pytest.mark.django_db
def test_the_reverse_accessor_of_a_local_relation_is_a_local_queryset(upstream: Upstream) -> None:
    novel = Novel.objects.get(pk=8)
    Order.objects.create(book=novel, quantity=1)
    Order.objects.create(book=novel, quantity=3)
    with assert_num_requests(0):
        assert sorted(o.quantity for o in novel.orders.all()) == [1, 3]


@pytest.mark.django_db
def test_migrations_see_a_plain_column_of_the_pk_type() -> None:
    out = io.StringIO()
    call_command("makemigrations", "localapp", dry_run=True, verbosity=3, stdout=out)
    text = out.getvalue()
    assert "('book', models.BigIntegerField(db_column='book_id', db_index=True))" in text
    assert "django_api_orm" not in text


# -- a relation's name stands for its key everywhere a field is named -------------------------


def test_order_values_update_and_save_by_relation_name(upstream: Upstream) -> None:
    assert [r.book_id for r in Review.objects.filter(pk__in=[1, 30]).order_by("-book")] == [10, 1]
    assert list(Review.objects.filter(pk=1).values_list("book", flat=True)) == [1]
    assert Review.objects.filter(pk__in=[1, 2]).update(book=Novel.objects.get(pk=7)) == 2
    assert [r.book_id for r in Review.objects.filter(pk__in=[1, 2])] == [7, 7]
    review = Review.objects.get(pk=3)
    review.book = Novel.objects.get(pk=8)
    review.save(update_fields=["book"])
    assert json.loads(upstream.requests()[-1]["body"]) == {"book": 8}
    review.book_id = 9
    assert Review.objects.bulk_update([review], ["book"]) == 1
    assert Review.objects.get(pk=3).book_id == 9


def test_an_async_model_fetches_its_relation_in_sync_code(upstream: Upstream) -> None:
    from pydantic import BaseModel, ConfigDict, Field

    from django_api_orm import AsyncAPIModel, RemoteForeignKey

    class ASchema(BaseModel):
        model_config = ConfigDict(populate_by_name=True)
        id: int | None = None
        book_id: int = Field(alias="book")
        stars: int

    class AsyncReview(AsyncAPIModel):
        _schema_class = ASchema
        _endpoint = "reviews/"
        book = RemoteForeignKey(Novel, related_name="+")

    review = AsyncReview(id=1, book_id=4, stars=1)
    assert review.book.title == "Book 04"
    prefetch_related_objects([AsyncReview(id=2, book_id=5, stars=1)], "book")


def test_objects_already_loaded_are_not_asked_for_again(upstream: Upstream) -> None:
    with assert_num_requests(2):  # the books, their reviews; each review's book is known
        novels = list(Novel.objects.filter(pk__lte=2).prefetch_related("reviews__book"))
    assert [r.book.pk for n in novels for r in n.reviews.all()] == [1, 1, 2, 2]


# -- what a service declares: expansion, lookups across relations ------------------------------


@pytest.fixture
def expanding(upstream: Upstream) -> Iterator[Upstream]:
    """The upstream nests a review's book with ``?expand=book`` (as drf-flex-fields)."""
    with override_settings(
        API_ORM_SERVICES={"default": service_settings(upstream, EXPAND_PARAM="expand")}
    ):
        yield upstream


@pytest.mark.parametrize("colour", ["sync", "async"])
def test_select_related_uses_the_expansion_parameter(expanding: Upstream, colour: str) -> None:
    query = Review.objects.filter(pk__lte=20).select_related("book")
    with assert_num_requests(1):
        reviews = list(query) if colour == "sync" else asyncio.run(query.aall())
    with assert_num_requests(0):
        assert [r.book.title for r in reviews] == [f"Book {i:02d}" for i in range(1, 21)]
    assert reviews[0].book_id == 1 and isinstance(reviews[0].book, Novel)
    assert "expand=book" in expanding.requests()[-1]["query"]


def test_rows_the_api_did_not_expand_are_loaded_in_one_batch(expanding: Upstream) -> None:
    ignored = service_settings(expanding, EXPAND_PARAM="include")  # this API ignores it
    with override_settings(API_ORM_SERVICES={"default": ignored}), assert_num_requests(2):
        reviews = list(Review.objects.filter(pk__lte=5).select_related("book"))
        assert [r.book.pk for r in reviews] == [1, 2, 3, 4, 5]
    with assert_num_requests(2):  # the nested level (writer) is a batch
        reviews = list(Review.objects.filter(pk__lte=5).select_related("book__writer"))
        assert [r.book.writer.name for r in reviews] == ["Bob", "Cy", "Dee", "Eve", "Ada"]


def test_lookups_across_relations_are_sent_only_where_the_api_declares_them(
    upstream: Upstream,
) -> None:
    with override_settings(
        API_ORM_SERVICES={"default": service_settings(upstream, RELATED_LOOKUPS=True)}
    ):
        found = Review.objects.filter(book__title="Book 03")
        assert [r.pk for r in found] == [3, 23]
        assert "book__title=Book+03" in upstream.requests()[-1]["query"]
        assert "not checked against the rows: params(book__title='Book 03')" in found.explain()
        with pytest.raises(exceptions.NotSupportedError, match="trust_api"):
            found.delete()  # the rows cannot be checked: writes need trust_api()
        assert upstream.requests(path_prefix="/api/reviews/3/") == []
        with pytest.raises(exceptions.NotSupportedError, match="across the relation"):
            Review.objects.exclude(book__title="Book 03")


def test_a_relation_is_checked_when_its_model_is_defined() -> None:
    from django.core.exceptions import ImproperlyConfigured
    from pydantic import BaseModel

    from django_api_orm import APIModel, RemoteForeignKey

    class NoKey(BaseModel):
        id: int | None = None
        stars: int

    with pytest.raises(ImproperlyConfigured, match="schema field 'book_id'"):

        class Keyless(APIModel):
            _schema_class = NoKey
            _endpoint = "reviews/"
            book = RemoteForeignKey(Novel, related_name="+")

    class Both(BaseModel):
        id: int | None = None
        book: int
        book_id: int

    with pytest.raises(ImproperlyConfigured, match="cannot take the name of a schema field"):

        class Clashing(APIModel):
            _schema_class = Both
            _endpoint = "reviews/"
            book = RemoteForeignKey(Novel, related_name="+")

    with pytest.raises(ImproperlyConfigured, match="related_name 'title' clashes"):

        class Shadowing(APIModel):
            _schema_class = ReviewSchema
            _endpoint = "reviews/"
            book = RemoteForeignKey(Novel, related_name="title")

    with pytest.raises(TypeError, match="must be a remote model class"):
        RemoteForeignKey(Order)  # type: ignore[arg-type]
