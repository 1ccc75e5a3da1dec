"""HTML for the node: sanitising remote HTML, rendering local Markdown, plain-text previews."""

from __future__ import annotations

import functools
import re
from html import unescape
from html.parser import HTMLParser

import nh3
from markdown_it import MarkdownIt

__all__ = ["ALLOWED_TAGS", "LINK_REL", "html_to_text", "render_markdown", "sanitize_remote_html"]

ALLOWED_TAGS: frozenset[str] = frozenset(
    {"p", "br", "a", "span", "em", "strong", "ul", "ol", "li", "code", "pre", "blockquote"}
)
LINK_REL = "nofollow noopener noreferrer"
_URL_SCHEMES = frozenset({"http", "https"})
# nh3 output is normalised: an <a> without href after cleaning is a link we refused.
_DEAD_LINK = re.compile(r"<a(?![^>]*\shref=)[^>]*>(.*?)</a>", re.DOTALL)


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    """Keep href only for http(s) URLs; the value arrives entity-decoded from the parser."""
    if name != "href":
        return value
    if tag != "a":
        return None
    scheme, sep, _ = value.strip().partition(":")
    if (
        not sep
        or scheme.lower() not in _URL_SCHEMES
        or not value.strip().lower().startswith(("http://", "https://"))
    ):
        return None
    return value.strip()


@functools.cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={"a": {"href", "class"}, "*": {"class"}},
        attribute_filter=_filter_attribute,
        link_rel=LINK_REL,
        url_schemes=set(_URL_SCHEMES),
        url_relative="deny",
        strip_comments=True,
    )


def sanitize_remote_html(html: str) -> str:
    """Keep only the allowed tags; links keep an http(s) href and get rel=nofollow noopener."""
    cleaned = _cleaner().clean(html)
    return _DEAD_LINK.sub(r"\1", cleaned)


@functools.cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False})


def render_markdown(text: str) -> str:
    """CommonMark to HTML (raw HTML escaped), then sanitised like remote HTML."""
    return sanitize_remote_html(_markdown().render(text))


class _TextExtractor(HTMLParser):
    _BLOCKS = frozenset({"p", "li", "blockquote", "pre", "div", "ul", "ol"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text for previews and notifications: tags dropped, paragraphs as blank lines."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = unescape("".join(parser.parts))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
