"""A tiny, separate Django + DRF project used as the remote API in tests.

It runs in a subprocess under uvicorn (see ``tests/upstream_fixture.py``); never import its
models or views from the test process.
"""
