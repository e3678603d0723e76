from __future__ import annotations

from django.urls import path

from stats import views

app_name = "stats"
urlpatterns = [
    path("", views.page, name="page"),
    path("<slug:key>.xlsx", views.table_xlsx, name="xlsx"),
]
