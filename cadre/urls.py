from __future__ import annotations

from django.urls import path

from cadre import views

app_name = "cadre"

urlpatterns = [
    path("", views.start, name="start"),
    path("self/", views.self_report, name="self_new"),
    path("self/<int:pk>/", views.self_report, name="self_edit"),
    path("lists/new/", views.list_create, name="list_create"),
    path("lists/<int:pk>/", views.list_edit, name="list_edit"),
    path("lists/template/<str:unit_kind>.xlsx", views.list_template_download, name="template"),
    path("<int:pk>/edit/", views.request_edit, name="edit"),
    path("<int:pk>/submit/", views.request_submit, name="submit"),
    path("evidence/<int:pk>/", views.evidence_file, name="evidence"),
    path("unsubmitted/", views.unsubmitted, name="unsubmitted"),
]
