"""HTML pages of the catalogue, mounted at ``/books/``."""

from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.book_list, name="book-list"),
    path("<int:book_id>/", views.book_detail, name="book-detail"),
    path("<int:book_id>/order/", views.place_order, name="place-order"),
]
