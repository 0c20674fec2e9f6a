"""Seed 000 ("Async Support") snippets, adapted to the local upstream: they must keep working.

The seed's users become the upstream's books (``name`` → ``title``, ``email`` → ``author``,
``active`` → ``in_stock``); the endpoints keep the seed's absolute ``/api/...`` style and the
models are bound to explicit clients with ``register_async_models`` / ``register_models``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pydantic
import pytest

from django_api_orm import (
    APIModel,
    AsyncAPIModel,
    AsyncServiceClient,
    ServiceClient,
    register_async_models,
    register_models,
)
from django_api_orm.exceptions import DoesNotExist, MultipleObjectsReturned
from tests.upstream_fixture import Upstream


class UserSchema(pydantic.BaseModel):
    id: int | None = None
    title: str
    year: int = 2000
    in_stock: bool = True
    author: str = ""
    isbn: str | None = None


class User(AsyncAPIModel):
    _schema_class = UserSchema
    _endpoint = "/api/books/"


class Post(AsyncAPIModel):
    _schema_class = UserSchema
    _endpoint = "/api/plain-books/"


class Comment(AsyncAPIModel):
    _schema_class = UserSchema
    _endpoint = "/api/private/books/"


class SyncUser(APIModel):
    _schema_class = UserSchema
    _endpoint = "/api/books/"


@pytest.fixture
async def client(upstream: Upstream) -> AsyncIterator[AsyncServiceClient]:
    """The seed's ``async with AsyncServiceClient(...) as client: register_async_models(...)``."""
    async with AsyncServiceClient(
        base_url=upstream.url, auth_token="test-token", retry_delay=0
    ) as client:
        register_async_models(client, User, Post, Comment)
        yield client


def requests(upstream: Upstream) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in upstream.requests()]


def last_body(upstream: Upstream) -> Any:
    return json.loads(upstream.requests()[-1]["body"])


# -- "Async vs Sync" ---------------------------------------------------------------------------


def test_sync_style_with_service_client(upstream: Upstream) -> None:
    with ServiceClient(base_url=upstream.url) as client:
        register_models(client, SyncUser)
        user = SyncUser.objects.get(id=1)  # Blocks until complete
    assert (user.id, user.title) == (1, "Book 01")
    assert requests(upstream) == [("GET", "/api/books/1/")]


async def test_async_style_with_async_service_client(upstream: Upstream) -> None:
    async with AsyncServiceClient(base_url=upstream.url) as client:
        register_async_models(client, User)
        user = await User.objects.get(id=1)  # Non-blocking, awaitable
    assert (user.id, user.title) == (1, "Book 01")
    assert requests(upstream) == [("GET", "/api/books/1/")]


async def test_async_client_with_the_seeds_options(upstream: Upstream) -> None:
    async with AsyncServiceClient(
        base_url=upstream.url,
        auth_token="test-token",
        timeout=30.0,
        http2=True,  # Enable HTTP/2 (plain http here, so httpx speaks HTTP/1.1)
        max_connections=100,
        max_keepalive_connections=20,
    ) as client:
        register_async_models(client, Comment)
        assert await Comment.objects.count() == 25
    [entry] = upstream.requests()
    assert entry["path"] == "/api/private/books/"
    assert entry["headers"]["authorization"] == "Bearer test-token"


async def test_register_several_models(upstream: Upstream) -> None:
    async with AsyncServiceClient(base_url=upstream.url, auth_token="test-token") as client:
        register_async_models(client, User, Post)
        assert (await User.objects.get(id=2)).id == 2
        assert (await Post.objects.get(id=3)).id == 3
    assert requests(upstream) == [("GET", "/api/books/2/"), ("GET", "/api/plain-books/3/")]


# -- "Creating Instances" ------------------------------------------------------------------------


async def test_create(client: AsyncServiceClient, upstream: Upstream) -> None:
    user = await User.objects.create(title="Alice Smith", author="alice@example.com")
    assert user.id == 26
    assert requests(upstream) == [("POST", "/api/books/")]
    assert (await User.objects.get(id=26)).author == "alice@example.com"


async def test_get_or_create(client: AsyncServiceClient, upstream: Upstream) -> None:
    user, created = await User.objects.get_or_create(
        author="alice@example.com", defaults={"title": "Alice Smith"}
    )
    assert (user.id, user.title, created) == (26, "Alice Smith", True)
    again, created = await User.objects.get_or_create(
        author="alice@example.com", defaults={"title": "Alice Smith"}
    )
    assert (again.id, created) == (26, False)
    assert again == user


async def test_update_or_create(client: AsyncServiceClient, upstream: Upstream) -> None:
    await User.objects.create(title="Alice Smith", author="alice@example.com")
    user, created = await User.objects.update_or_create(
        author="alice@example.com", defaults={"title": "Alice Updated"}
    )
    assert (user.id, user.title, created) == (26, "Alice Updated", False)
    assert requests(upstream)[-1] == ("PATCH", "/api/books/26/")
    assert last_body(upstream) == {"title": "Alice Updated"}


async def test_bulk_create_with_dicts(client: AsyncServiceClient, upstream: Upstream) -> None:
    users = await User.objects.bulk_create(
        [
            {"title": "Bob", "author": "bob@example.com"},
            {"title": "Charlie", "author": "charlie@example.com"},
        ]
    )
    assert [u.title for u in users] == ["Bob", "Charlie"]
    assert sorted(u.id for u in users) == [26, 27]
    assert await User.objects.count() == 27


# -- "Retrieving Instances" ------------------------------------------------------------------------


async def test_retrieving(client: AsyncServiceClient, upstream: Upstream) -> None:
    user = await User.objects.get(id=1)
    first_user = await User.objects.first()
    last_user = await User.objects.last()
    user_count = await User.objects.count()
    has_users = await User.objects.exists()
    assert (user.id, first_user.id, last_user.id) == (1, 1, 25)  # type: ignore[union-attr]
    assert (user_count, has_users) == (25, True)
    assert len(upstream.requests()) == 5


# -- "Updating", "Deleting", "Refreshing" ----------------------------------------------------------


async def test_updating(client: AsyncServiceClient, upstream: Upstream) -> None:
    user = await User.objects.get(id=1)
    user.title = "New Name"
    await user.save()
    assert requests(upstream)[-1] == ("PATCH", "/api/books/1/")
    # Partial update
    user.author = "newemail@example.com"
    await user.save(update_fields=["author"])
    assert requests(upstream)[-1] == ("PATCH", "/api/books/1/")
    assert last_body(upstream) == {"author": "newemail@example.com"}
    fresh = await User.objects.get(id=1)
    assert (fresh.title, fresh.author) == ("New Name", "newemail@example.com")


async def test_deleting(client: AsyncServiceClient, upstream: Upstream) -> None:
    user = await User.objects.get(id=1)
    await user.delete()
    assert requests(upstream)[-1] == ("DELETE", "/api/books/1/")
    with pytest.raises(DoesNotExist):
        await User.objects.get(id=1)


async def test_refreshing(client: AsyncServiceClient, upstream: Upstream) -> None:
    user = await User.objects.get(id=1)
    other = await User.objects.get(id=1)
    other.title = "Changed elsewhere"
    await other.save()
    # ... some time passes ...
    await user.refresh_from_api()
    assert user.title == "Changed elsewhere"
    assert requests(upstream)[-1] == ("GET", "/api/books/1/")


# -- "Async QuerySets" -----------------------------------------------------------------------------


async def test_async_iteration(client: AsyncServiceClient, upstream: Upstream) -> None:
    names = []
    async for user in User.objects.filter(in_stock=True):
        names.append(f"{user.title} - {user.author}")
    assert len(names) == 12
    assert names[0] == "Book 02 - Cy"
    processed = []

    async def process_user(user: User) -> None:
        await asyncio.sleep(0)
        processed.append(user.id)

    async for user in User.objects.all():
        await process_user(user)
    assert processed == list(range(1, 26))


async def test_converting_to_list(client: AsyncServiceClient, upstream: Upstream) -> None:
    # Await to get list
    users = await User.objects.filter(in_stock=True)._fetch()
    assert [u.id for u in users] == list(range(2, 25, 2))
    # Or iterate to build list
    users = []
    async for user in User.objects.all():
        users.append(user)
    assert len(users) == 25
    # Or use list comprehension
    users = [user async for user in User.objects.all()]
    assert len(users) == 25


async def test_value_extraction(client: AsyncServiceClient, upstream: Upstream) -> None:
    user_data = await User.objects.all().values("id", "title")
    assert user_data[:2] == [{"id": 1, "title": "Book 01"}, {"id": 2, "title": "Book 02"}]
    assert len(user_data) == 25
    user_ids = await User.objects.all().values_list("id", flat=True)
    assert user_ids == list(range(1, 26))


# -- "Concurrent Operations" -----------------------------------------------------------------------


async def test_gather(client: AsyncServiceClient, upstream: Upstream) -> None:
    # Fetch multiple users concurrently
    user1, user2, user3 = await asyncio.gather(
        User.objects.get(id=1), User.objects.get(id=2), User.objects.get(id=3)
    )
    assert (user1.id, user2.id, user3.id) == (1, 2, 3)
    # Get counts from multiple models
    user_count, post_count, comment_count = await asyncio.gather(
        User.objects.count(), Post.objects.count(), Comment.objects.count()
    )
    assert (user_count, post_count, comment_count) == (25, 25, 25)
    # Create multiple instances concurrently
    users = await asyncio.gather(
        User.objects.create(title="Alice", author="alice@example.com"),
        User.objects.create(title="Bob", author="bob@example.com"),
        User.objects.create(title="Charlie", author="charlie@example.com"),
    )
    assert [u.title for u in users] == ["Alice", "Bob", "Charlie"]
    assert sorted(u.id for u in users) == [26, 27, 28]


async def test_create_task(client: AsyncServiceClient, upstream: Upstream) -> None:
    task1 = asyncio.create_task(User.objects.get(id=1))
    task2 = asyncio.create_task(Post.objects.filter(in_stock=True).count())
    # Do other work...
    await asyncio.sleep(0)
    user = await task1
    post_count = await task2
    assert (user.id, post_count) == (1, 12)


async def test_batch_processing_with_slices(client: AsyncServiceClient, upstream: Upstream) -> None:
    processed: list[int] = []

    async def process_user(user: User) -> None:
        await asyncio.sleep(0.001)  # Simulate work
        processed.append(user.id)  # type: ignore[arg-type]

    batch_size = 10
    offset = 0
    batches = 0
    while True:
        users = []
        async for user in User.objects.all()[offset : offset + batch_size]:
            users.append(user)
        if not users:
            break
        batches += 1
        await asyncio.gather(*[process_user(user) for user in users])
        offset += batch_size
    assert batches == 3
    assert sorted(processed) == list(range(1, 26))


# -- "Error Handling" ------------------------------------------------------------------------------


async def test_error_handling(client: AsyncServiceClient, upstream: Upstream) -> None:
    outcome = []
    try:
        await User.objects.get(author="nonexistent@example.com")
    except DoesNotExist:
        outcome.append("User not found")
    try:
        await User.objects.get(author="Ada")  # five "admins"
    except MultipleObjectsReturned:
        outcome.append("Multiple admins found")
    assert outcome == ["User not found", "Multiple admins found"]


async def test_model_specific_exceptions_are_the_seeds_exceptions(
    client: AsyncServiceClient, upstream: Upstream
) -> None:
    with pytest.raises(User.DoesNotExist):
        await User.objects.get(id=999)
    assert issubclass(User.DoesNotExist, DoesNotExist)
    assert issubclass(User.MultipleObjectsReturned, MultipleObjectsReturned)


# -- "Integration Examples" ------------------------------------------------------------------------


async def test_fastapi_style_dependency(upstream: Upstream) -> None:
    @contextlib.asynccontextmanager
    async def get_client() -> AsyncIterator[AsyncServiceClient]:
        """Dependency to provide async client."""
        async with AsyncServiceClient(base_url=upstream.url, auth_token="test-token") as client:
            register_async_models(client, User)
            yield client

    async def get_user(user_id: int) -> dict[str, Any]:
        async with get_client():
            user = await User.objects.get(id=user_id)
            return user.to_dict()

    async def list_users(active: bool = True) -> list[dict[str, Any]]:
        async with get_client():
            return [user.to_dict() async for user in User.objects.filter(in_stock=active)]

    assert (await get_user(4))["title"] == "Book 04"
    assert len(await list_users(active=False)) == 13


async def test_aiohttp_style_manual_enter_and_exit(upstream: Upstream) -> None:
    app: dict[str, Any] = {}
    app["client"] = AsyncServiceClient(base_url=upstream.url)
    await app["client"].__aenter__()
    register_async_models(app["client"], User)
    try:
        assert (await User.objects.get(id=5)).to_dict()["author"] == "Ada"
    finally:
        await app["client"].__aexit__(None, None, None)
    with pytest.raises(RuntimeError, match="closed"):
        await User.objects.get(id=5)


# -- "Complete Example" ----------------------------------------------------------------------------


async def main(base_url: str) -> None:
    async with AsyncServiceClient(base_url=base_url, auth_token="test-token", http2=True) as client:
        register_async_models(client, User)

        # Create users concurrently
        users = await asyncio.gather(
            User.objects.create(title="Alice", author="alice@example.com"),
            User.objects.create(title="Bob", author="bob@example.com"),
            User.objects.create(title="Charlie", author="charlie@example.com", in_stock=False),
        )
        print(f"Created {len(users)} users")

        # Query users
        print("\nActive users:")
        async for user in User.objects.filter(in_stock=True, year=2000):
            print(f"  {user.title} - {user.author}")

        # Get counts concurrently
        total, active = await asyncio.gather(
            User.objects.count(), User.objects.filter(in_stock=True).count()
        )
        print(f"\nTotal users: {total}, Active: {active}")

        # Update user
        user = await User.objects.get(id=users[0].id)
        user.author = "alice.updated@example.com"
        await user.save(update_fields=["author"])
        print(f"\nUpdated {user.title}'s email")

        # Delete user
        await user.delete()
        print(f"Deleted {user.title}")


def test_complete_example_runs_with_asyncio_run(
    upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(main(upstream.url))
    out = capsys.readouterr().out
    assert "Created 3 users" in out
    assert "  Alice - alice@example.com" in out
    assert "  Bob - bob@example.com" in out
    assert "Charlie" not in out.split("Active users:")[1].split("Total")[0]
    assert "Total users: 28, Active: 14" in out
    assert "Updated Alice's email" in out
    assert "Deleted Alice" in out
    methods = [m for m, _ in requests(upstream)]
    assert methods.count("POST") == 3
    assert methods.count("PATCH") == 1
    assert methods.count("DELETE") == 1
    patch = next(r for r in upstream.requests() if r["method"] == "PATCH")
    assert json.loads(patch["body"]) == {"author": "alice.updated@example.com"}
    # The server agrees: Alice is gone, Bob and Charlie remain.
    with ServiceClient(base_url=f"{upstream.url}/api/") as check:
        titles = [row["title"] for row in check.get("books/", {"year": 2000}).data["results"]]
    assert sorted(titles) == ["Bob", "Book 20", "Charlie"]


async def test_complete_example_in_a_running_loop(
    upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    await main(upstream.url)
    assert "Deleted Alice" in capsys.readouterr().out
