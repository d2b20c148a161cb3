"""The main content of an HTML page as Markdown-like text: headings, paragraphs, lists, tables.

A page of a docs site is mostly not its article: navigation, menus, the site header and footer,
sidebars, a table of contents, a cookie banner, a "skip to content" link. Those go:

- the content root is `<main>` / `role="main"`, or the page's `<article>` (the one in `<main>`
  when both are there); without either, the block holding the most paragraph text, widened to
  its parent while the parent holds markedly more;
- inside it, elements that are navigation by their tag (`nav`, `aside`, `footer`, a `header`
  outside the article, forms and buttons), their ARIA role, their class or id (menu, sidebar,
  breadcrumb, toc, cookie, consent, skip link, pagination, share…), hidden elements, lists of
  in-page links (a table of contents) and, when the page has no semantic root, blocks made
  mostly of links.

Tables become Markdown tables (header row, one line per row; a cell spanning columns appears
once, one spanning rows is repeated in each row); a table used for layout is read as text.
"""

from __future__ import annotations

import re
from typing import Any

from ingest.tables import markdown_table

_DROP_TAGS = [
    "script",
    "style",
    "noscript",
    "template",
    "head",
    "svg",
    "canvas",
    "iframe",
    "object",
    "embed",
    "form",
    "button",
    "input",
    "select",
    "textarea",
    "nav",
    "aside",
    "dialog",
    "footer",
    "menu",
]
_DROP_ROLES = {
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "menu",
    "menubar",
    "toolbar",
    "dialog",
    "alertdialog",
}
_DROP_WORDS = {
    "nav",
    "navbar",
    "navigation",
    "menu",
    "menubar",
    "sidebar",
    "sidenav",
    "breadcrumb",
    "breadcrumbs",
    "toc",
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "skip",
    "skiplink",
    "footer",
    "pagination",
    "pager",
    "share",
    "sharing",
    "social",
    "advert",
    "advertisement",
    "ads",
    "newsletter",
    "subscribe",
}
_HEADER_WORDS = {"header", "masthead", "topbar"}
_INLINE = {
    "a",
    "abbr",
    "b",
    "bdi",
    "bdo",
    "cite",
    "code",
    "data",
    "del",
    "dfn",
    "em",
    "font",
    "i",
    "ins",
    "kbd",
    "mark",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "time",
    "tt",
    "u",
    "var",
    "wbr",
    "label",
    "img",
    "picture",
    "math",
}
_SKIP = {"img", "picture", "video", "audio", "source", "track", "map", "area", "hr", "math"}
_HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
_PARAGRAPH_LIKE = ["p", "pre", "blockquote", "td", "dd", "li"]
_SKIP_LINK = re.compile(r"^\s*skip\s+(?:to|navigation|nav)\b", re.IGNORECASE)
_PERMALINK_MARKS = {"#", "¶", "§", "🔗", "link"}
_TITLE_SEPARATOR = re.compile(r"\s+(?:\||–|—|-|·|::|»)\s+")


def _words(tag: Any) -> set[str]:
    values = [*tag.get("class", []), str(tag.get("id", ""))]
    return {w for value in values for w in re.split(r"[-_\s:]+", str(value).lower()) if w}


def _hidden(tag: Any) -> bool:
    style = str(tag.get("style", "")).replace(" ", "").lower()
    return (
        tag.has_attr("hidden")
        or str(tag.get("aria-hidden", "")).lower() == "true"
        or "display:none" in style
        or "visibility:hidden" in style
    )


def _text_length(tag: Any) -> int:
    return len(" ".join(tag.get_text(" ").split()))


def _link_length(tag: Any) -> int:
    return sum(_text_length(a) for a in tag.find_all("a"))


def _wraps_content(tag: Any) -> bool:
    return tag.find(["main", "article"]) is not None or tag.find(role="main") is not None


def _is_toc(tag: Any) -> bool:
    """A list of links into the same page: a table of contents."""
    links = tag.find_all("a")
    if len(links) < 3 or tag.name not in ("ul", "ol", "div", "section"):
        return False
    inner = sum(1 for a in links if str(a.get("href", "")).startswith("#"))
    return inner >= 0.8 * len(links) and _link_length(tag) >= 0.8 * _text_length(tag)


def _is_link_list(tag: Any) -> bool:
    """A list that is nothing but links to other pages: a docs site's section index
    (Sphinx's toctree, a 'pages in this section' list). It names pages; it answers nothing."""
    if tag.name not in ("ul", "ol") or tag.find_parent(["ul", "ol"]) is not None:
        return False
    links = tag.find_all("a")
    text = _text_length(tag)
    return len(links) >= 5 and text > 0 and _link_length(tag) >= 0.9 * text


def _boilerplate(tag: Any, inside_article: bool, semantic: bool) -> bool:
    if tag.name in _DROP_TAGS or _hidden(tag):
        return True
    role = str(tag.get("role", "")).lower()
    if role in _DROP_ROLES and not (role == "banner" and inside_article):
        return True
    words = _words(tag)
    if (
        words & _DROP_WORDS
        or {"table", "contents"} <= words
        or (tag.name == "a" and _SKIP_LINK.match(tag.get_text(" ")))
    ):
        return True
    if tag.name == "header" and not inside_article:
        return True
    if words & _HEADER_WORDS and tag.find(["h1", "h2", "h3"]) is None:
        return True
    if _is_toc(tag) or _is_link_list(tag):
        return True
    if semantic or tag.name not in ("ul", "ol", "div", "section", "table", "p", "header"):
        return False
    # No semantic root to trust: a block that is mostly links is a menu or a link farm.
    links = tag.find_all("a")
    text = _text_length(tag)
    return len(links) >= 3 and text > 0 and _link_length(tag) > 0.6 * text


def _prune(root: Any, semantic: bool) -> None:
    inside_article = root.name in ("article", "main") or str(root.get("role", "")) == "main"
    for tag in list(root.find_all(True)):
        if getattr(tag, "decomposed", False) or tag.parent is None or _wraps_content(tag):
            continue
        if _boilerplate(tag, inside_article or tag.find_parent("article") is not None, semantic):
            tag.decompose()


def _good_text(tag: Any) -> int:
    total = 0
    for block in tag.find_all(_PARAGRAPH_LIKE):
        length = _text_length(block) - _link_length(block)
        if length >= 25 and block.find(_PARAGRAPH_LIKE) is None:
            total += length
    return total


def _densest(body: Any) -> Any:
    scores: dict[int, tuple[float, Any]] = {}
    for block in body.find_all(["p", "pre", "blockquote", "td", "dd"]):
        length = _text_length(block) - _link_length(block)
        if length < 25:
            continue
        for weight, ancestor in ((1.0, block.parent), (0.5, block.parent and block.parent.parent)):
            if ancestor is None:
                continue
            score, _ = scores.get(id(ancestor), (0.0, ancestor))
            scores[id(ancestor)] = (score + weight * length, ancestor)
    if not scores:
        return body
    best = max(scores.values(), key=lambda pair: pair[0])[1]
    # Content split over sibling blocks: widen while the parent holds markedly more of it.
    while best is not body and best.parent is not None:
        if _good_text(best.parent) < 1.3 * _good_text(best):
            break
        best = best.parent
    return best


def _content_root(soup: Any) -> tuple[Any, bool]:
    """The element holding the page's content, and whether the page said so itself."""
    body = soup.body or soup
    main = body.find("main") or body.find(attrs={"role": "main"})
    articles = (main or body).find_all("article")
    if articles:
        article = max(articles, key=_text_length)
        if not main or _text_length(article) >= 0.5 * _text_length(main):
            return article, True
    if main is not None:
        return main, True
    for tag in list(body.find_all(True)):
        if tag.parent is not None and _boilerplate(tag, False, True):
            tag.decompose()
    return _densest(body), False


class _Markdown:
    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.inline: list[str] = []

    # -- inline text ------------------------------------------------------------------
    def flush(self) -> None:
        text = _collapse("".join(self.inline))
        self.inline.clear()
        if text:
            self.blocks.append(text)

    def text_of(self, tag: Any) -> str:
        parts: list[str] = []
        _inline_text(tag, parts)
        return " ".join(_collapse("".join(parts)).split())

    # -- blocks -------------------------------------------------------------------------
    def walk(self, node: Any) -> None:
        from bs4 import NavigableString, Tag

        for child in node.children:
            if isinstance(child, Tag):
                self.element(child)
            elif isinstance(child, NavigableString) and type(child) is NavigableString:
                self.inline.append(str(child).replace("\n", " "))

    def element(self, tag: Any) -> None:
        name = tag.name
        if name in _SKIP:
            return
        if name == "br":
            self.inline.append("\n")
            return
        if name in _INLINE and tag.find(_BLOCK_NAMES) is None:
            _inline_text(tag, self.inline)
            return
        self.flush()
        if name in _HEADINGS:
            text = self.text_of(tag)
            if text:
                self.blocks.append(f"{'#' * int(name[1])} {text}")
        elif name in ("ul", "ol"):
            self.list(tag, 0)
        elif name == "table":
            self.table(tag)
        elif name == "pre":
            code = tag.get_text().strip("\n")
            if code.strip():
                self.blocks.append(f"```\n{code}\n```")
        elif name in ("dt", "figcaption", "caption", "summary"):
            text = self.text_of(tag)
            if text:
                self.blocks.append(text)
        else:
            self.walk(tag)
            self.flush()

    def list(self, tag: Any, depth: int) -> None:
        number = 0
        lines: list[str] = []
        for item in tag.find_all("li", recursive=False) or tag.find_all("li"):
            if item.find_parent(["ul", "ol"]) is not tag:
                continue
            number += 1
            nested = item.find_all(["ul", "ol"])
            own = [n for n in nested if n.find_parent("li") is item]
            for sub in own:
                sub.extract()
            text = self.text_of(item)
            marker = f"{number}." if tag.name == "ol" else "-"
            if text:
                lines.append(f"{'  ' * depth}{marker} {text}")
            for sub in own:
                inner = _Markdown()
                inner.list(sub, depth + 1)
                lines.extend(inner.blocks)
        if lines:
            self.blocks.append("\n".join(lines))

    def table(self, tag: Any) -> None:
        rows = _table_rows(tag, self.text_of)
        if rows is None:  # a layout table: read its cells as text
            for cell in tag.find_all(["td", "th"]):
                if cell.find_parent("table") is tag:
                    self.walk(cell)
                    self.flush()
            return
        caption = tag.find("caption")
        if caption is not None and self.text_of(caption):
            self.blocks.append(self.text_of(caption))
        if rows:
            self.blocks.append(markdown_table(rows))

    def markdown(self) -> str:
        self.flush()
        return "\n\n".join(self.blocks)


_BLOCK_NAMES = [
    "p",
    "div",
    "section",
    "article",
    "ul",
    "ol",
    "li",
    "table",
    "pre",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "dl",
    "dt",
    "dd",
    "figure",
    "header",
    "main",
]


def _collapse(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _inline_text(tag: Any, parts: list[str]) -> None:
    from bs4 import NavigableString, Tag

    for child in tag.children:
        if isinstance(child, Tag):
            if child.name in _SKIP:
                continue
            if child.name == "br":
                parts.append("\n")
            elif child.name in _BLOCK_NAMES or child.name in ("td", "th", "tr"):
                parts.append(" ")
                _inline_text(child, parts)
                parts.append(" ")
            else:
                _inline_text(child, parts)
        elif isinstance(child, NavigableString) and type(child) is NavigableString:
            parts.append(str(child).replace("\n", " "))  # only <br> breaks a line


def _table_rows(table: Any, text_of: Any) -> list[list[str]] | None:
    """The table's rows as cell texts (spans resolved), or None when it is there for layout."""
    if str(table.get("role", "")).lower() in ("presentation", "none"):
        return None
    rows = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]
    grid: list[list[str]] = []
    pending: dict[int, tuple[int, str]] = {}  # column -> (rows left, text) from rowspans
    for tr in rows:
        row: list[str] = []
        cells = [c for c in tr.find_all(["td", "th"], recursive=False)]
        for cell in cells:
            if cell.find("table") is not None:
                return None
            while len(row) in pending:
                row.append(_take(pending, len(row)))
            text = text_of(cell)
            span = _span(cell, "colspan")
            down = _span(cell, "rowspan")
            for offset in range(span):
                if down > 1:
                    pending[len(row)] = (down - 1, text)
                row.append(text if offset == 0 else "")
        while len(row) in pending:
            row.append(_take(pending, len(row)))
        if any(row):
            grid.append(row)
    width = max((len(r) for r in grid), default=0)
    if width < 2 or len(grid) < 2:
        return None
    return grid


def _take(pending: dict[int, tuple[int, str]], column: int) -> str:
    left, text = pending[column]
    if left <= 1:
        del pending[column]
    else:
        pending[column] = (left - 1, text)
    return text


def _span(cell: Any, name: str) -> int:
    try:
        return max(1, min(int(str(cell.get(name, "1")).strip() or 1), 50))
    except ValueError:
        return 1


def page_title(soup: Any) -> str | None:
    """The page's <title>, without the site name that usually follows a separator."""
    if soup.title is None:
        return None
    title = " ".join(soup.title.get_text(" ").split())
    parts = _TITLE_SEPARATOR.split(title)
    return (parts[0] if len(parts) > 1 and len(parts[0]) >= 3 else title) or None


def html_to_markdown(soup: Any) -> tuple[str, str | None, list[str]]:
    """Markdown-like text of the page's main content, its title and notes on what was done."""
    title = page_title(soup)
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    for anchor in soup.find_all("a"):
        # Permalink anchors beside headings ("Install #", "Usage ¶") are not part of the title.
        if anchor.get_text(strip=True) in _PERMALINK_MARKS or "headerlink" in anchor.get(
            "class", []
        ):
            anchor.decompose()
    notes: list[str] = []
    root, semantic = _content_root(soup)
    h1 = root.find("h1") or (soup.body or soup).find("h1")
    heading = " ".join(h1.get_text(" ").split()) if h1 is not None else ""
    _prune(root, semantic)
    writer = _Markdown()
    if root.name == "[document]":
        writer.walk(root)
    else:
        writer.element(root)
    body = writer.markdown()
    if not re.search(r"\w", body):
        writer = _Markdown()
        writer.walk(soup.body or soup)
        body = writer.markdown()
        if re.search(r"\w", body):
            notes.append("found no main content on the page; indexed all of its text")
    return body, heading or title, notes
