from __future__ import annotations

import pytest

from fixtrail.lib.parameterize import parameterize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("division by zero", "division by zero"),
        ("User 4711 not found", "User <int> not found"),
        ("took 2.5s", "took <float>s"),
        ("order_123 failed", "order_<int> failed"),
        ("SKU-5-3 out of stock", "SKU-<int>-<int> out of stock"),
        ("no mail for jane.doe+x@example.co.uk", "no mail for <email>"),
        ("GET https://api.example.com/v1/x?id=3 failed", "GET <url> failed"),
        ("id 74e45def-dd8e-4b7a-b5a7-fab97a534875 gone", "id <uuid> gone"),
        ("trace 7fecdff17c244458933486537880b4d5", "trace <uuid>"),
        ("at 2024-03-19T11:50:26.499710Z exactly", "at <date> exactly"),
        ("on 2024-03-19 only", "on <date> only"),
        ("at 12:30:05 sharp", "at <time> sharp"),
        ("from 10.0.0.1:5432", "from <ip>"),
        ("from ::1 and fe80::1ff:fe23:4567:890a", "from <ip> and <ip>"),
        ("object at 0x7f00deadbeef", "object at <hex>"),
        ("commit 9f3c2ab1e4 broke it", "commit <hex> broke it"),
        ("KeyError 'user_42'", "KeyError <quoted>"),
        ('column "email" is null', "column <quoted> is null"),
        ("Can't find variable: foo, won't", "Can't find variable: foo, won't"),
        ("utf8 Python3 h264 int32", "utf8 Python3 h264 int32"),
        ("deadbeef is a word", "deadbeef is a word"),
        ("std::vector a::b", "std::vector a::b"),
    ],
)
def test_it_replaces_variable_parts(text, expected):
    assert parameterize(text) == expected


def test_it_gives_the_same_result_for_messages_that_differ_in_values():
    first = parameterize("Payment 1001 for jane@example.com failed after 3 tries")
    second = parameterize("Payment 87 for bob@example.org failed after 12 tries")

    assert first == second
    assert first == "Payment <int> for <email> failed after <int> tries"


def test_it_keeps_messages_with_different_words_apart():
    assert parameterize("Payment 1 failed") != parameterize("Refund 1 failed")


def test_it_leaves_quoted_text_longer_than_the_limit_alone():
    text = "'" + "x" * 201 + "'"

    assert parameterize(text) == text
