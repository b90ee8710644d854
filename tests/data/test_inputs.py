"""rnn_nlp.data.inputs: the text-to-input steps the PyTorch models and the torch-free ONNX predictor share."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rnn_nlp.data.inputs import Window, check_text, chunked, context_windows, document_runs, first_tokens, word_chars

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
    """Without context a window is its piece: a sentence cut into pieces of `limit` tokens, in order."""
    assert [(w.start, w.size, w.lo, w.hi) for w in context_windows([7], 3, 0)] == [(0, 3, 0, 3), (3, 3, 3, 6), (6, 1, 6, 7)]
    assert [(w.start, w.size) for w in context_windows([7], 7, 0)] == [(0, 7)]
    assert list(context_windows([], 3, 0)) == list(context_windows([0], 3, 0)) == []


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


def test_document_runs_group_consecutive_ids_and_never_merge_a_returning_id():
    assert document_runs(None, 3) == [range(0, 1), range(1, 2), range(2, 3)]
    assert document_runs(["a", "a", "b", "b", "b", "a"], 6) == [range(0, 2), range(2, 5), range(5, 6)]
    assert document_runs([], 0) == []
    with pytest.raises(ValueError, match="2 document ids for 3 sentences"):
        document_runs([0, 0], 3)


def test_context_windows_stop_at_the_document_edges():
    # sentences of 3, 2 and 4 tokens: document positions 0-2, 3-4, 5-8
    windows = list(context_windows([3, 2, 4], limit=10, context=2))
    assert windows == [
        Window(sentence=0, start=0, size=3, lo=0, hi=5, left=0),  # nothing before the first sentence
        Window(sentence=1, start=0, size=2, lo=1, hi=7, left=2),  # the nearest tokens on each side
        Window(sentence=2, start=0, size=4, lo=3, hi=9, left=2),  # nothing after the last
    ]
    tokens = ["a0", "a1", "a2", "b0", "b1", "c0", "c1", "c2", "c3"]
    for w in windows:
        window = tokens[w.lo : w.hi]
        assert window[w.left : w.left + w.size] == tokens[sum([3, 2, 4][: w.sentence]) :][: w.size]


def test_context_windows_of_cut_sentences_and_without_context():
    # one sentence of 5 tokens cut into pieces of 2: each piece reads its own sentence's neighbours
    assert list(context_windows([5], limit=2, context=1)) == [
        Window(0, 0, 2, 0, 3, 0),
        Window(0, 2, 2, 1, 5, 1),
        Window(0, 4, 1, 3, 5, 1),
    ]
    assert [(w.lo, w.hi, w.left) for w in context_windows([3, 0, 2], limit=5, context=0)] == [(0, 3, 0), (3, 5, 0)]
    assert [w.sentence for w in context_windows([3, 0, 2], limit=5, context=4)] == [0, 2]  # an empty sentence has no piece
