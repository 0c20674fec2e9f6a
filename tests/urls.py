"""URLs of the test process (views under test are added by the tests that need them)."""

urlpatterns: list[object] = []
