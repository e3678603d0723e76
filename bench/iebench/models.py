"""The model a Django developer would import 附件4 into with django-import-export (bench only)."""

from __future__ import annotations

from django.db import models


class RosterRow(models.Model):
    student_no = models.CharField(max_length=32)
    name = models.CharField(max_length=64)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    content = models.CharField(max_length=200)
    category = models.CharField(max_length=64)
    subcategory = models.CharField(max_length=64)
    level = models.CharField(max_length=32)
    award = models.CharField(max_length=200, blank=True)
    credit_type = models.CharField(max_length=64)
    value = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)

    class Meta:
        app_label = "iebench"

    def __str__(self) -> str:
        return f"{self.student_no} {self.content}"
