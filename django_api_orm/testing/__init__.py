"""Test kit (see issue 4)."""
