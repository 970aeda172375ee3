"""The URLs of the wsgisession example site."""

from __future__ import annotations

from django.urls import path  # type: ignore[import-untyped]

from . import views

urlpatterns = [
    path("", views.index, name="index"),
    path("reset", views.reset, name="reset"),
]
