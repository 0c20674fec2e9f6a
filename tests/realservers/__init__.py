"""Tests against real third-party REST servers (json-server, Feathers) run with node."""
