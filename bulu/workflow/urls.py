from __future__ import annotations

from django.urls import path

from bulu.workflow import views

app_name = "workflow"

urlpatterns = [
    path("todo/", views.todo, name="todo"),
    path("todo/approve/", views.bulk_approve, name="bulk_approve"),
    path("overview/", views.overview, name="overview"),
    path("requests/<int:pk>/", views.detail, name="detail"),
    path("messages/", views.notifications, name="notifications"),
    path("notices/", views.windows, name="windows"),
    path("notices/new/", views.window_edit, name="window_create"),
    path("notices/<int:pk>/", views.window_edit, name="window_edit"),
]
