"""URL routes of the upstream server."""

from django.urls import include, path, re_path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.register("books", views.BookViewSet, basename="book")
router.register("authors", views.AuthorViewSet, basename="author")
router.register("reviews", views.ReviewViewSet, basename="review")
router.register("narrow-books", views.NarrowBookViewSet, basename="narrow-book")
router.register("private/books", views.PrivateBookViewSet, basename="private-book")
router.register("plain-books", views.PlainBookViewSet, basename="plain-book")
router.register("lo-books", views.LimitOffsetBookViewSet, basename="lo-book")
router.register("cursor-books", views.CursorBookViewSet, basename="cursor-book")
router.register("header-books", views.HeaderBookViewSet, basename="header-book")

urlpatterns = [
    re_path(r"^api/tags/(?P<rest>.+)$", views.tag_echo),
    path("api/", include(router.urls)),
]

handler404 = "tests.upstream.views.not_found"
handler500 = "tests.upstream.views.server_error"
