"""Tokenizer: spaCy blank English or whitespace, lower-casing, number normalisation."""

from __future__ import annotations

import pytest
import spacy

from rnn_nlp.data import tokenize
from rnn_nlp.data.tokenize import NUMBER, Tokenizer


@pytest.fixture(scope="module")
def blank_en():
    return spacy.blank("en")


def test_spacy_splits_like_spacy_blank_english(blank_en):
    text = "Don't stop, U.S. folks!"
    expected = [t.text for t in blank_en(text)]
    assert Tokenizer("spacy")(text) == expected
    # and spaCy's own rules are what is meant: contraction split, abbreviation kept
    assert expected == ["Do", "n't", "stop", ",", "U.S.", "folks", "!"]


def test_spacy_is_the_default(blank_en):
    text = "Hello, world (again)."
    assert Tokenizer()(text) == [t.text for t in blank_en(text)]


def test_spacy_drops_whitespace_tokens(blank_en):
    text = "two  spaces\tand\ttabs  "
    spacy_tokens = [t.text for t in blank_en(text)]
    assert any(t.isspace() for t in spacy_tokens)  # spaCy keeps some whitespace as tokens ...
    assert Tokenizer("spacy")(text) == [t for t in spacy_tokens if not t.isspace()]  # ... we do not
    assert Tokenizer("spacy")(text) == ["two", "spaces", "and", "tabs"]


def test_lowercase():
    assert Tokenizer("spacy", lowercase=True)("Don't STOP, U.S. Folks!") == ["do", "n't", "stop", ",", "u.s.", "folks", "!"]
    assert Tokenizer("whitespace", lowercase=True)("The Cat SAT") == ["the", "cat", "sat"]


def test_no_lowercase_by_default():
    assert Tokenizer("whitespace")("The Cat") == ["The", "Cat"]


def test_normalize_numbers_maps_numeric_tokens_to_N():
    tok = Tokenizer("spacy", normalize_numbers=True)
    assert tok("pay 1,000 or 3.5 or 42 now") == ["pay", "N", "or", "N", "or", "N", "now"]


@pytest.mark.parametrize("token", ["1,000", "3.5", "42", "-5", "+3", "12:30", "1/2", ".5", "3-4", "1990-2000", "0"])
def test_number_regex_matches_numbers(token):
    assert NUMBER.match(token)
    assert Tokenizer("whitespace", normalize_numbers=True)(token) == ["N"]


@pytest.mark.parametrize("token", ["4th-grade", "4th", "2nd", "1990s", "N1", "A4", "-", ".", "abc", "3x"])
def test_number_regex_leaves_words_with_digits_alone(token):
    assert not NUMBER.match(token)
    assert Tokenizer("whitespace", normalize_numbers=True)(token) == [token]


def test_normalize_numbers_on_spacy_split_of_hyphenated_word():
    # spaCy splits "4th-grade" into 4th / - / grade: none of the pieces is a number
    assert Tokenizer("spacy", normalize_numbers=True)("4th-grade kids") == ["4th", "-", "grade", "kids"]


def test_normalized_numbers_stay_uppercase_N_when_lowercasing():
    tok = Tokenizer("whitespace", lowercase=True, normalize_numbers=True)
    assert tok("The 42 Cats") == ["the", "N", "cats"]


def test_numbers_untouched_without_normalize():
    assert Tokenizer("whitespace")("1,000 3.5 42") == ["1,000", "3.5", "42"]


def test_whitespace_mode_splits_on_any_whitespace_only():
    tok = Tokenizer("whitespace")
    assert tok("  Don't stop,\tU.S.  folks!\n") == ["Don't", "stop,", "U.S.", "folks!"]


@pytest.mark.parametrize("kind", ["spacy", "whitespace"])
@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_or_blank_line_gives_no_tokens(kind, text):
    assert Tokenizer(kind)(text) == []


@pytest.mark.parametrize("kind", ["spacy", "whitespace"])
def test_pipe_yields_one_list_per_text_in_order(kind):
    texts = ["a b", "", "c d e", "f"]
    out = list(Tokenizer(kind).pipe(texts))
    assert out == [["a", "b"], [], ["c", "d", "e"], ["f"]]


def test_pipe_matches_call():
    tok = Tokenizer("spacy", lowercase=True)
    texts = ["Hello World!", "It's 5 o'clock.", "U.K. and U.S."]
    assert list(tok.pipe(texts)) == [tok(t) for t in texts]


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown tokenizer 'bpe'"):
        Tokenizer("bpe")


def test_char_unit_gives_characters_with_single_spaces():
    tok = Tokenizer("spacy", unit="char")
    assert tok("Dusty  Rose\t!") == list("Dusty Rose !")
    assert Tokenizer(unit="char", lowercase=True)("Teal Ab") == list("teal ab")
    assert list(Tokenizer(unit="char").pipe(["ab", "", "c d "])) == [["a", "b"], [], ["c", " ", "d", " "]]


def test_unknown_unit_is_rejected():
    with pytest.raises(ValueError, match="unknown unit"):
        Tokenizer(unit="byte")


def test_token_spans_are_the_tokenizers_tokens_with_their_offsets():
    from rnn_nlp.data.tokenize import Tokenizer, normalize_word, token_spans

    text = "  Dr. Smith's caf\u00e9  paid $3,000 \ud800!\n"
    for kind in ("spacy", "whitespace"):
        spans = token_spans(text, kind)
        assert [t for t, _, _ in spans] == Tokenizer(kind)(text)
        # offsets index the original text (the lone surrogate reads as "?" for spaCy, one character still)
        assert all(t in (text[s:e], text[s:e].replace("\ud800", "?")) for t, s, e in spans)
    assert token_spans(text, "whitespace")[0] == ("Dr.", 2, 5)
    assert [normalize_word(w, True, True) for w in ("3,000", "Cat", "-1.5")] == ["N", "cat", "N"]
    assert normalize_word("Cat", False, True) == "Cat"


def test_ptbs_own_number_token_stays_N_when_lowercasing():
    # PTB's text (and english-mix, which holds it) writes every number as N: not the letter n
    tok = Tokenizer("whitespace", lowercase=True, normalize_numbers=True)
    assert tok("the N companies paid 42 N") == ["the", "N", "companies", "paid", "N", "N"]
    assert Tokenizer("whitespace", lowercase=True)("N") == ["n"]  # without normalize_numbers it is a letter


def test_prepare_builds_spacys_tokenizer_only_for_spacy_words():
    """A loaded model prepares its tokenizer so that its first prediction does not import spaCy."""
    tokenize._spacy_tokenizer.cache_clear()
    Tokenizer("whitespace").prepare()
    Tokenizer("spacy", unit="char").prepare()
    assert tokenize._spacy_tokenizer.cache_info().currsize == 0
    Tokenizer("spacy").prepare()
    assert tokenize._spacy_tokenizer.cache_info().currsize == 1
    assert Tokenizer("spacy")("Don't stop.") == ["Do", "n't", "stop", "."]


def _spacy_reference(blank_en, text: str, lowercase: bool = False, numbers: bool = False) -> list[str]:
    """What a whole-text spaCy Doc gives, whitespace tokens dropped and finished as Tokenizer finishes them."""
    doc = blank_en.tokenizer(tokenize._encodable(text))
    return [tokenize.normalize_word(t.text, lowercase, numbers) for t in doc if t.text.strip()]


TRICKY = [
    "a.m . p.m. U.S.A.",
    "Don't  can't\twon't\nain't",
    "e-mail me at x@y.com or https://x.org/a?b=1 !",
    '(hello)--world..."quoted"',
    "1,000.50 $3 -4 5/6 10:30",
    "\xa0nbsp\xa0here\u2009thin \u3000ideographic",
    ":) :-( <3 o.O",
    "C++ c# .NET node.js",
    "caf\u00e9 na\u00efve \U0001f600emoji\U0001f600",
    "'s 's 'S",
    "lone \ud800 surrogate",
    "",
    "   ",
    "\n\n",
    "end with space ",
    " start",
    "mid  double",
    "x\x1fy\x1cz",
    # a special-case pattern of several tokens running on over a space: spaCy reads these differently whole
    "loved it:) )",
    "so bad:( (",
    "I loved it ( -:)",
    "(._.)(._. )",
    "at 10 a.m . sharp",
    "it's 5 p.m .",
    ":- ) :-)",
]


@pytest.mark.parametrize("text", TRICKY)
def test_chunk_cache_gives_what_spacy_gives_for_the_whole_text(blank_en, text):
    tok = Tokenizer("spacy", lowercase=True, normalize_numbers=True)
    assert tok(text) == _spacy_reference(blank_en, text, True, True)
    assert tok(text) == _spacy_reference(blank_en, text, True, True)  # again, now from the cache


def test_chunk_cache_matches_spacy_on_random_texts(blank_en):
    """Texts drawn from letters, digits, punctuation, quotes and every kind of whitespace, with the cache warm
    from earlier texts: each text's tokens are those of spaCy reading it whole."""
    import random

    rng = random.Random(7)
    pieces = list("abcXYZ019.,;:!?'\"()[]-/$%&@#*+<=>_^o") + ["n't", "'s", "U.S.", "a.m.", "http://", ".com", "Mr.", "...", "--"]
    pieces += [":)", ":(", ":-)", "-_-", "._.", "<3", "a.m", "p.m", "0.0", "o.O", ":p", ";)", "(:", "^_^"]  # special cases
    spaces = [" ", "  ", "\t", "\n", "\xa0", "\u2009", "\r\n"]
    tok = Tokenizer("spacy")
    for _ in range(4000):
        text = "".join(rng.choice(pieces) if rng.random() < 0.75 else rng.choice(spaces) for _ in range(rng.randint(0, 25)))
        assert tok(text) == _spacy_reference(blank_en, text), repr(text)


def test_chunk_cache_is_bounded_and_never_hands_out_its_lists(monkeypatch):
    monkeypatch.setattr(tokenize, "CHUNK_CACHE", 3)
    tok = Tokenizer("spacy")
    first = tok("a b c")
    first.append("changed")  # a caller's list is its own: the cache is not touched
    assert tok("a b c") == ["a", "b", "c"]
    assert tok("d e f g") == ["d", "e", "f", "g"]
    assert len(tok._chunks) <= 3
