"""The example upstream: a small books API in the Django REST framework dialect.

A standalone Django project built with django-ninja and SQLite. It runs in its own process
(``uvicorn upstream.asgi:application`` from ``example_project/``) and plays the remote
service that ``bookshop`` reaches through django-api-orm.
"""
