"""Similar issues: the MinHash method (pure) and the stored index, the
issue page with one-click merge, Sentry's endpoint and the command."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from fixtrail.issues.models import Issue, IssueSignature, IssueSignatureBand
from fixtrail.issues.similar import reindex_project, similar_issues
from fixtrail.issues.similarity import (
    BANDS,
    FEATURES,
    SIGNATURE_SIZE,
    Signature,
    agreement,
    message_features,
    message_text,
    minhash,
    overall,
    pack,
    scores,
    signature_of,
    stack_features,
    unpack,
)
from tests.api.conftest import ApiClient, issue_token
from tests.digest.queueing import digest_queued, python_error, queue_payloads


def _event(functions: list[str], value: str = "bad input 42", type_: str = "E"):
    return {
        "platform": "python",
        "exception": {
            "values": [
                {
                    "type": type_,
                    "value": value,
                    "stacktrace": {
                        "frames": [
                            {
                                "module": "django.core",
                                "function": "run",
                                "in_app": False,
                            }
                        ]
                        + [
                            {"module": "shop.cart", "function": f, "in_app": True}
                            for f in functions
                        ]
                    },
                }
            ]
        },
    }


# -- the method -----------------------------------------------------------------


def test_it_takes_in_app_frame_pairs_as_stack_features():
    assert stack_features(_event(["a", "b", "c"])) == {
        "shop.cart:a|shop.cart:b",
        "shop.cart:b|shop.cart:c",
    }


def test_it_takes_a_single_frame_alone():
    assert stack_features(_event(["only"])) == {"shop.cart:only"}


def test_it_has_no_stack_features_without_frames():
    assert stack_features({"message": "x"}) == set()


def test_it_parameterizes_the_message():
    assert message_text(_event(["a"], value="user 42 not found")) == (
        "E: user <int> not found"
    )


def test_it_reads_the_log_message_without_an_exception():
    event = {"logentry": {"formatted": "disk 93% full"}}
    assert message_text(event) == "disk <int>% full"
    assert message_features(event) >= {"disk ", "full"[:0] + "% ful"}


def test_it_gives_the_same_signature_for_the_same_features():
    assert minhash({"a", "b"}) == minhash({"b", "a"})
    assert len(minhash({"a"})) == SIGNATURE_SIZE
    assert minhash(set()) == ()


def test_it_round_trips_signatures_through_bytes():
    signature = minhash({"x", "y", "z"})
    assert unpack(pack(signature)) == signature
    assert unpack(pack(())) == ()


def test_it_estimates_jaccard_similarity():
    # 30 shared of 40 features: Jaccard 0.75; the estimate is near it.
    shared = {f"f{i}" for i in range(30)}
    a = minhash(shared | {f"a{i}" for i in range(5)})
    b = minhash(shared | {f"b{i}" for i in range(5)})
    estimate = agreement(a, b)
    assert estimate is not None and 0.5 <= estimate <= 0.95
    assert agreement(a, a) == 1.0
    assert agreement(a, ()) is None


def test_it_scores_per_feature_with_sentrys_names():
    one = signature_of(_event(["a", "b", "c"]))
    same = signature_of(_event(["a", "b", "c"], value="bad input 7"))
    assert scores(one, same) == {FEATURES[0]: 1.0, FEATURES[1]: 1.0}
    assert overall(scores(one, same)) == 1.0


def test_it_averages_only_the_features_both_have():
    assert overall({FEATURES[0]: 0.5, FEATURES[1]: None}) == 0.5
    assert overall({FEATURES[0]: None, FEATURES[1]: None}) == 0.0


def test_it_makes_band_keys_per_feature_and_band():
    signature = signature_of(_event(["a", "b"]))
    keys = signature.band_keys()
    assert len(keys) == 2 * BANDS
    assert len(set(keys)) == len(keys)
    assert Signature(stack=(), message=()).band_keys() == []


# -- stored, found, shown ---------------------------------------------------------


def _frames_event(functions: list[str], value: str = "invalid literal 'abc'"):
    event = python_error(value=value)
    frames = event["exception"]["values"][0]["stacktrace"]["frames"]
    frames[1:] = [
        {
            "filename": "shop/cart.py",
            "module": "shop.cart",
            "function": f,
            "context_line": f"    step_{f}()",
            "in_app": True,
        }
        for f in functions
    ]
    return event


@pytest.fixture
def issues(project):
    """Three issues: two alike (one frame apart), one unrelated."""
    queue_payloads(
        project,
        [
            _frames_event(["checkout", "total", "tax", "rate", "round"]),
            _frames_event(["checkout", "total", "tax", "rate", "floor"]),
            _frames_event(["login", "session"], value="token expired"),
        ],
    )
    digest_queued()
    # Digest numbers issues by hash; order them as queued.
    by_function = {i.metadata["function"]: i for i in Issue.objects.all()}
    return [by_function["round"], by_function["floor"], by_function["session"]]


def test_it_indexes_new_issues_in_digest(issues):
    assert IssueSignature.objects.count() == 3
    assert IssueSignatureBand.objects.filter(issue=issues[0]).count() == 2 * BANDS


def test_it_finds_the_most_similar_issue(issues):
    first, second, third = issues
    found = similar_issues(first)
    assert [f.issue for f in found] == [second]
    assert 0.5 <= found[0].score < 1.0
    assert similar_issues(third) == []


def test_it_keeps_lookups_within_the_project(issues, org):
    from tests.builders import make_project

    other = make_project(org, "frontend")
    queue_payloads(
        other, [_frames_event(["checkout", "total", "tax", "rate", "round"])]
    )
    digest_queued()
    assert [f.issue for f in similar_issues(issues[0])] == [issues[1]]


def test_it_reindexes_issues_that_predate_the_index(issues, project):
    IssueSignature.objects.all().delete()
    IssueSignatureBand.objects.all().delete()
    assert reindex_project(project) == 3
    assert reindex_project(project) == 0
    assert [f.issue for f in similar_issues(issues[0])] == [issues[1]]


def test_it_lists_similar_issues_on_the_issue_page(client, bob, issues):
    first, second, _ = issues
    client.force_login(bob)
    body = client.get(f"/issues/{first.pk}/").content.decode()
    assert f'<tr data-similar="{second.pk}">' in body
    assert f'name="merge_with" value="{second.short_id_display}"' in body


def test_it_merges_a_similar_issue_in_one_click(client, bob, issues):
    first, second, _ = issues
    client.force_login(bob)
    response = client.post(
        f"/issues/{first.pk}/action/",
        {"action": "merge", "merge_with": second.short_id_display},
    )
    assert response.status_code == 302
    assert Issue.objects.filter(pk__in=[first.pk, second.pk]).count() == 1
    survivor = Issue.objects.get(pk__in=[first.pk, second.pk])
    assert survivor.times_seen == 2


def test_it_hides_the_merge_button_from_viewers(client, vera, issues):
    client.force_login(vera)
    body = client.get(f"/issues/{issues[0].pk}/").content.decode()
    assert "data-similar" in body
    assert 'name="merge_with"' not in body


def test_it_answers_sentrys_similar_issues_endpoint(alice, issues):
    first, second, third = issues
    api = ApiClient(issue_token(alice))
    response = api.get(f"/api/0/issues/{first.pk}/similar/", {"limit": "5"})
    assert response.status_code == 200
    body = response.json()
    assert [pair[0]["id"] for pair in body][:1] == [str(second.pk)]
    assert set(body[0][1]) == set(FEATURES)
    assert all(0.0 <= v <= 1.0 for v in body[0][1].values())


def test_it_rejects_a_bad_limit(alice, issues):
    api = ApiClient(issue_token(alice))
    response = api.get(f"/api/0/issues/{issues[0].pk}/similar/", {"limit": "0"})
    assert response.status_code == 400
    assert response.json() == {"detail": "limit must be a number from 1 to 50."}


def test_it_hides_similar_issues_from_outsiders(charlie, charlies_org, issues):
    api = ApiClient(issue_token(charlie))
    assert api.get(f"/api/0/issues/{issues[0].pk}/similar/").status_code == 404


def test_it_lists_similar_issues_from_the_command_line(issues, capsys):
    first, second, _ = issues
    call_command("similar", "show", str(first.pk))
    out = capsys.readouterr().out
    assert second.short_id_display in out
    assert out.splitlines()[0].strip().endswith(second.title)
