from __future__ import annotations

from django.urls import path

from collective import views

app_name = "collective"

urlpatterns = [
    path("new/", views.request_create, name="create"),
    path("<int:pk>/edit/", views.request_edit, name="edit"),
    path("<int:pk>/roster/", views.roster_upload, name="roster_upload"),
    path("<int:pk>/roster/status/", views.roster_status, name="roster_status"),
    path("<int:pk>/submit/", views.request_submit, name="submit"),
]
