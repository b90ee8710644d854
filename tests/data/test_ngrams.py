"""Word n-grams for the classifier's bag-of-n-grams path: orders, the vocabulary's min count, unknown n-grams dropped."""

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
