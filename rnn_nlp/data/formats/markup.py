"""The paragraphs of reStructuredText and HTML documents as plain text, markup stripped. Pure functions.

What is kept is running text: paragraphs, list items, the bodies of admonitions (note, warning,
...) and of object descriptions (function, class, ...). What goes: titles, comments and targets,
field lists, literal blocks (after `::`), code and other non-prose directives with their bodies,
doctest blocks, grid and simple tables, and in HTML `pre`, `table`, `script`, `style` and the
page furniture (navigation, header, footer). Inline markup keeps its text: ``literal`` and *emphasis*
lose their marks, :role:`text <target>` and `link <url>`_ keep their text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# ---- reStructuredText --------------------------------------------------------------------

DIRECTIVE = re.compile(r"^\.\.\s+([\w:.+-]+)::(?:\s+(.*))?$")
# Directives whose body is running text; those whose argument is text too (the rest have a signature or a version).
PROSE_BODY = frozenset(
    "note warning tip important attention caution danger hint error admonition seealso topic sidebar rubric "
    "versionadded versionchanged deprecated deprecated-removed impl-detail glossary epigraph highlights pull-quote "
    "container compound class function method classmethod staticmethod attribute data exception decorator "
    "decoratormethod module describe object option cmdoption envvar opcode pdbcommand abstractmethod coroutinefunction "
    "coroutinemethod property".split()
)
ARGUMENT_IS_TEXT = frozenset("note warning tip important attention caution danger hint error seealso".split())
VERSIONED = frozenset("versionadded versionchanged deprecated deprecated-removed".split())  # a version, then text
ADORNMENT = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}\s*$")
SIMPLE_TABLE = re.compile(r"^=+(?: +=+)+\s*$")
FIELD = re.compile(r"^:[^:\s`][^:`]*:(?:\s|$)")
LIST_ITEM = re.compile(r"^(?:[-*+\u2022]|\d+[.)]|#\.|\(\w{1,3}\)|[a-z][.)])\s+")

ROLE = re.compile(r"(?::[\w.+-]+)+:`([^`]*)`")
LINK = re.compile(r"`([^`<]*?)\s*<[^`>]*>`__?")
REFERENCE = re.compile(r"`([^`]+)`_{0,2}")
LITERAL = re.compile(r"``(.+?)``")
STRONG = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
EMPHASIS = re.compile(r"(?<![\w*])\*(\S(?:.*?\S)?)\*(?![\w*])")
FOOTNOTE_REF = re.compile(r"\s*\[(?:#\w*|\d+|\*)\]_")
SUBSTITUTION = re.compile(r"\|([^|\s][^|]*)\|_{0,2}")
ESCAPE = re.compile(r"\\(.)")
HIDDEN = 0xF0000  # an escaped character waits in Unicode's private use plane while the markup goes
HIDDEN_CHAR = re.compile("[\U000f0000-\U000fffff]")


def _role_text(match: re.Match) -> str:
    text = match.group(1)
    titled = re.match(r"^(.*?)\s*<[^<>]*>$", text)
    if titled and titled.group(1):
        text = titled.group(1)
    return text.lstrip("~!")


def rst_inline(text: str) -> str:
    """Inline markup removed, its text kept: ``code`` -> code, :func:`~a.b` -> a.b, `x <url>`_ -> x, \\* -> *."""
    text = ESCAPE.sub(lambda m: chr(HIDDEN + ord(m.group(1))) if ord(m.group(1)) < 0x10000 else m.group(1), text)
    text = ROLE.sub(_role_text, text)
    text = LITERAL.sub(r"\1", text)
    text = LINK.sub(r"\1", text)
    text = REFERENCE.sub(r"\1", text)
    text = STRONG.sub(r"\1", text)
    text = EMPHASIS.sub(r"\1", text)
    text = FOOTNOTE_REF.sub("", text)
    text = SUBSTITUTION.sub(r"\1", text)
    return HIDDEN_CHAR.sub(lambda m: chr(ord(m.group()) - HIDDEN), text)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


class _RstReader:
    """One pass over the lines: paragraphs gathered, the blocks that are not prose skipped by indentation."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        self.out: list[str] = []
        self.para: list[str] = []
        self.para_indent = 0
        self.adopt_indent = False  # a directive's argument began the paragraph: its next line sets the indent

    def flush(self) -> str:
        """End the paragraph being gathered; return its text (before inline cleaning)."""
        text = " ".join(self.para)
        self.para = []
        if text.endswith("::"):  # "Example::" -> "Example:"; "Example ::" -> "Example"; "::" alone -> nothing
            base = text[:-2]
            text = base.rstrip() + (":" if base and not base.endswith(" ") else "")
        text = rst_inline(text).strip()
        if text:
            self.out.append(" ".join(text.split()))
        return text

    def skip_block(self, i: int, indent: int) -> int:
        """The index of the first line after the block indented deeper than `indent` (blank lines inside it)."""
        while i < len(self.lines) and (not self.lines[i].strip() or _indent(self.lines[i]) > indent):
            i += 1
        return i

    def skip_until_blank(self, i: int) -> int:
        while i < len(self.lines) and self.lines[i].strip():
            i += 1
        return i

    def skip_simple_table(self, i: int) -> int:
        """Past a simple table starting at border line i: up to its closing border (the one before a blank line)."""
        j = i + 1
        while j < len(self.lines):
            if SIMPLE_TABLE.match(self.lines[j].strip()) and (j + 1 == len(self.lines) or not self.lines[j + 1].strip()):
                return j + 1
            j += 1
        return j

    def directive(self, i: int, name: str, argument: str, indent: int) -> int:
        name = name.split(":")[-1].lower()
        if name not in PROSE_BODY:
            return self.skip_block(i + 1, indent)
        if name in VERSIONED:
            argument = argument.split(None, 1)[1] if len(argument.split(None, 1)) == 2 else ""
        if (name in ARGUMENT_IS_TEXT or name in VERSIONED) and argument.strip():
            self.para, self.para_indent, self.adopt_indent = [argument.strip()], indent, True
        return i + 1

    def read(self) -> list[str]:
        i, lines = 0, self.lines
        while i < len(lines):
            line = lines[i]
            stripped, indent = line.strip(), _indent(line)
            if not stripped:
                literal = bool(self.para) and self.para[-1].endswith("::")
                self.flush()
                i = self.skip_block(i + 1, self.para_indent) if literal else i + 1
                continue
            if ADORNMENT.match(stripped) and (not self.para or len(self.para) == 1):
                self.para = []  # a title (one line) with its underline, or an overline: no prose
                i += 1
                continue
            if SIMPLE_TABLE.match(stripped):
                self.flush()
                i = self.skip_simple_table(i)
                continue
            if stripped.startswith(("+-", "+=", "|")):  # grid tables, line blocks
                self.flush()
                while i < len(lines) and lines[i].strip().startswith(("+", "|")):
                    i += 1
                continue
            if stripped.startswith(">>>"):
                self.flush()
                i = self.skip_until_blank(i)
                continue
            if stripped.startswith(".."):
                self.flush()
                match = DIRECTIVE.match(stripped)
                i = self.directive(i, match.group(1), match.group(2) or "", indent) if match else self.skip_block(i + 1, indent)
                continue
            if FIELD.match(stripped):
                self.flush()
                i = self.skip_block(i + 1, indent)
                continue
            item = LIST_ITEM.match(stripped)
            if self.adopt_indent and not item and indent > self.para_indent:
                self.para_indent = indent
            self.adopt_indent = False
            if item or (self.para and indent != self.para_indent):
                ended_literal = bool(self.para) and self.para[-1].endswith("::")
                self.flush()
                if ended_literal and indent > self.para_indent:  # a literal block without a blank line first
                    i = self.skip_block(i, self.para_indent)
                    continue
            if item:
                stripped, indent = stripped[item.end() :], indent + item.end()
            if not self.para:
                self.para_indent = indent
            self.para.append(stripped)
            i += 1
        self.flush()
        return self.out


def rst_paragraphs(text: str) -> list[str]:
    """The running-text paragraphs of a reStructuredText document, one string each, markup stripped."""
    return _RstReader(text.expandtabs(8).splitlines()).read()


# ---- HTML --------------------------------------------------------------------------------

BLOCK_TAGS = frozenset("p div li dd dt h1 h2 h3 h4 h5 h6 blockquote section article tr td th ul ol dl figcaption".split())
SKIPPED_TAGS = frozenset("pre script style table nav header footer head title form button select textarea svg math".split())
VOID_TAGS = frozenset("area base br col embed hr img input link meta source track wbr".split())
HEADINGS = frozenset("h1 h2 h3 h4 h5 h6 dt".split())


class _HtmlText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.buffer: list[str] = []
        self.skipping: list[str] = []  # open tags whose content is skipped

    def flush(self) -> None:
        text = " ".join("".join(self.buffer).split())
        self.buffer = []
        if text:
            self.out.append(text)

    def handle_starttag(self, tag, attrs):
        if tag in VOID_TAGS:
            if tag == "br" and not self.skipping:
                self.buffer.append(" ")
            return
        if self.skipping or tag in SKIPPED_TAGS:
            self.skipping.append(tag)
            return
        if tag in BLOCK_TAGS:
            self.flush()

    def handle_endtag(self, tag):
        if self.skipping:
            if tag in self.skipping:  # close up to the matching tag (HTML in the wild leaves some open)
                while self.skipping and self.skipping.pop() != tag:
                    pass
            return
        if tag in HEADINGS:
            self.buffer = []  # headings are titles, not prose
        elif tag in BLOCK_TAGS:
            self.flush()

    def handle_data(self, data):
        if not self.skipping:
            self.buffer.append(data)


def html_paragraphs(html: str) -> list[str]:
    """The text of an HTML page's blocks (paragraphs, list items, ...), one string each: tags gone,
    entities decoded, headings, preformatted code, tables, scripts and page furniture left out."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    parser.flush()
    return parser.out
