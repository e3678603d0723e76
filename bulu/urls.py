from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from accounts import views as account_views
from bulu.workflow import views as workflow_views

admin.site.site_header = _("第二课堂积分补录 · 管理后台")
admin.site.site_title = _("积分补录管理")
admin.site.index_title = _("管理")

urlpatterns = [
    path("", workflow_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        account_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/", include("accounts.urls")),
    path("flow/", include("bulu.workflow.urls")),
    path("personal/", include("personal.urls")),
    path("collective/", include("collective.urls")),
    path("cadre/", include("cadre.urls")),
    path("imports/", include("imports.urls")),
    path("stats/", include("stats.urls")),
    path("exports/", include("exports.urls")),
    path("jobs/", include("bulu.jobs.urls")),
    path("", include("documents.urls")),
    path("admin/", admin.site.urls),
]

# The app's own error pages (bulu.errors); with DEBUG=1 Django shows its debug pages instead.
handler400 = "bulu.errors.bad_request"
handler403 = "bulu.errors.permission_denied"
handler404 = "bulu.errors.page_not_found"
handler500 = "bulu.errors.server_error"
