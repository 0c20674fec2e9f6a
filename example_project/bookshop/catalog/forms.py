"""The order form of the book page."""

from django import forms


class OrderForm(forms.Form):
    """How many copies to order."""

    quantity = forms.IntegerField(min_value=1, max_value=5, initial=1)
