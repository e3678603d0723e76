"""The django-import-export resource for the bench model, columns named as in 附件4."""

from __future__ import annotations

from import_export import fields, resources, widgets

from bench.iebench.models import RosterRow


class RosterRowResource(resources.ModelResource):
    student_no = fields.Field(attribute="student_no", column_name="学号")
    name = fields.Field(attribute="name", column_name="姓名")
    start_date = fields.Field(
        attribute="start_date", column_name="开始时间", widget=widgets.DateWidget("%Y/%m/%d")
    )
    end_date = fields.Field(
        attribute="end_date", column_name="结束时间", widget=widgets.DateWidget("%Y/%m/%d")
    )
    content = fields.Field(attribute="content", column_name="内容")
    category = fields.Field(attribute="category", column_name="活动一级分类")
    subcategory = fields.Field(attribute="subcategory", column_name="活动二级分类")
    level = fields.Field(attribute="level", column_name="活动等级")
    award = fields.Field(
        attribute="award", column_name="奖项内容", widget=widgets.CharWidget(allow_blank=True)
    )
    credit_type = fields.Field(attribute="credit_type", column_name="学分类型")
    value = fields.Field(
        attribute="value", column_name="发放学分值", widget=widgets.DecimalWidget()
    )

    class Meta:
        model = RosterRow
        # "id" stays in: it is the default import id (absent from the file, so every row is new).
        fields = (
            "id",
            "student_no",
            "name",
            "start_date",
            "end_date",
            "content",
            "category",
            "subcategory",
            "level",
            "award",
            "credit_type",
            "value",
        )


class RosterRowBulkResource(RosterRowResource):
    """The same columns with the settings django-import-export 4 documents for speed.

    Its "Bulk imports" page: bulk mode (`bulk_create` instead of a `save()` per row), here with
    `batch_size = None` (one `bulk_create` of every row once all are read, which its docs offer
    and which was faster here than the default 1000), `force_init_instance` for a create-only
    import (no lookup of an existing instance per row) and `skip_diff` (no per-row diff against
    the database); `skip_html_diff` as well. `use_transactions` so the dry run really inserts
    and rolls back (a dry run uses a transaction whatever this says).
    """

    class Meta(RosterRowResource.Meta):
        use_bulk = True
        batch_size = None
        force_init_instance = True
        skip_diff = True
        skip_html_diff = True
        use_transactions = True
