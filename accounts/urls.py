from __future__ import annotations

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("initial-passwords/", views.initial_passwords, name="initial_passwords"),
    path("registry/import/", views.registry_import, name="registry_import"),
    path(
        "registry/import/confirm/",
        views.registry_import_confirm,
        name="registry_import_confirm",
    ),
]
