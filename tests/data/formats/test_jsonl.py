"""JSON lines and JSON files: hostile nesting is a DataError naming where, never a RecursionError."""

import pytest

from rnn_nlp.data.formats.jsonl import json_object


def test_deeply_nested_json_is_a_data_error_naming_the_line(tmp_path):
    from rnn_nlp.data.formats.squad import read_squad_file
    from rnn_nlp.errors import DataError

    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(DataError, match="input line 3: JSON nested too deeply"):
        json_object('{"question": ' + deep + "}", "input line 3")
    path = tmp_path / "train-v1.1.json"
    path.write_text('{"data": ' + deep + "}", encoding="utf-8")
    with pytest.raises(DataError, match="train-v1.1.json: JSON nested too deeply"):
        read_squad_file(path)
