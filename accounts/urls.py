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
    path("roles/", views.roles, name="roles"),
    path("roles/propose/", views.role_change_propose_view, name="role_change_propose"),
    path(
        "roles/<int:pk>/confirm/",
        views.role_change_decide_view,
        {"decision": "confirm"},
        name="role_change_confirm",
    ),
    path(
        "roles/<int:pk>/refuse/",
        views.role_change_decide_view,
        {"decision": "refuse"},
        name="role_change_refuse",
    ),
]
