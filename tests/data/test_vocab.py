"""Vocab: frequency order, specials, pruning, <unk> counts, encode/decode, JSON round trip."""

from __future__ import annotations

import json

import pytest

from rnn_nlp.data.vocab import EOS, PAD, SPECIALS, UNK, Vocab
from rnn_nlp.errors import CheckpointError

SENTENCES = [
    ["b", "a", "c", "b"],
    ["a", "d", "b", "e"],
    ["c", "a", "b", "d"],
]
# counts: b=4, a=3, c=2, d=2, e=1


def test_specials_first_then_falling_frequency_ties_alphabetical():
    vocab = Vocab.build(SENTENCES)
    assert vocab.itos == [PAD, UNK, EOS, "b", "a", "c", "d", "e"]
    assert vocab.counts == [0, 0, 0, 4, 3, 2, 2, 1]
    assert (vocab.pad_id, vocab.unk_id, vocab.eos_id) == (0, 1, 2)
    assert [vocab.stoi[s] for s in SPECIALS] == [0, 1, 2]
    assert len(vocab) == 8
    assert vocab.unit == "word"


def test_ties_are_alphabetical_whatever_the_order_seen():
    vocab = Vocab.build([["zeta", "alpha", "mid"], ["mid", "zeta", "alpha"]])
    assert vocab.itos[3:] == ["alpha", "mid", "zeta"]


def test_min_count_drops_rare_words_into_unk():
    vocab = Vocab.build(SENTENCES, min_count=2)
    assert vocab.itos == [PAD, UNK, EOS, "b", "a", "c", "d"]
    assert vocab.counts[vocab.unk_id] == 1  # the one "e"
    assert "e" not in vocab
    assert "b" in vocab


def test_max_size_keeps_most_frequent_and_folds_the_rest_into_unk():
    vocab = Vocab.build(SENTENCES, max_size=2)
    assert vocab.itos == [PAD, UNK, EOS, "b", "a"]
    assert vocab.counts == [0, 2 + 2 + 1, 0, 4, 3]
    assert len(vocab) == 2 + len(SPECIALS)


def test_max_size_and_min_count_together():
    vocab = Vocab.build(SENTENCES, max_size=10, min_count=3)
    assert vocab.itos[3:] == ["b", "a"]
    assert vocab.counts[vocab.unk_id] == 2 + 2 + 1


def test_unk_tokens_in_text_count_towards_unk_and_are_not_duplicated():
    vocab = Vocab.build([["<unk>", "x", "<unk>"], ["x", "y"]])
    assert vocab.itos == [PAD, UNK, EOS, "x", "y"]
    assert vocab.counts[vocab.unk_id] == 2
    assert vocab.itos.count(UNK) == 1


def test_literal_special_tokens_are_counted_at_their_own_id():
    vocab = Vocab.build([["a", "<eos>", "b", "<eos>"], ["<unk>"]])
    assert vocab.encode(["<eos>", "<unk>"]) == [vocab.eos_id, vocab.unk_id]
    assert vocab.counts[vocab.eos_id] == 2
    assert vocab.counts[vocab.unk_id] == 1


def test_counts_total_equals_tokens_seen():
    vocab = Vocab.build(SENTENCES, max_size=3, min_count=1)
    assert sum(vocab.counts) == sum(len(s) for s in SENTENCES)


def test_encode_unknown_gives_unk_and_decode_inverts():
    vocab = Vocab.build(SENTENCES)
    assert vocab.encode(["b", "e", "never-seen", "a"]) == [3, 7, 1, 4]
    assert vocab.decode([3, 7, 1, 4, 2, 0]) == ["b", "e", UNK, "a", EOS, PAD]
    assert vocab.encode([]) == []
    assert vocab.encode(["<eos>"]) == [vocab.eos_id]


def test_build_accepts_a_generator():
    vocab = Vocab.build(iter(s for s in SENTENCES))
    assert vocab.itos[3] == "b"


def test_constructor_requires_specials_and_unique_tokens():
    with pytest.raises(ValueError, match="specials"):
        Vocab(["a", "b", "c"])
    with pytest.raises(ValueError, match="twice"):
        Vocab([PAD, UNK, EOS, "a", "a"])


def test_save_load_roundtrip(tmp_path):
    vocab = Vocab.build([["héllo", "wörld", "héllo"], ["日本"]], unit="word")
    path = tmp_path / "vocab.json"
    vocab.save(path)
    again = Vocab.load(path)
    assert again.itos == vocab.itos
    assert again.counts == vocab.counts
    assert again.unit == vocab.unit
    assert again.stoi == vocab.stoi
    # stored as readable UTF-8 JSON, not \u escapes
    text = path.read_text(encoding="utf-8")
    assert "héllo" in text
    assert json.loads(text) == vocab.to_json()


def test_load_without_counts_or_unit_uses_defaults(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps({"itos": [PAD, UNK, EOS, "a"]}), encoding="utf-8")
    vocab = Vocab.load(path)
    assert vocab.counts == [0, 0, 0, 0]
    assert vocab.unit == "word"


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"counts": [0, 0, 0]}),  # no itos
        json.dumps({"itos": ["a", "b", "c"]}),  # no specials
        json.dumps([1, 2, 3]),  # not an object
        json.dumps({"itos": [PAD, UNK, EOS, "x", "x"]}),  # duplicate
    ],
)
def test_corrupt_vocab_raises_checkpoint_error_naming_the_file(tmp_path, content):
    path = tmp_path / "vocab.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CheckpointError) as info:
        Vocab.load(path)
    assert str(path) in str(info.value)


def test_missing_or_binary_vocab_file_raises_checkpoint_error(tmp_path):
    missing = tmp_path / "nowhere" / "vocab.json"
    with pytest.raises(CheckpointError, match="vocab.json"):
        Vocab.load(missing)
    binary = tmp_path / "vocab.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CheckpointError) as info:
        Vocab.load(binary)
    assert str(binary) in str(info.value)
