"""Leave room on the pages of the counters digest updates in every batch.

On PostgreSQL an update that changes no indexed column and finds room on
its row's page is a heap-only (HOT) update: no new entry in any of the
table's indexes. Full pages (the default fill factor of 100) leave no
room, and each upsert of a tag value then wrote an entry in all four of
its indexes. SQLite has no fill factor; nothing changes there.
"""

from django.db import migrations

TABLES = ("issues_tagvalue", "issues_hourlycount", "issues_issueuser")
FILL_FACTOR = 80


def _leave_room(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(
                f'ALTER TABLE "{table}" SET (fillfactor = {FILL_FACTOR})'
            )


def _fill_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f'ALTER TABLE "{table}" RESET (fillfactor)')


class Migration(migrations.Migration):
    dependencies = [("issues", "0004_similarity")]

    operations = [migrations.RunPython(_leave_room, _fill_pages)]
