"""A default school calendar for the years the demo and the first rounds need.

The school's real dates vary by year; the center corrects them in the admin (学年) or with
`manage.py import_school_years`. Defaults: the year starts on 1 September, its teaching weeks end
on 30 June and the year on 15 July.
"""

from datetime import date

from django.db import migrations

FIRST_YEARS = range(2022, 2027)


def create_years(apps, schema_editor):
    SchoolYear = apps.get_model("workflow", "SchoolYear")
    for y in FIRST_YEARS:
        SchoolYear.objects.get_or_create(
            label=f"{y}-{y + 1}",
            defaults={
                "starts_on": date(y, 9, 1),
                "teaching_ends_on": date(y + 1, 6, 30),
                "ends_on": date(y + 1, 7, 15),
            },
        )


class Migration(migrations.Migration):
    dependencies = [("workflow", "0007_school_year")]

    operations = [migrations.RunPython(create_years, migrations.RunPython.noop)]
