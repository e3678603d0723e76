from __future__ import annotations

from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("roster/", views.roster_upload, name="roster_upload"),
    path("roster/template.xlsx", views.roster_template, name="roster_template"),
    path("roster/<int:pk>/", views.roster_detail, name="roster_detail"),
    path("roster/<int:pk>/status/", views.roster_status, name="roster_status"),
    path("roster/<int:pk>/annotated.xlsx", views.roster_annotated, name="roster_annotated"),
    path("roster/<int:pk>/retry/", views.roster_retry, name="roster_retry"),
]
