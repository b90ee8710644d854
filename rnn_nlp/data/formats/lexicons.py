"""Running text out of two dictionaries: GCIDE entries in dictd's format, and WordNet's data files. Pure functions.

dictd: `NAME.index` holds one line per headword, "headword TAB offset TAB length", the numbers in
dictd's base64; the entry is that slice of the (dictzip'ed) `NAME.dict`. GCIDE writes an entry as a
header (headword, \\pro*nun"ci*a`tion\\, part of speech, [etymology]), numbered senses, quotations
ending in --Author., notes, Syn: lists and source tags ([1913 Webster], [WordNet 1.5], [PJC]).
Accented letters are written as codes: [=a], ['e], [ae], [imac] ...

WordNet: each line of `data.noun` (.verb, .adj, .adv) is a synset, its gloss after " | ": definitions,
then examples in double quotes; the licence comes first, on lines starting with two spaces.
"""

from __future__ import annotations

import re

DICTD_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
DICTD_VALUE = {c: i for i, c in enumerate(DICTD_DIGITS)}


def dictd_number(text: str) -> int:
    """A dictd index number ("5I", "BNy") as an int."""
    value = 0
    for char in text:
        value = value * 64 + DICTD_VALUE[char]
    return value


def dictd_index(index_text: str) -> list[tuple[str, int, int]]:
    """(headword, offset, length) of each entry in a dictd index, in file order; an entry listed under
    several headwords comes once (its first), and the database's own 00-database-* entries not at all."""
    seen: set[tuple[int, int]] = set()
    out = []
    for line in index_text.splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[0].startswith(("00-database", "00database", "00-gcide", "00-web1913")):
            continue
        span = (dictd_number(parts[1]), dictd_number(parts[2]))
        if span not in seen:
            seen.add(span)
            out.append((parts[0], *span))
    return out


# ---- GCIDE -------------------------------------------------------------------------------

SOURCE_TAG = re.compile(r"^\s*\[(?:\d{4} Webster|Webster|WordNet|PJC|Century|Chambers|Wikipedia|RJP|JC|MW|Pres)[^\]]*\]\s*$")
SENSE = re.compile(r"^\s*(?:\d+\.|\([a-z]\))\s+")
CHAR_NAMES = {"ae": "ae", "AE": "AE", "oe": "oe", "OE": "OE", "eth": "th", "th": "th", "ng": "ng", "deg": "°", "sect": "§"}
CHAR_CODE = re.compile(r"\[([=.'\"~^`,-]?)([A-Za-z]{1,4})(\^?)\]")
PRONUNCIATION = re.compile(r"\\[^\\\n]*\\")
BRACKETS = re.compile(r"\[[^\[\]]*\]")
ATTRIBUTION = re.compile(r"\s--(?=[A-Z(0-9])\S.*$")
PLURAL = re.compile(r"\bpl\.\s*\{[^}]*\}(?:\s*(?:,|or)\s*\{[^}]*\})*\.?")
# What is left of a header once headword, pronunciation and brackets are gone: (pronunciation), labels, "n.", "v. t."
HEADER_LABELS = re.compile(r"^(?:[\s,;.]*(?:\([^()]*\)|(?:[a-z]{1,5}|[A-Z][a-z]{0,3})\.(?=[\s,;]|$)))+[\s,;.]*")
SUBJECT = re.compile(r"^\((?:[A-Z][a-z]*\.?\s?){1,3}\)\s*")  # (Chem.), (Mus.), (Geography)
SENSE_PREFIX = re.compile(r"^(?:\d+\.|\([a-z]\))\s+")


def _char(match: re.Match) -> str:
    """[=a] -> a, ['e] -> e, [ae] -> ae, [imac] -> i, [deg] -> °: letters as plain letters."""
    accent, letters, hat = match.groups()
    if not accent and not hat and letters in CHAR_NAMES:
        return CHAR_NAMES[letters]
    if accent or hat or len(letters) <= 2:
        return letters
    return letters[0] if letters[1:] in ("mac", "um", "dd", "sl", "cr", "br") else match.group(0)


def _blocks(entry: str) -> list[list[str]]:
    """The entry's lines grouped: a blank line, a source tag, a sense number, Syn: or Note: starts a new group."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in entry.splitlines():
        stripped = line.strip()
        starts = not stripped or SOURCE_TAG.match(line) or SENSE.match(line) or stripped.startswith(("Syn:", "Note:"))
        if starts and current:
            blocks.append(current)
            current = []
        if stripped and not SOURCE_TAG.match(line):
            current.append(stripped)
    if current:
        blocks.append(current)
    return blocks


def gcide_paragraphs(entry: str) -> list[str]:
    """The definitions, notes and quotations of one GCIDE entry as plain text paragraphs: headword,
    pronunciation, part of speech, etymology, labels ([Obs.]), source tags, --attributions and Syn:
    lists removed; {cross references} keep their word."""
    out = []
    for number, lines in enumerate(_blocks(entry)):
        text = " ".join(lines)
        if text.startswith("Syn:"):
            continue
        text = CHAR_CODE.sub(_char, text)
        if number == 0:  # the header: headword and pronunciation(s) first
            ends = [m.end() for m in PRONUNCIATION.finditer(text)]
            text = text[ends[-1] :] if ends else ""
        text = PLURAL.sub(" ", PRONUNCIATION.sub(" ", text))
        while BRACKETS.search(text):
            text = BRACKETS.sub(" ", text)
        text = text.replace("{", "").replace("}", "")
        text = ATTRIBUTION.sub("", text)
        if number == 0:
            text = HEADER_LABELS.sub("", text)
        if text.startswith("Note:"):
            text = text[len("Note:") :]
        text = SUBJECT.sub("", SENSE_PREFIX.sub("", " ".join(text.split())))
        if text:
            out.append(text)
    return out


# ---- WordNet -----------------------------------------------------------------------------

EXAMPLE = re.compile(r'"([^"]+)"')


def wordnet_lines(data_line: str) -> list[str]:
    """The definition and the quoted examples of one line of a WordNet data file, one string each;
    nothing for the licence lines at the top of the file."""
    if data_line.startswith("  ") or " | " not in data_line:
        return []
    gloss = data_line.split(" | ", 1)[1].strip()
    examples = [e.strip() for e in EXAMPLE.findall(gloss) if e.strip()]
    definition = EXAMPLE.sub("", gloss)
    definition = " ".join(definition.replace(" ;", ";").split()).strip(" ;")
    return [line for line in (definition, *examples) if line]
