# CreditRecord moved to the credits app, which took over its table `imports_creditrecord`:
# removed from this app's state only, after every foreign key to it points at the new app.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("credits", "0001_initial"),
        ("exports", "0002_creditrecord_moved"),
        ("imports", "0004_roster_entries"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="CreditRecord")],
            database_operations=[],
        ),
    ]
