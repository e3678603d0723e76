from __future__ import annotations

from django.urls import path

from documents import views

app_name = "documents"

urlpatterns = [
    path("flow/requests/<int:pk>/pdf/<slug:form_key>/", views.download, name="download"),
    path("flow/requests/<int:pk>/pdf-retry/", views.render_retry, name="render_retry"),
    path("profile/", views.profile, name="profile"),
    path("profile/signature/remove/", views.signature_remove, name="signature_remove"),
    path("profile/signature/<int:pk>.png", views.signature_image, name="signature_image"),
    path("documents/archive/", views.archive_page, name="archive"),
    path("verify/", views.verify, name="verify_form"),
    path("verify/<str:code>/", views.verify, name="verify"),
]
