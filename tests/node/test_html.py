"""HTML sanitising, Markdown rendering and plain-text previews."""

from __future__ import annotations

import re

import pytest

from activitystreams import Object, parse_activity
from node.convert.html import html_to_text, render_markdown, sanitize_remote_html
from tests.cases import load_case

REL = 'rel="nofollow noopener noreferrer"'


def _tags(html: str) -> set[str]:
    return {name.lower() for name in re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9]*)", html)}


def _attributes(html: str) -> set[str]:
    found: set[str] = set()
    for tag in re.findall(r"<[a-zA-Z][^>]*>", html):
        found.update(name.lower() for name in re.findall(r"\s([a-zA-Z-]+)=", tag))
    return found


def test_sanitize_remote_html_given_case_content_then_only_safe_link_survives() -> None:
    case = load_case("sanitize-remote-html")["input"]
    note = parse_activity(case)
    assert isinstance(note.object, Object)
    content = note.object.content
    assert content is not None
    clean = sanitize_remote_html(content)
    lowered = clean.lower()
    for bad in ("javascript", "script", "data:", "iframe", "img", "onerror", "style", "alert(4)"):
        assert bad not in lowered, bad
    assert _tags(clean) <= {"p", "a"}
    assert _attributes(clean) <= {"href", "rel", "class"}
    assert clean.count("<a ") == 1
    assert f'<a href="https://hq.test/news/1" {REL}>ok</a>' in clean
    assert clean.startswith("<p>Quarterly results here a b c<a ")


def test_sanitize_remote_html_given_case_summary_then_vbscript_link_unwrapped() -> None:
    summary = load_case("sanitize-remote-html")["input"]["object"]["summary"]
    assert sanitize_remote_html(summary) == "cw"


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "java&#x09;script:alert(2)",
        "java\nscript:alert(2)",
        "&#106;avascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "/relative/path",
        "//evil.test/x",
        "mailto:a@b.test",
        "ftp://files.test/x",
    ],
)
def test_given_non_http_href_when_sanitised_then_link_removed_text_kept(href: str) -> None:
    clean = sanitize_remote_html(f'<p><a href="{href}">text</a></p>')
    assert clean == "<p>text</p>"


@pytest.mark.parametrize(
    "href", ["https://hq.test/a?b=1&amp;c=2", "http://hq.test/x", "HTTPS://hq.test"]
)
def test_given_http_href_when_sanitised_then_kept_with_rel(href: str) -> None:
    clean = sanitize_remote_html(f'<a href="{href}" rel="me" target="_blank">x</a>')
    assert clean.startswith("<a href=")
    assert REL in clean
    assert "target" not in clean
    assert 'rel="me"' not in clean


def test_given_allowed_tags_when_sanitised_then_kept_with_class() -> None:
    html = (
        '<p class="x" id="y" style="color:red">a<br>b <em>c</em> <strong>d</strong> '
        '<span class="h-card">e</span> <code>f</code></p><pre>g</pre>'
        "<blockquote>h</blockquote><ul><li>i</li></ul><ol><li>j</li></ol>"
    )
    clean = sanitize_remote_html(html)
    assert _tags(clean) == {
        "p",
        "br",
        "em",
        "strong",
        "span",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
    }
    assert '<p class="x">' in clean
    assert '<span class="h-card">' in clean
    assert "id=" not in clean and "style" not in clean


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<h1>Title</h1>", "Title"),
        ("<div><b>x</b></div>", "x"),
        ("<script>alert(1)</script>ok", "ok"),
        ("<style>p{}</style>ok", "ok"),
        ("<img src=x onerror=alert(5)>ok", "ok"),
        ('<svg onload="alert(1)"><a href="https://x.test">x</a></svg>', None),
        ("<!-- comment -->ok", "ok"),
    ],
)
def test_given_disallowed_markup_when_sanitised_then_removed(
    html: str, expected: str | None
) -> None:
    clean = sanitize_remote_html(html)
    if expected is not None:
        assert clean == expected
    assert "svg" not in clean and "onload" not in clean and "onerror" not in clean


def test_given_markdown_when_rendered_then_commonmark_html() -> None:
    html = render_markdown("Hello **team**, see [plan](https://hq.test/plan)\n\n- one\n- two")
    assert "<strong>team</strong>" in html
    assert f'<a href="https://hq.test/plan" {REL}>plan</a>' in html
    assert "<ul>" in html and "<li>one</li>" in html


def test_given_raw_html_in_markdown_when_rendered_then_escaped() -> None:
    html = render_markdown("hi <script>alert(1)</script> <b>x</b>")
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html


def test_given_javascript_link_in_markdown_when_rendered_then_no_link() -> None:
    html = render_markdown("[a](javascript:alert(1)) ![i](https://hq.test/i.png)")
    assert "javascript:alert" not in html.replace("[a](javascript:alert(1))", "")
    assert "<a " not in html
    assert "<img" not in html


def test_given_html_when_to_text_then_plain_preview() -> None:
    html = "<p>Hello &amp; welcome<br>team</p><p>Second <a href='https://x.test'>link</a></p>"
    assert html_to_text(html) == "Hello & welcome\nteam\n\nSecond link"


def test_given_script_when_to_text_then_script_text_dropped() -> None:
    assert html_to_text("<p>a</p><script>alert(1)</script>") == "a"
    assert html_to_text("") == ""
