from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """Personal data kept only as long as needed (PIPL): anonymizing graduated students.

    It sits on top of every other app (it rewrites their copies of a student's name and 学号)
    and nothing imports it; it has no models of its own (`User.anonymized_at` is in accounts).
    """

    name = "privacy"
    verbose_name = _("个人信息保护")
