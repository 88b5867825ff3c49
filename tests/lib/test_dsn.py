import pytest

from fixtrail.lib.dsn import DSNError, parse_dsn


@pytest.mark.parametrize(
    ("dsn", "url"),
    [
        ("https://abc@o1.ingest.sentry.io/42", "https://o1.ingest.sentry.io/api/42/envelope/"),
        ("http://abc:secret@127.0.0.1:9000/sentry/7/", "http://127.0.0.1:9000/sentry/api/7/envelope/"),
        ("http://abc@[::1]:9000/3", "http://[::1]:9000/api/3/envelope/"),
    ],
)  # fmt: skip
def test_it_sends_to_the_envelope_endpoint_a_dsn_names(dsn, url):
    target = parse_dsn(dsn)
    assert target.envelope_url == url
    assert target.public_key == "abc"
    assert "secret" not in target.display


@pytest.mark.parametrize(
    ("dsn", "reason"),
    [
        ("ftp://abc@example.com/1", "http:// or https://"),
        ("https://example.com/1", "no public key"),
        ("https://abc@example.com/project", "project id"),
        ("https://abc@example.com:99999/1", "not a DSN"),
    ],
)
def test_it_refuses_what_is_not_a_dsn(dsn, reason):
    with pytest.raises(DSNError, match=reason):
        parse_dsn(dsn)


def test_it_keeps_the_project_id_as_a_number():
    assert parse_dsn("https://k@example.com/0042").project_id == 42
