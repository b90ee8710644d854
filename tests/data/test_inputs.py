"""rnn_nlp.data.inputs: the text-to-input steps the PyTorch models and the torch-free ONNX predictor share."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rnn_nlp.data.inputs import check_text, chunked, first_tokens, sentence_pieces, word_chars

ROOT = Path(__file__).resolve().parents[2]


def test_check_text_names_the_input_and_what_it_got():
    assert check_text("fine", "inputs[0]") == "fine"
    with pytest.raises(TypeError, match=r"^inputs\[1\] must be a str, got int 3$"):
        check_text(3, "inputs[1]")


def test_chunked_reads_a_stream_a_batch_at_a_time():
    assert list(chunked(iter(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunked([], 3)) == []
    seen = []

    def stream():
        for i in range(10):
            seen.append(i)
            yield i

    first = next(chunked(stream(), 4))
    assert first == [0, 1, 2, 3] and seen == [0, 1, 2, 3]  # never read whole


def test_sentence_pieces_cover_the_sentence_in_order():
    tokens = [f"w{i}" for i in range(7)]
    assert list(sentence_pieces(tokens, 3)) == [(0, ["w0", "w1", "w2"]), (3, ["w3", "w4", "w5"]), (6, ["w6"])]
    assert list(sentence_pieces(tokens, 7)) == [(0, tokens)]
    assert list(sentence_pieces([], 3)) == []


def test_first_tokens_cuts_only_with_a_limit():
    assert first_tokens(["a", "b", "c"], 2) == ["a", "b"]
    assert first_tokens(["a", "b", "c"], None) == ["a", "b", "c"]


def test_word_chars_keep_a_long_words_two_ends():
    ids = {c: i + 2 for i, c in enumerate("abcdefghij")}
    assert word_chars("abc", ids, 30) == [2, 3, 4]
    assert word_chars("abz", ids, 30) == [2, 3, 1]  # an unknown character reads 1
    assert word_chars("abcdefghij", ids, 5) == [2, 3, 9, 10, 11]  # "ab" + "hij"
    assert word_chars("abcdefghij", ids, 4) == [2, 3, 10, 11]  # "ab" + "ij"


def test_it_imports_without_torch():
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"  # `import torch` raises ImportError
        "import rnn_nlp.data.inputs\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch' and sys.modules[m] is not None))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
