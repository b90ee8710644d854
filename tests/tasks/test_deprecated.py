"""The user's model classes under their old `...Run` names: the same classes, with a DeprecationWarning."""

from __future__ import annotations

import importlib

import pytest

OLD_NAMES = {
    "rnn_nlp.tasks.lm": ("LanguageModelRun", "LanguageModel"),
    "rnn_nlp.tasks.tagging": ("TaggerRun", "TaggerModel"),
    "rnn_nlp.tasks.classification": ("ClassifierRun", "ClassifierModel"),
    "rnn_nlp.tasks.qa": ("ReaderRun", "ReaderModel"),
    "rnn_nlp.tasks.seq2seq": ("Seq2SeqRun", "Seq2SeqModel"),
}


@pytest.mark.parametrize("module", sorted(OLD_NAMES))
def test_an_old_name_warns_and_gives_the_new_class(module):
    old, new = OLD_NAMES[module]
    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=f"{module}.{old} is deprecated.*use {module}.{new}"):
        cls = getattr(mod, old)
    assert cls is getattr(mod, new)


def test_an_unknown_name_is_still_an_attribute_error():
    mod = importlib.import_module("rnn_nlp.tasks.lm")
    with pytest.raises(AttributeError, match="NoSuchRun"):
        _ = mod.NoSuchRun
