"""The built-in recipes as `rnn-nlp recipes` lists them: each with a one-line summary that is a whole sentence."""

from __future__ import annotations

import pytest

from rnn_nlp.builtin_recipes import recipe_description, recipe_names
from rnn_nlp.cli import main


@pytest.mark.parametrize("name", recipe_names())
def test_each_recipe_has_a_whole_one_line_summary(name):
    summary = recipe_description(name)
    assert summary.endswith("."), f"{name}: the summary stops mid-sentence: {summary!r}"
    assert 20 <= len(summary) <= 120, f"{name}: {len(summary)} characters"
    assert not summary.lower().startswith(("rnn-nlp ", "python ")), f"{name}: a command, not a summary"


def test_recipes_prints_every_summary_whole(capsys):
    main(["recipes"])
    out = capsys.readouterr().out
    for name in recipe_names():
        assert f"{name}" in out and recipe_description(name) in out
