from __future__ import annotations

import pytest

from fixtrail.lib.markdown import MAX_MARKDOWN_CHARS, render

LINK_ATTRS = 'rel="nofollow noopener noreferrer"'


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("plain", "<p>plain</p>"),
        ("**bold** and *italic*", "<p><strong>bold</strong> and <em>italic</em></p>"),
        ("a `x < y` b", "<p>a <code>x &lt; y</code> b</p>"),
        ("`**not bold**`", "<p><code>**not bold**</code></p>"),
        ("2 * 3 * 4", "<p>2 * 3 * 4</p>"),
        ("line one\nline two", "<p>line one<br>\nline two</p>"),
        ("para one\n\npara two", "<p>para one</p>\n<p>para two</p>"),
        ("- one\n- *two*", "<ul><li>one</li><li><em>two</em></li></ul>"),
        (
            "```\n<b>code</b>\n  kept\n```",
            "<pre><code>&lt;b&gt;code&lt;/b&gt;\n  kept\n</code></pre>",
        ),
        (
            "[docs](https://example.org/a?b=1&c=2)",
            f'<p><a href="https://example.org/a?b=1&amp;c=2" {LINK_ATTRS}>docs</a></p>',
        ),
        (
            "see https://example.org/x.",
            f'<p>see <a href="https://example.org/x" {LINK_ATTRS}>https://example.org/x</a>.</p>',
        ),
    ],
)
def test_it_renders_the_subset(text, html):
    assert render(text) == html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
        ("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>"),
        ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"),
        ("[x](data:text/html,hi)", "<p>[x](data:text/html,hi)</p>"),
        (
            '[x](https://a.example/"onmouseover="alert(1))',
            '<p><a href="https://a.example/&quot;onmouseover=&quot;alert(1" '
            f"{LINK_ATTRS}>x</a>)</p>",
        ),
        ("**<b>x</b>**", "<p><strong>&lt;b&gt;x&lt;/b&gt;</strong></p>"),
        ("\ue0000\ue000", "<p>0</p>"),
    ],
)
def test_it_escapes_everything_else(text, html):
    assert render(text) == html


def test_it_cuts_very_long_text():
    assert (
        render("a" * (MAX_MARKDOWN_CHARS + 50))
        == "<p>" + "a" * MAX_MARKDOWN_CHARS + "</p>"
    )
