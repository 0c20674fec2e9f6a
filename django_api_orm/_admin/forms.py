"""The admin's change form for a remote model: Django form fields from the schema, and the
API as the validator.

A :class:`APIModelForm` is valid once the API has accepted the write: it sends the POST or
PATCH while it validates (in ``_post_clean``, where a ModelForm validates its instance), so
the field errors of a 400 land on the form's fields and the admin shows the form again,
as it does for any invalid form.
"""

from __future__ import annotations

import enum
from types import SimpleNamespace
from typing import Any, ClassVar

import pydantic
from django import forms

from .. import exceptions

__all__ = ["APIModelForm", "form_for"]


class APIModelForm(forms.Form):
    """A form over some fields of a remote model that saves through the API."""

    _meta: ClassVar[SimpleNamespace]  # model, fields, labels, help_texts (as a ModelForm's)

    def __init__(self, *args: Any, instance: Any = None, **kwargs: Any) -> None:
        if instance is not None:
            initial = {name: _initial(getattr(instance, name)) for name in self._meta.fields}
            kwargs["initial"] = {**initial, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        self.instance = instance

    def _post_clean(self) -> None:
        if self.errors:
            return
        try:
            self.instance = self._write()
        except exceptions.ValidationError as error:
            self._add_api_errors(error.field_errors or {}, str(error))
        except pydantic.ValidationError as error:
            for problem in error.errors():
                self.add_error(self._field_of(str(problem["loc"][0])), problem["msg"])
        except exceptions.APIError as error:
            self.add_error(None, str(error))

    def _write(self) -> Any:
        model = self._meta.model
        values = {name: self.cleaned_data[name] for name in self.fields}
        if self.instance is None:
            return model._default_manager.create(**values)
        changed = [name for name in self.changed_data if name in values]
        for name in changed:
            setattr(self.instance, name, values[name])
        if changed:
            self.instance.save(update_fields=changed)
        return self.instance

    def _add_api_errors(self, field_errors: dict[str, Any], summary: str) -> None:
        placed = False
        for key, messages in field_errors.items():
            name = self._field_of(key)
            self.add_error(name, messages if isinstance(messages, list) else [str(messages)])
            placed = True
        if not placed:
            self.add_error(None, summary)

    def _field_of(self, key: str) -> str | None:
        """The form field an API error key (a field or its wire name) belongs to."""
        name = self._meta.model._meta.item_names.get(key, key)
        return name if name in self.fields else None

    def save_m2m(self) -> None:
        """Nothing: a remote model has no many-to-many fields."""

    def save(self, commit: bool = True) -> Any:
        """The saved object (the API wrote it when the form was validated)."""
        if self.errors:
            raise ValueError("The object could not be saved because the data didn't validate.")
        return self.instance


def _initial(value: Any) -> Any:
    """A form's initial value: an Enum member as its value (the wire's, the choice's key;
    ``str()`` of a ``(str, Enum)`` member is its name)."""
    return value.value if isinstance(value, enum.Enum) else value


def form_for(
    model: type[Any], base: type[APIModelForm], fields: dict[str, forms.Field]
) -> type[APIModelForm]:
    """A form class over ``fields`` of ``model``."""
    meta = SimpleNamespace(model=model, fields=list(fields), labels=None, help_texts=None)
    attrs: dict[str, Any] = {**fields, "_meta": meta, "__module__": model.__module__}
    return type(f"{model.__name__}AdminForm", (base,), attrs)
