# The "Complete Example" of seed 000 ("Async Support"), verbatim: tests/test_standalone.py runs
# it in a subprocess without Django settings, with base_url pointed at a local users API.
import asyncio

from pydantic import BaseModel

from django_api_orm import AsyncAPIModel, AsyncServiceClient, register_async_models


class UserSchema(BaseModel):
    id: int | None = None
    name: str
    email: str
    active: bool = True


class User(AsyncAPIModel):
    _schema_class = UserSchema
    _endpoint = "/api/v1/users/"


async def main():
    async with AsyncServiceClient(
        base_url="https://api.example.com", auth_token="your-token-here", http2=True
    ) as client:
        register_async_models(client, User)

        # Create users concurrently
        users = await asyncio.gather(
            User.objects.create(name="Alice", email="alice@example.com"),
            User.objects.create(name="Bob", email="bob@example.com"),
            User.objects.create(name="Charlie", email="charlie@example.com"),
        )
        print(f"Created {len(users)} users")

        # Query users
        print("\nActive users:")
        async for user in User.objects.filter(active=True):
            print(f"  {user.name} - {user.email}")

        # Get counts concurrently
        total, active = await asyncio.gather(
            User.objects.count(), User.objects.filter(active=True).count()
        )
        print(f"\nTotal users: {total}, Active: {active}")

        # Update user
        user = await User.objects.get(id=users[0].id)
        user.email = "alice.updated@example.com"
        await user.save(update_fields=["email"])
        print(f"\nUpdated {user.name}'s email")

        # Delete user
        await user.delete()
        print(f"Deleted {user.name}")


if __name__ == "__main__":
    asyncio.run(main())
