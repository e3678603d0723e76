from __future__ import annotations

from django.urls import path

from bulu.jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.failed, name="failed"),
    path("<int:pk>/retry/", views.retry, name="retry"),
]
