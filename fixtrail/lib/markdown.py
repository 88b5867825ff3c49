"""A small, safe subset of Markdown for comments.

Everything is HTML-escaped first; markup is then added only from this list,
so no input can produce a tag or attribute that is not on it::

    **bold**  *italic*  `code`  [text](https://example.org)  https://bare.link
    - list items (also "* ")
    ```
    fenced code
    ```

Blank lines separate paragraphs; single line breaks are kept. Links are made
only for http and https URLs, with rel="nofollow noopener noreferrer".
"""

from __future__ import annotations

import html
import re

# A comment is short prose; longer text is cut rather than rendered, which
# also bounds the regular-expression work.
MAX_MARKDOWN_CHARS = 20_000

_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*\n<>]+?)(?<=\S)\*(?![\w*])")
# Matched on escaped text: the URL may contain &amp; but never a quote or <.
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)", re.IGNORECASE)
_BARE_URL = re.compile(
    r"(?<![\"=>\w])(https?://[^\s<]+[^\s<.,;:!?)\]'])", re.IGNORECASE
)
_LIST_ITEM = re.compile(r"^[-*] +(.*)$")
# Placeholders use a private-use character that escaping leaves alone and
# that is stripped from the input, so input cannot forge one.
_MARK = "\ue000"


def render(text: str) -> str:
    """Return HTML for ``text``; every character of the input is escaped."""
    text = text[:MAX_MARKDOWN_CHARS].replace(_MARK, "").replace("\r\n", "\n")
    blocks: list[str] = []

    def keep_fence(match: re.Match) -> str:
        blocks.append(f"<pre><code>{html.escape(match.group(1))}</code></pre>")
        return f"\n\n{_MARK}{len(blocks) - 1}{_MARK}\n\n"

    text = _FENCE.sub(keep_fence, text)
    out = []
    for chunk in re.split(r"\n[ \t]*\n", text):
        chunk = chunk.strip("\n")
        if not chunk.strip():
            continue
        fence = re.fullmatch(f"{_MARK}(\\d+){_MARK}", chunk.strip())
        if fence:
            out.append(blocks[int(fence.group(1))])
        else:
            out.append(_block(chunk))
    return "\n".join(out)


def _block(chunk: str) -> str:
    lines = chunk.split("\n")
    if all(_LIST_ITEM.match(line) for line in lines):
        items = "".join(
            f"<li>{_inline(_LIST_ITEM.match(line).group(1))}</li>" for line in lines
        )
        return f"<ul>{items}</ul>"
    return "<p>" + "<br>\n".join(_inline(line) for line in lines) + "</p>"


def _inline(line: str) -> str:
    spans: list[str] = []

    def keep(fragment: str) -> str:
        spans.append(fragment)
        return f"{_MARK}{len(spans) - 1}{_MARK}"

    line = _CODE.sub(lambda m: keep(f"<code>{html.escape(m.group(1))}</code>"), line)
    line = html.escape(line)
    line = _LINK.sub(lambda m: keep(_anchor(m.group(2), m.group(1))), line)
    line = _BARE_URL.sub(lambda m: keep(_anchor(m.group(1), m.group(1))), line)
    line = _BOLD.sub(r"<strong>\1</strong>", line)
    line = _ITALIC.sub(r"<em>\1</em>", line)
    return re.sub(f"{_MARK}(\\d+){_MARK}", lambda m: spans[int(m.group(1))], line)


def _anchor(escaped_url: str, escaped_text: str) -> str:
    # Both parts are already escaped, so neither can leave the attribute.
    return (
        f'<a href="{escaped_url}" rel="nofollow noopener noreferrer">{escaped_text}</a>'
    )
