"""Remote models bound to the node servers' aliases (see conftest.py for their settings)."""

from __future__ import annotations

import pydantic

from django_api_orm import APIModel


class JsonServerBookSchema(pydantic.BaseModel):
    # json-server 1.0 keeps ids as strings: "7" for the seed's 7, random text for new rows.
    id: str | None = None
    title: str
    author: str
    year: int
    price: float


class JsonServerBook(APIModel):
    _schema_class = JsonServerBookSchema
    _endpoint = "books"
    _service = "json-server"


class FeathersBookSchema(pydantic.BaseModel):
    id: int | None = None
    title: str
    author: str
    year: int
    price: float


class FeathersBook(APIModel):
    _schema_class = FeathersBookSchema
    _endpoint = "books"
    _service = "feathers"
