from __future__ import annotations

from django.urls import path

from personal import views

app_name = "personal"

urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.request_create, name="create"),
    path("<int:pk>/", views.request_detail, name="detail"),
    path("<int:pk>/edit/", views.request_edit, name="edit"),
    path("<int:pk>/items/new/", views.item_edit, name="item_add"),
    path("<int:pk>/items/<int:item_pk>/", views.item_edit, name="item_edit"),
    path("<int:pk>/items/<int:item_pk>/delete/", views.item_delete, name="item_delete"),
    path("<int:pk>/items/<int:item_pk>/online/", views.item_online, name="item_online"),
    path(
        "<int:pk>/evidence/<int:evidence_pk>/delete/", views.evidence_delete, name="evidence_delete"
    ),
    path("evidence/<int:evidence_pk>/", views.evidence_file, name="evidence_file"),
    path("<int:pk>/submit/", views.request_submit, name="submit"),
]
