"""``manage.py api_orm_check``."""

__all__: list[str] = []
