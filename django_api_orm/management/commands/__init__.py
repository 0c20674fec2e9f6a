"""``manage.py api_orm_check``."""
