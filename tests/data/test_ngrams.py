"""Word n-grams for the classifier's bag-of-n-grams path: orders, the vocabulary's min count, unknown n-grams dropped."""

import pytest

from rnn_nlp.data.ngrams import build_ngram_vocab, ngram_ids, padded_ngram_ids, text_ngrams
from rnn_nlp.data.vocab import Vocab


def test_orders_one_to_n_each_once_in_order_of_first_appearance():
    tokens = ["not", "bad", "not", "bad", "at", "all"]
    assert text_ngrams(tokens, 1) == ["not", "bad", "at", "all"]
    assert text_ngrams(tokens, 2) == ["not", "bad", "at", "all", "not bad", "bad not", "bad at", "at all"]
    assert text_ngrams(tokens, 3)[-4:] == ["not bad not", "bad not bad", "not bad at", "bad at all"]
    assert text_ngrams(["one"], 3) == ["one"] and text_ngrams([], 2) == []


def test_the_vocabulary_counts_texts_and_keeps_those_seen_min_count_times():
    texts = [["not", "bad", "not", "bad"], ["not", "bad"], ["so", "bad"]]
    vocab = build_ngram_vocab(texts, 2, min_count=2)
    assert isinstance(vocab, Vocab)
    kept = vocab.itos[3:]
    assert set(kept) == {"not", "bad", "not bad"}  # "bad not" is in one text only (twice), "so" and "so bad" once
    assert vocab.counts[vocab.stoi["bad"]] == 3 and vocab.counts[vocab.stoi["not bad"]] == 2
    assert build_ngram_vocab(texts, 2, min_count=1, max_size=2).itos[3:] == ["bad", "not"]


def test_unknown_ngrams_are_dropped_never_read_as_unk():
    vocab = build_ngram_vocab([["good", "film"], ["good", "film"]], 2, min_count=2)
    ids = ngram_ids(["a", "good", "film", "indeed"], 2, vocab)
    assert [vocab.itos[i] for i in ids] == ["good", "film", "good film"]
    assert ngram_ids(["nothing", "known"], 2, vocab) == []
    assert ngram_ids(["<unk>", "<pad>"], 1, Vocab(["<pad>", "<unk>", "<eos>"])) == []  # specials are never n-grams


def test_padding_to_the_longest_and_at_least_one_column():
    assert padded_ngram_ids([[5, 6, 7], [8]]) == [[5, 6, 7], [8, 0, 0]]
    assert padded_ngram_ids([[], []]) == [[0], [0]]


def _word_vocab(words):
    return Vocab(["<pad>", "<unk>", "<eos>", *words])


def test_lookup_finds_the_ids_ngram_ids_finds_for_every_row_of_a_padded_batch():
    """Random texts over a small vocabulary, some words unknown, rows of every length (an empty text reads as one
    <unk>, as the predictor feeds it): each row's ids are the set ngram_ids gives from the strings."""
    import random

    import numpy as np

    from rnn_nlp.data.ngrams import NgramLookup

    rng = random.Random(3)
    known = [f"w{i}" for i in range(12)]
    words = _word_vocab(known)
    for n in (1, 2, 3):
        train = [[rng.choice(known) for _ in range(rng.randint(1, 9))] for _ in range(60)]
        grams = build_ngram_vocab(train, n, min_count=2)
        lookup = NgramLookup.build(grams, words, n)
        assert lookup is not None
        texts = [[rng.choice([*known, "never-seen"]) for _ in range(rng.randint(0, 10))] for _ in range(40)]
        seqs = [words.encode(t) or [words.unk_id] for t in texts]
        width = max(len(s) for s in seqs)
        batch = np.array([s + [0] * (width - len(s)) for s in seqs], np.int64)
        got = lookup.ids(batch)
        assert got.dtype == np.int64 and got.ndim == 2 and got.shape[1] >= 1
        for row, tokens in zip(got.tolist(), texts):
            nonzero = [i for i in row if i]
            assert len(nonzero) == len(set(nonzero))  # a binary bag: each n-gram once
            assert sorted(nonzero) == sorted(ngram_ids(tokens, n, grams))
        for seq, tokens in zip(seqs, texts):  # a text at a time, through dictionaries: the same sorted ids, [[0]] for none
            one = lookup.ids_of(seq)
            assert one.dtype == np.int64 and one.shape[0] == 1
            assert one[0].tolist() == (sorted(set(ngram_ids(tokens, n, grams))) or [0])


def test_lookup_is_not_built_where_an_ngram_word_has_no_id_of_its_own():
    from rnn_nlp.data.ngrams import NgramLookup

    grams = build_ngram_vocab([["rare", "film"], ["rare", "film"]], 2, min_count=2)
    assert NgramLookup.build(grams, _word_vocab(["film"]), 2) is None  # "rare" would read <unk>: strings only
    assert NgramLookup.build(grams, _word_vocab(["film", "rare"]), 2) is not None
    assert NgramLookup.build(grams, _word_vocab(["film", "rare"]), 0) is None


def test_lookup_guards_and_order_zero():
    from rnn_nlp.data.ngrams import NgramLookup

    grams = build_ngram_vocab([["good", "film", "here"], ["good", "film", "here"]], 3, min_count=2)
    words = _word_vocab(["film", "good", "here"])
    assert NgramLookup.build(grams, words, 3) is not None
    two = NgramLookup.build(grams, words, 2)  # the trigrams are skipped, as text_ngrams(..., 2) never forms them
    assert two is not None and len(two.keys) == 1  # bigrams only (unigrams are a dense table)
    big = Vocab(["<pad>", "<unk>", "<eos>", *(f"w{i}" for i in range(70_000))])
    assert NgramLookup.build(build_ngram_vocab([["w1", "w2"]] * 2, 4, min_count=2), big, 4) is None  # 70,003 ** 4 > 2 ** 62
    assert text_ngrams(["a", "b"], 0) == []


def test_ngram_scale_is_one_over_the_root_of_each_rows_ngrams():
    """What NgramLogits divides by (its count of non-padding ids, at least 1), as the graph's ngram_scale input."""
    import numpy as np
    import torch

    from rnn_nlp.data.ngrams import ngram_scale
    from rnn_nlp.nn.heads.classifier import NgramLogits

    ids = np.array([[5, 9, 4, 0], [0, 0, 0, 0], [7, 0, 0, 0]], np.int64)
    scale = ngram_scale(ids)
    assert scale.dtype == np.float32 and scale.shape == (3, 1)
    assert scale[:, 0].tolist() == pytest.approx([3**-0.5, 1.0, 1.0])
    logits = NgramLogits(10, 2, dropout=0.0).eval()
    torch.nn.init.normal_(logits.weights.weight)
    with torch.no_grad():
        logits.weights.weight[0] = 0.0
        summed = logits.weights(torch.from_numpy(ids)).sum(1).numpy()
        assert summed * scale == pytest.approx(logits(torch.from_numpy(ids)).numpy(), abs=1e-6)
