from __future__ import annotations

from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("", views.desk, name="desk"),
    path("create/", views.create, name="create"),
    path("in-platform/", views.in_platform, name="in_platform"),
    path("batches/", views.batches, name="batches"),
    path("batches/<int:pk>/", views.batch_detail, name="batch"),
    path("batches/<int:pk>/download/", views.download, name="download"),
    path("batches/<int:pk>/files/<int:index>/", views.download_file, name="download_file"),
    path("batches/<int:pk>/confirm/", views.confirm, name="confirm"),
    path("batches/<int:pk>/cancel/", views.cancel, name="cancel"),
]
