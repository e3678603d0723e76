from __future__ import annotations

from django.urls import path

from bulu.workflow import views

app_name = "workflow"

urlpatterns = [
    path("mine/", views.mine, name="mine"),
    path("todo/", views.todo, name="todo"),
    path("todo/approve/", views.bulk_approve, name="bulk_approve"),
    path("overview/", views.overview, name="overview"),
    path("requests/<int:pk>/", views.detail, name="detail"),
    path("requests/<int:pk>/decide/", views.decide, name="decide"),
    path("requests/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("messages/", views.notifications, name="notifications"),
    path("notices/", views.windows, name="windows"),
    path("notices/new/", views.window_edit, name="window_create"),
    path("notices/<int:pk>/", views.window_edit, name="window_edit"),
    path("owners-missing/", views.owners_missing, name="owners_missing"),
]
