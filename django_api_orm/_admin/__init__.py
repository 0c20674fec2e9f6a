"""The admin's parts (see :mod:`django_api_orm.admin`): Django fields for the schema, the
form, the changelist and the checks."""
