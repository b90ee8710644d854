"""The fetcher table holds every built-in corpus, entered once in registrations.py (spaCy's
test_registry_population, for our one registry)."""

from rnn_nlp.data.fetchers import ptb
from rnn_nlp.data.fetchers.cache import FETCHERS

BUILT_IN = [
    "bbc-headlines",
    "bbc-news",
    "bible-en-es",
    "brown",
    "conll2003",
    "conll2003-cloze",
    "conll2003-cloze-anon",
    "english-mix",
    "paint-colors",
    "ptb",
    "rotten-tomatoes",
    "sotu",
]


def test_the_table_holds_exactly_the_built_in_corpora():
    from rnn_nlp.data.fetchers.registrations import BUILT_IN as entered

    assert sorted(f.name for f in entered) == BUILT_IN
    assert BUILT_IN == sorted(name for name in FETCHERS if name in BUILT_IN)
    assert all(FETCHERS[f.name] is f for f in entered)


def test_corpora_made_from_other_corpora_say_so():
    assert {name: f.requires for name, f in FETCHERS.items() if f.requires} == {
        "bbc-headlines": ("bbc-news",),
        "conll2003-cloze": ("conll2003",),
        "conll2003-cloze-anon": ("conll2003",),
        "english-mix": ("ptb", "brown", "sotu"),
    }


def test_ptb_is_registered():
    assert "ptb" in FETCHERS
    assert FETCHERS["ptb"].build is ptb.fetch_ptb
    assert "Penn Treebank" in FETCHERS["ptb"].description


def test_both_corpora_are_registered():
    assert {"paint-colors", "sotu"} <= set(FETCHERS)


def test_fetchers_are_registered_with_their_counts():
    assert "12,752 distinct" in FETCHERS["rotten-tomatoes"].description
    assert "2,127 distinct" in FETCHERS["bbc-news"].description


def test_registered():
    assert {"conll2003", "brown"} <= set(FETCHERS)


def test_english_mix_writes_its_own_folder_and_says_how_to_read_it():
    mix = FETCHERS["english-mix"]
    assert mix.writes_folder and not any(f.writes_folder for name, f in FETCHERS.items() if name != "english-mix")
    assert "data.tokenizer: whitespace" in mix.description and "manifest.json" in mix.description
