"""Digest batches: what one batch of queued items writes, and what it must
not write twice."""

from __future__ import annotations

import datetime as dt

import orjson
from django.db import connection, transaction

from fixtrail.digest.batches import load_configs
from fixtrail.digest.issue_writes import create_issues
from fixtrail.digest.prepare import BatchResult, prepare
from fixtrail.events.models import (
    Attachment,
    Event,
    EventKey,
    ItemCount,
    ProcessingError,
    SessionCount,
    UserReport,
)
from fixtrail.events.storage import decompress_event
from fixtrail.ingest.items import encode_item
from fixtrail.issues.models import (
    HourlyCount,
    Issue,
    IssueHash,
    IssueUser,
    TagValue,
)
from fixtrail.projects.models import Project
from tests.digest.queueing import (
    T0,
    digest_queued,
    python_error,
    queue_bodies,
    queue_payloads,
)


def _tags(issue: Issue, key: str) -> dict[str, int]:
    return dict(
        TagValue.objects.filter(issue=issue, key=key).values_list("value", "times_seen")
    )


def test_it_groups_the_same_error_into_one_issue(project):
    queue_payloads(
        project,
        [
            python_error(value="invalid literal for int() with base 10: 'abc'"),
            python_error(value="invalid literal for int() with base 10: 'xyz'"),
        ],
    )

    result = digest_queued()

    issue = Issue.objects.get()
    assert (result.events_stored, result.issues_created) == (2, 1)
    assert result.new_issue_ids == [issue.pk]
    assert issue.times_seen == 2
    assert issue.short_id == 1
    assert issue.title == "ValueError: invalid literal for int() with base 10: 'abc'"
    assert issue.culprit == "shop.cart in parse_quantity"
    assert (issue.type, issue.platform, issue.level) == (
        "ValueError",
        "python",
        "error",
    )
    assert issue.metadata["function"] == "parse_quantity"
    assert (issue.first_seen, issue.last_seen) == (T0, T0)
    assert (issue.status, issue.substatus) == ("unresolved", "new")
    assert list(issue.activities.values_list("kind", flat=True)) == ["first_seen"]
    assert Event.objects.filter(issue=issue).count() == 2
    project.refresh_from_db()
    assert project.next_short_id == 2


def test_it_keeps_different_errors_apart(project):
    queue_payloads(
        project,
        [
            python_error(),
            python_error(type_="KeyError", value="'sku'"),
            python_error(function="add_item", context_line="    cart.add(sku)"),
        ],
    )

    digest_queued()

    assert sorted(Issue.objects.values_list("short_id", flat=True)) == [1, 2, 3]
    assert IssueHash.objects.count() == 3


def test_it_stores_the_normalized_event_compressed(project):
    [event_id] = queue_payloads(
        project, [python_error(release="shop@1.0", environment="production")]
    )

    digest_queued()

    event = Event.objects.get()
    data = decompress_event(event.data)
    assert event.event_id == event_id
    assert data["event_id"] == event_id
    assert data["exception"]["values"][0]["type"] == "ValueError"
    assert event.size == len(orjson.dumps(data))
    assert len(event.data) < event.size
    assert (event.release, event.environment) == ("shop@1.0", "production")
    assert (event.timestamp, event.received_at) == (T0, T0)
    assert event.get_data() == data


def test_it_ignores_a_redelivered_event(project):
    queue_payloads(project, [python_error()], event_id="a" * 32)
    digest_queued()
    queue_payloads(project, [python_error()], event_id="a" * 32)

    result = digest_queued()

    assert (result.events_stored, result.duplicates) == (0, 1)
    assert Event.objects.count() == 1
    assert Issue.objects.get().times_seen == 1
    assert HourlyCount.objects.get().count == 1
    assert EventKey.objects.count() == 1


def test_it_ignores_a_duplicate_within_one_batch(project):
    queue_payloads(project, [python_error(), python_error()], event_id="b" * 32)

    result = digest_queued()

    assert (result.events_stored, result.duplicates) == (1, 1)
    assert Issue.objects.get().times_seen == 1


def test_it_counts_tags_with_release_and_environment(project):
    queue_payloads(
        project,
        [
            python_error(release="1.0", environment="prod", tags={"region": "eu"}),
            python_error(release="1.1", environment="prod", tags={"region": "eu"}),
            python_error(release="1.1", environment="staging", tags=[["region", "us"]]),
        ],
    )

    digest_queued()

    issue = Issue.objects.get()
    assert _tags(issue, "release") == {"1.0": 1, "1.1": 2}
    assert _tags(issue, "environment") == {"prod": 2, "staging": 1}
    assert _tags(issue, "region") == {"eu": 2, "us": 1}
    assert (issue.first_release, issue.last_release) == ("1.0", "1.1")


def test_it_adds_to_the_counters_of_an_existing_issue(project):
    queue_payloads(project, [python_error(release="1.0")])
    digest_queued()
    later = T0 + dt.timedelta(hours=2)
    queue_payloads(
        project, [python_error(release="1.1"), python_error()], received_at=later
    )

    digest_queued(now=later)

    issue = Issue.objects.get()
    assert issue.times_seen == 3
    assert (issue.first_seen, issue.last_seen) == (T0, later)
    assert (issue.first_release, issue.last_release) == ("1.0", "1.1")
    assert _tags(issue, "release") == {"1.0": 1, "1.1": 1}
    release = TagValue.objects.get(issue=issue, key="release", value="1.0")
    assert (release.first_seen, release.last_seen) == (T0, T0)
    assert dict(HourlyCount.objects.values_list("hour", "count")) == {T0: 1, later: 2}
    assert Issue.objects.get().activities.count() == 1


def test_it_counts_distinct_users(project):
    queue_payloads(
        project,
        [
            python_error(user={"id": 7, "email": "ann@example.org"}),
            python_error(user={"id": "7"}),
            python_error(user={"email": "bo@example.org"}),
            python_error(),
        ],
    )
    digest_queued()
    queue_payloads(
        project, [python_error(user={"id": 7}), python_error(user={"id": 8})]
    )

    digest_queued()

    issue = Issue.objects.get()
    assert issue.user_count == 3
    users = dict(IssueUser.objects.values_list("identity", "email"))
    assert users["id:7"] == "ann@example.org"
    assert set(users) == {"id:7", "email:bo@example.org", "id:8"}


def test_it_records_a_processing_error_and_stores_the_rest(project):
    queue_payloads(project, [b"{not json", b"[1, 2]", python_error()])

    result = digest_queued()

    assert (result.events_stored, result.errors) == (1, 2)
    errors = sorted(ProcessingError.objects.values_list("error", "excerpt"))
    assert errors[0][0].startswith("InvalidEvent: an event must be a JSON object")
    assert errors[0][1] == "[1, 2]"
    assert errors[1][0].startswith("JSONDecodeError")
    assert errors[1][1] == "{not json"
    assert Event.objects.count() == 1


def _refuse_titles(title: str) -> None:
    """Make the database itself refuse events with this title, the way a
    column constraint or a full disk would refuse one row."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_event() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.title = '{title}' THEN RAISE EXCEPTION 'event refused'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_event BEFORE INSERT ON events_event "
                "FOR EACH ROW EXECUTE FUNCTION refuse_event()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER refuse_event BEFORE INSERT ON events_event "
                f"WHEN NEW.title = '{title}' "
                "BEGIN SELECT RAISE(ABORT, 'event refused'); END"
            )


def test_it_isolates_an_event_the_database_refuses(project):
    _refuse_titles("RuntimeError: poison")
    queue_payloads(
        project,
        [
            python_error(),
            python_error(type_="RuntimeError", value="poison", function="other"),
            python_error(type_="KeyError", value="'x'"),
        ],
    )

    result = digest_queued()

    assert (result.events_stored, result.errors) == (2, 1)
    [error] = ProcessingError.objects.all()
    assert "event refused" in error.error
    assert sorted(Issue.objects.values_list("type", flat=True)) == [
        "KeyError",
        "ValueError",
    ]


def test_it_counts_filtered_events_and_stores_none(project):
    Project.objects.filter(pk=project.pk).update(
        filter_releases="*-dev\n", filter_error_messages="*Timeout*"
    )
    queue_payloads(
        project,
        [
            python_error(release="2.0-dev"),
            python_error(release="2.0-dev"),
            python_error(type_="TimeoutError", value="read timed out"),
            python_error(release="2.0"),
        ],
    )

    result = digest_queued()

    assert (result.events_stored, result.filtered) == (1, 3)
    counts = dict(
        ItemCount.objects.filter(outcome="filtered").values_list("reason", "count")
    )
    assert counts == {"releases": 2, "error_messages": 1}
    assert ItemCount.objects.get(reason="releases").item_type == "error"
    assert Event.objects.count() == 1


def test_it_applies_project_fingerprint_rules(project):
    Project.objects.filter(pk=project.pk).update(
        fingerprint_rules="error.type:ValueError -> all-value-errors\n"
    )
    queue_payloads(
        project,
        [python_error(), python_error(function="other", context_line="x = 1")],
    )

    digest_queued()

    assert Issue.objects.count() == 1


def test_it_lets_an_sdk_fingerprint_override_grouping(project):
    queue_payloads(
        project,
        [
            python_error(fingerprint=["checkout"]),
            python_error(type_="KeyError", fingerprint=["checkout"]),
            python_error(),
        ],
    )

    digest_queued()

    assert sorted(Issue.objects.values_list("times_seen", flat=True)) == [1, 2]


def test_it_stores_attachments_once(project, settings):
    path = settings.FIXTRAIL_DATA_DIR / "attachments" / f"{project.pk}/e1/0-log.txt"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"line 1\nline 2\n")
    header = {
        "event_id": "e" * 32,
        "filename": "log.txt",
        "content_type": "text/plain",
        "attachment_type": "event.attachment",
        "path": f"{project.pk}/e1/0-log.txt",
    }
    queue_payloads(project, [b""], item_type="attachment", **header)
    digest_queued()
    queue_payloads(project, [b""], item_type="attachment", **header)

    result = digest_queued()

    attachment = Attachment.objects.get()
    assert result.attachments == 0
    assert attachment.event_id == "e" * 32
    assert (attachment.name, attachment.content_type) == ("log.txt", "text/plain")
    assert attachment.size == 14
    assert attachment.path == f"attachments/{project.pk}/e1/0-log.txt"


def test_it_keeps_the_first_upload_of_an_attachment(project, settings):
    # An envelope sent again with the same event id (an SDK retry, or
    # someone holding the DSN key) brings the same attachment in a new file.
    paths = [f"{project.pk}/{'e' * 32}/0-{random * 16}-log.txt" for random in "ab"]
    for path, content in zip(paths, (b"original", b"replacement"), strict=True):
        file = settings.FIXTRAIL_DATA_DIR / "attachments" / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(content)
        header = {
            "event_id": "e" * 32,
            "filename": "log.txt",
            "content_type": "text/plain",
            "attachment_type": "event.attachment",
            "path": path,
        }
        queue_payloads(project, [b""], item_type="attachment", **header)
        digest_queued()

    attachment = Attachment.objects.get()
    assert attachment.path == f"attachments/{paths[0]}"
    assert attachment.size == len(b"original")


def test_it_records_a_missing_attachment_file_as_an_error(project):
    queue_payloads(
        project,
        [b""],
        item_type="attachment",
        event_id="e" * 32,
        path=f"{project.pk}/gone/0-x",
    )

    digest_queued()

    assert Attachment.objects.count() == 0
    assert "is missing" in ProcessingError.objects.get().error


def test_it_stores_user_reports_and_feedback(project):
    report = {
        "event_id": "c" * 32,
        "name": "Ann",
        "email": "ann@example.org",
        "comments": "It broke when I paid.",
    }
    feedback = {
        "contexts": {
            "feedback": {
                "message": "The button does nothing",
                "contact_email": "bo@example.org",
                "name": "Bo",
                "associated_event_id": "d" * 32,
            }
        }
    }
    queue_bodies(
        [
            encode_item(
                {
                    "type": "user_report",
                    "project_id": project.pk,
                    "event_id": "c" * 32,
                    "received_at": T0.timestamp(),
                },
                orjson.dumps(report),
            ),
            encode_item(
                {
                    "type": "feedback",
                    "project_id": project.pk,
                    "event_id": "f" * 32,
                    "received_at": T0.timestamp(),
                },
                orjson.dumps(feedback),
            ),
        ]
    )

    result = digest_queued()

    assert result.reports == 2
    rows = sorted(
        UserReport.objects.values_list("event_id", "name", "email", "comments")
    )
    assert rows == [
        ("c" * 32, "Ann", "ann@example.org", "It broke when I paid."),
        ("d" * 32, "Bo", "bo@example.org", "The button does nothing"),
    ]


def test_it_adds_up_the_stats_ingest_sends(project, charlies_project):
    stats = {
        "interval_start": T0.timestamp() + 125,
        "interval_end": T0.timestamp() + 130,
        "outcomes": [
            {
                "project_id": project.pk,
                "category": "error",
                "outcome": "accepted",
                "reason": None,
                "quantity": 3,
            },
            {
                "project_id": project.pk,
                "category": "error",
                "outcome": "client_discarded",
                "reason": "queue_overflow",
                "quantity": 2,
            },
            {
                "project_id": 999_999,
                "category": "error",
                "outcome": "accepted",
                "reason": None,
                "quantity": 5,
            },
        ],
        "sessions": [
            {
                "project_id": project.pk,
                "release": "app@1.0",
                "environment": None,
                "status": "crashed",
                "quantity": 2,
            },
        ],
    }
    body = encode_item(
        {"type": "stats", "received_at": T0.timestamp()}, orjson.dumps(stats)
    )
    queue_bodies([body, body])

    digest_queued()

    counts = sorted(
        ItemCount.objects.values_list(
            "project_id", "hour", "outcome", "reason", "count"
        )
    )
    assert counts == [
        (project.pk, T0, "accepted", "", 6),
        (project.pk, T0, "client_discard", "queue_overflow", 4),
    ]
    session = SessionCount.objects.get()
    assert (session.day, session.release, session.environment) == (
        T0.date(),
        "app@1.0",
        "",
    )
    assert (session.status, session.count) == ("crashed", 4)


def test_it_drops_items_of_a_deleted_project(project):
    queue_payloads(project, [python_error()])
    Project.objects.filter(pk=project.pk).delete()

    result = digest_queued()

    assert (result.events_stored, result.errors) == (0, 0)
    assert Issue.objects.count() == 0


def test_it_logs_a_malformed_message_and_goes_on(project):
    queue_bodies([b"no header line"])
    queue_payloads(project, [python_error()])

    result = digest_queued()

    assert (result.events_stored, result.errors) == (1, 1)


def test_it_gives_each_new_issue_the_next_short_id(project):
    Project.objects.filter(pk=project.pk).update(next_short_id=41)
    queue_payloads(project, [python_error(), python_error(type_="KeyError")])

    digest_queued()

    assert sorted(Issue.objects.values_list("short_id", flat=True)) == [41, 42]
    project.refresh_from_db()
    assert project.next_short_id == 43


def test_it_joins_the_issue_of_a_hash_another_batch_claimed_first(project):
    """On PostgreSQL two workers can both see a hash as new; the one whose
    hash insert loses must use the winner's issue and drop its own."""
    queue_payloads(project, [python_error()])
    digest_queued()
    winner = Issue.objects.get()
    [message] = _queued_messages(project, [python_error()])
    configs = load_configs([project.pk])
    prepared = prepare([message], configs)
    group_hash = prepared.events[0].grouping_hash
    result = BatchResult()

    with transaction.atomic():
        issues = create_issues(project, {group_hash: prepared.events}, result)

    assert issues == {group_hash: winner}
    assert result.issues_created == 0
    assert list(Issue.objects.all()) == [winner]
    project.refresh_from_db()
    # The short id it took is not given back: ids are never reused.
    assert project.next_short_id == 3


def _queued_messages(project, payloads) -> list[tuple[str, dict, bytes]]:
    from fixtrail.ingest.items import decode_item

    bodies = []
    for payload in payloads:
        header = {
            "type": "event",
            "project_id": project.pk,
            "event_id": "9" * 32,
            "received_at": T0.timestamp(),
        }
        bodies.append(("m1", *decode_item(encode_item(header, orjson.dumps(payload)))))
    return bodies


def test_it_digests_every_corpus_file_without_error(project, corpus_dir):
    files = sorted(corpus_dir.rglob("*.json"))
    first_ids = {path: f"{n:032x}" for n, path in enumerate(files)}
    second_ids = {path: f"{n + 10_000:032x}" for n, path in enumerate(files)}
    for path, event_id in first_ids.items():
        queue_payloads(project, [path.read_bytes()], event_id=event_id)
    first = digest_queued()
    # The same files under the same ids change nothing; under new ids they
    # get the same grouping hashes.
    for path, event_id in first_ids.items():
        queue_payloads(project, [path.read_bytes()], event_id=event_id)
    again = digest_queued()
    for path, event_id in second_ids.items():
        queue_payloads(project, [path.read_bytes()], event_id=event_id)
    digest_queued()

    assert list(ProcessingError.objects.values_list("error", flat=True)) == []
    assert first.events_stored == len(files)
    assert (again.events_stored, again.duplicates) == (0, len(files))
    hashes = dict(Event.objects.values_list("event_id", "grouping_hash"))
    assert len(hashes) == 2 * len(files)
    for path in files:
        assert hashes[first_ids[path]] == hashes[second_ids[path]], path.name
