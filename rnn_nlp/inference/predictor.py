"""Predicting with an ONNX export through onnxruntime and numpy alone: the same typed results as the torch model.

    from rnn_nlp import inference
    tagger = inference.load("exports/ner")          # int8=True: the quantized graph (model.int8.onnx)
    tagger.predict("Angela Merkel visited Paris.")  # TaggedText, as rnn_nlp.load(...).predict gives

Text is read as the torch model reads it (spaCy's blank English tokenizer, the run's lower-casing and number
rules, its vocabulary and characters; NER sentences longer than data.max_len tagged piece by piece and decoded
whole; a run trained with data.context reads each piece in its window of document context, the graph giving
every window token's scores and numpy keeping the piece's before Viterbi). The ONNX graph gives emission
scores (taggers) or probabilities (classifiers); Viterbi runs in numpy. Pretrained word vectors
(backbone.vectors) are read as the torch model reads them: the vocabulary's from the graph, and a word outside
the vocabulary that the vectors know from the whole table, memory-mapped from the run's backbone.vectors (a
vector set's name or a path) and fed to the graph's oov_vectors and oov inputs; the table stays out of the
export. Where it cannot be read, such words read <unk> (one warning says so), as a torch model loaded without
its vectors source reads them. A classifier with a bag-of-n-grams path (head.ngrams) gets each text's n-gram
ids from rnn_nlp.data.ngrams and the export's vocab.json, as the torch model does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rnn_nlp.data.fetchers.vector_sets import load_vectors
from rnn_nlp.data.inputs import (
    check_batch_size,
    chunked,
    context_windows,
    document_runs,
    first_tokens,
    input_documents,
    item_stream,
    word_chars,
)
from rnn_nlp.data.ngrams import NgramLookup, ngram_ids, ngram_scale, padded_ngram_ids
from rnn_nlp.data.tag_schemes import convert, tagged_text
from rnn_nlp.data.tokenize import Tokenizer, normalize_word, prepare_spacy, spacy_docs
from rnn_nlp.data.vectors import WordVectors, outside_vectors, token_rows
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import CheckpointError, ConfigError, DataError
from rnn_nlp.inference.decoding import softmax, viterbi
from rnn_nlp.inference.folder import check_file, read_export
from rnn_nlp.inference.pooling import pool_weights
from rnn_nlp.results import Classification, TaggedText

log = logging.getLogger(__name__)

PREDICT_BATCH = 64
ROW_CACHE = 100_000  # words outside the vocabulary whose vector-table row a predictor remembers (cleared when full)
REMEMBERED_LENGTH = 256  # the longest text whose constant inputs (zero vectors, pool weights) a predictor remembers


def _session(folder: Path, manifest: dict, int8: bool, threads: int | None) -> Any:
    try:
        import onnxruntime as ort
    except ImportError:
        raise ConfigError('the ONNX predictor needs onnxruntime: pip install "rnn-nlp[inference]"') from None
    name = manifest["graph"]
    if int8:
        if "int8" not in manifest:
            raise CheckpointError(f"{folder}: no int8 graph; export it with `rnn-nlp export RUN OUT --onnx --int8`")
        name = manifest["int8"]["graph"]
    data = check_file(folder, name, manifest["_hashes"])
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def remembered(cache: dict, key: int, make: Callable[[], Any]) -> Any:
    """`cache[key]`, made by `make()` at the first ask: an array or a dict of arrays, made read-only, as every
    later single-text feed of that key shares it."""
    value = cache.get(key)
    if value is None:
        value = cache[key] = make()
        for array in value.values() if isinstance(value, dict) else [value]:
            array.flags.writeable = False
    return value


def padded(seqs: list[list[int]], pad: int) -> np.ndarray:
    """[len(seqs), longest] int64 ids, each row right-padded with `pad`."""
    steps = max(len(s) for s in seqs)
    if all(len(s) == steps for s in seqs):
        return np.array(seqs, np.int64)
    batch = np.full((len(seqs), steps), pad, np.int64)
    for k, s in enumerate(seqs):
        batch[k, : len(s)] = s
    return batch


class OnnxModel:
    """What both predictors share: the export's files, one onnxruntime session, predict and predict_stream."""

    def __init__(self, folder: str | Path, int8: bool = False, threads: int | None = None):
        self.path, self.config, self.vocab_json, self.manifest = read_export(folder)
        self.task = str(self.manifest["task"])
        self.int8 = int8
        self.session = _session(self.path, self.manifest, int8, threads)
        self.vocab = Vocab.from_json(self.vocab_json.get("tokens"), str(self.path / "vocab.json"), "tokens")
        self.data = self.config.get("data") or {}
        self.head = self.config.get("head") or {}
        self.numbers = bool(self.data.get("normalize_numbers"))
        shapes = {i.name: i.shape for i in self.session.get_inputs()}
        self.graph_inputs = set(shapes)  # what the graph takes (an exporter drops an input the network never reads)
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.vectors_dim = int(shapes["oov_vectors"][-1]) if "oov_vectors" in shapes else None
        self.vectors = self._read_vectors() if self.vectors_dim is not None else None
        self._rows: dict[tuple[str, str], int] = {}  # (token, word) -> its row in the vectors table (-1: none)
        self._zeros: dict[int, dict[str, np.ndarray]] = {}  # length -> a single text's vector inputs with nothing found
        # (each length up to REMEMBERED_LENGTH once: at most about 6.6 MB with 50-d vectors, 40 MB with 300-d)

    def _read_vectors(self) -> WordVectors | None:
        """The whole table of backbone.vectors, memory-mapped and found as the torch model finds it; None (and one
        warning) where it cannot be read, so that words outside the vocabulary read <unk>."""
        source = str((self.config.get("backbone") or {}).get("vectors") or "")
        try:
            vectors = load_vectors(source)
            if vectors.dim != self.vectors_dim:
                raise DataError(f"word vectors {source} are {vectors.dim}-d, but this model was built with {self.vectors_dim}-d vectors")
            vectors.index()  # at load, not at the first prediction
            return vectors
        except (DataError, OSError, ValueError, ImportError) as exc:  # ImportError: a set whose first fetch needs pyarrow
            log.warning(
                "%s: the pretrained vectors of words outside the vocabulary cannot be read (%s), so such words read <unk>, as a "
                "PyTorch model loaded without its vectors reads them. To read them, make backbone.vectors (%r in config.yaml) "
                "readable here: the vectors file at that path, or for a named set its one-time fetch into the cache.",
                self.path,
                exc,
                source,
            )
            return None

    def _vector_feed(self, ids: np.ndarray, tokens: list[list[str]], words: list[list[str]]) -> dict[str, np.ndarray]:
        """The graph's oov_vectors [B, T, dim] float32 and oov [B, T] bool for a padded batch `ids` of `tokens`
        (`words`: as the vocabulary sees them): True and the token's vector where its id is <unk> and the table
        knows it, as VectorEmbedding.forward reads it. Zeros and False without the table; {} for a graph without."""
        if self.vectors_dim is None:
            return {}
        if ids.shape[0] == 1:
            return self._vector_feed_one(ids, tokens[0], words[0])
        unk = ids == self.vocab.unk_id
        if self.vectors is None or not unk.any():  # nothing to look up: what outside_vectors gives without rows
            return {"oov_vectors": np.zeros((*ids.shape, self.vectors_dim), np.float32), "oov": np.zeros(ids.shape, bool)}
        rows = np.full(ids.shape, -1, np.int64)
        for k, j in zip(*np.nonzero(unk)):  # only a token that reads <unk> needs its row (an empty text's <unk> has none)
            if j < len(tokens[k]):
                rows[k, j] = self._row(tokens[k][j], words[k][j])
        found, oov = outside_vectors(ids, rows, self.vocab.unk_id, self.vectors.matrix, self.vectors_dim)
        return {"oov_vectors": found, "oov": oov}

    def _vector_feed_one(self, ids: np.ndarray, tokens: list[str], words: list[str]) -> dict[str, np.ndarray]:
        """_vector_feed of a single text, the same arrays without whole-array passes: most texts have no word the
        vectors must supply, and then share one read-only pair of zero arrays per length."""
        steps, unk, dim = ids.shape[1], self.vocab.unk_id, int(self.vectors_dim or 0)
        found = []
        if self.vectors is not None:
            for j, i in enumerate(ids[0].tolist()):
                if i == unk and j < len(tokens) and (row := self._row(tokens[j], words[j])) >= 0:
                    found.append((j, row))

        def zeros() -> dict[str, np.ndarray]:
            return {"oov_vectors": np.zeros((1, steps, dim), np.float32), "oov": np.zeros((1, steps), bool)}

        if not found and steps <= REMEMBERED_LENGTH:
            return remembered(self._zeros, steps, zeros)
        feed = zeros()
        vectors, oov = feed["oov_vectors"], feed["oov"]
        for j, row in found:
            vectors[0, j] = self.vectors.matrix[row]  # type: ignore[union-attr]  # found is empty without vectors
            oov[0, j] = True
        return feed

    def _row(self, token: str, word: str) -> int:
        """`token`'s row in the vectors table (-1: none), remembered (at most ROW_CACHE words, then forgotten)."""
        key = (token, word)
        row = self._rows.get(key)
        if row is None:
            assert self.vectors is not None
            if len(self._rows) >= ROW_CACHE:
                self._rows.clear()
            row = self._rows[key] = token_rows(self.vectors, [token], [word], self.numbers)[0]
        return row

    def __repr__(self) -> str:
        return f"<{type(self).__name__} task={self.task!r} from {self.path}{' (int8)' if self.int8 else ''}>"

    def predict(self, inputs: str | Iterable[str], batch_size: int | None = None) -> Any:
        """One text -> one result; a list (or any iterable) of texts -> a list of results, in order."""
        results = list(self.predict_stream(inputs, batch_size))
        return results[0] if isinstance(inputs, str) else results

    def predict_stream(self, inputs: str | Iterable[str], batch_size: int | None = None) -> Iterator[Any]:
        check_batch_size(batch_size)
        if isinstance(inputs, str):
            inputs = [inputs]
        texts = item_stream(inputs, "inputs")  # a dict, set or bytes is refused as the PyTorch model refuses it
        for chunk in chunked(texts, batch_size or PREDICT_BATCH):
            yield from self._predict_batch(chunk)

    def _predict_batch(self, texts: list[str]) -> list:
        raise NotImplementedError


class OnnxTagger(OnnxModel):
    """An NER or POS export: `predict(text)` -> TaggedText (entities with offsets and scores for NER)."""

    def __init__(self, folder: str | Path, int8: bool = False, threads: int | None = None):
        super().__init__(folder, int8, threads)
        self.labels: list[str] = list(self.vocab_json["tags"])
        self.chunked = self.vocab_json.get("scheme", "none") != "none"
        self.train_scheme = self.data.get("train_scheme", "bioes") if self.chunked else "none"
        chars = self.vocab_json.get("chars") or []
        self.char_ids = {c: i for i, c in enumerate(chars)}
        self.max_word_chars = int(self.head.get("max_word_chars", 30))
        self.uses_chars = "chars" in self.manifest["inputs"]
        crf = self.manifest.get("crf")
        self.crf = None if crf is None else tuple(np.asarray(crf[k], dtype=np.float32) for k in ("start", "transitions", "end"))
        prepare_spacy()  # raw text is read with spaCy's tokenizer: built at load, not at the first prediction

    def _emissions(self, pieces: list[list[str]], batch_size: int = PREDICT_BATCH) -> list[np.ndarray]:
        """Each piece's emission scores [len, K], pieces run in batches of `batch_size` of similar length."""
        out: list[np.ndarray] = [np.zeros((0, len(self.labels)), np.float32)] * len(pieces)
        order = sorted(range(len(pieces)), key=lambda i: len(pieces[i]))
        lowercase = bool(self.data.get("lowercase"))
        for rows in chunked(order, batch_size):
            lengths = np.array([len(pieces[i]) for i in rows], np.int64)
            words = [[normalize_word(t, lowercase, self.numbers) for t in pieces[i]] for i in rows]
            ids = padded([self.vocab.encode(sentence) for sentence in words], self.vocab.pad_id)
            steps = ids.shape[1]
            feed = {"ids": ids, **self._vector_feed(ids, [pieces[i] for i in rows], words)}
            if "lengths" in self.graph_inputs:  # a graph with no backward direction and no chars never reads it
                feed["lengths"] = lengths
            if self.uses_chars:
                spelt = [[word_chars(t, self.char_ids, self.max_word_chars) for t in pieces[i]] for i in rows]
                width = max(1, max(len(w) for ws in spelt for w in ws))
                chars = np.zeros((len(rows), steps, width), np.int64)
                for k, ws in enumerate(spelt):
                    for t, w in enumerate(ws):
                        chars[k, t, : len(w)] = w
                feed["chars"] = chars
            scores = self.session.run(None, feed)[0]
            for k, i in enumerate(rows):
                out[i] = scores[k, : len(pieces[i])].astype(np.float32)
        return out

    def tag_tokens_scored(
        self, sentences: list[list[str]], batch_size: int | None = None, document: bool | None = None
    ) -> tuple[list[list[str]], list[list[float]]]:
        """Tags (IOB2 for chunk tags) of tokenized sentences and each tag's probability (its token's softmax).
        `document` as the torch model's `tag_tokens` takes it: with data.context the sentences are one document
        unless False."""
        batch = check_batch_size(batch_size) or PREDICT_BATCH
        limit, context = int(self.data.get("max_len", 150)), int(self.data.get("context", 0))
        windows, owner, places = [], [], []
        documents = input_documents(len(sentences), context, document) if context else None
        for run in document_runs(documents, len(sentences)):
            tokens = [t for n in run for t in sentences[n]]
            for w in context_windows([len(sentences[n]) for n in run], limit, context):
                windows.append(tokens[w.lo : w.hi])
                owner.append(run[w.sentence])
                places.append((w.left, w.size))
        scores = self._emissions(windows, batch)
        whole: list[list[np.ndarray]] = [[] for _ in sentences]
        for n, e, (left, size) in zip(owner, scores, places):
            whole[n].append(e[left : left + size])
        tags, probs = [], []
        for parts in whole:
            e = np.concatenate(parts, 0) if parts else np.zeros((0, len(self.labels)), np.float32)
            path = viterbi(e, *self.crf) if self.crf is not None else [int(i) for i in e.argmax(-1)]
            chosen = softmax(e)[np.arange(len(path)), path] if path else np.zeros(0, np.float32)
            names = [self.labels[i] for i in path]
            tags.append(names if self.train_scheme == "none" else convert(names, self.train_scheme, "iob2"))
            probs.append(chosen.tolist())
        return tags, probs

    def tag_tokens(self, sentences: list[list[str]], batch_size: int | None = None, document: bool | None = None) -> list[list[str]]:
        """Tags (IOB2 for chunk tags) of tokenized sentences; an empty sentence gets []."""
        return self.tag_tokens_scored(sentences, batch_size, document)[0]

    def _predict_batch(self, texts: list[str]) -> list[TaggedText]:
        kept = [[t for t in doc if not t.is_space] for doc in spacy_docs(texts)]
        tags, probs = self.tag_tokens_scored([[t.text for t in toks] for toks in kept], len(texts), document=False)
        return [tagged_text(text, toks, tg, pr, self.chunked) for text, toks, tg, pr in zip(texts, kept, tags, probs)]


class OnnxClassifier(OnnxModel):
    """A classification export: `predict(text)` -> Classification (label and every label's probability)."""

    def __init__(self, folder: str | Path, int8: bool = False, threads: int | None = None):
        super().__init__(folder, int8, threads)
        self.labels: list[str] = list(self.vocab_json["labels"])
        d = self.data
        self.tokenizer = Tokenizer(d.get("tokenizer", "spacy"), bool(d.get("lowercase")), self.numbers)
        self.tokenizer.prepare()  # at load, not at the first prediction
        self.multi_label = bool(self.head.get("multi_label"))
        self.threshold = float(self.head.get("threshold", 0.5))
        self.ngram_order = int(self.head.get("ngrams") or 0)
        self.ngram_vocab = None  # head.ngrams: the n-gram vocabulary the graph's ngram_ids input reads
        if "ngram_ids" in self.manifest["inputs"]:
            self.ngram_vocab = Vocab.from_json(self.vocab_json.get("ngrams"), str(self.path / "vocab.json"), "ngrams")
        # the same ids found from word ids, a batch at a time, where that is exact (else from the tokens' strings)
        self.ngram_lookup = None if self.ngram_vocab is None else NgramLookup.build(self.ngram_vocab, self.vocab, self.ngram_order)
        self._pools: dict[int, np.ndarray] = {}  # text length -> pool_weights of one text that long
        self._scales: dict[int, np.ndarray] = {}  # number of n-grams -> ngram_scale of one text with that many
        if self.ngram_vocab is not None and self.ngram_lookup is None:
            log.debug("%s: some n-gram word has no id of its own in the word vocabulary: n-grams are read from strings", self.path)

    def probabilities(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """[len(texts), len(labels)] float32 probabilities (a text with no tokens reads as one <unk>)."""
        return self._probabilities_of(self._tokens(texts), check_batch_size(batch_size) or PREDICT_BATCH)

    def _tokens(self, texts: list[str]) -> list[list[str]]:
        """Each text's tokens as the vocabulary sees them (the run's tokenizer and rules), at most data.max_tokens."""
        limit = self.data.get("max_tokens")
        return [first_tokens(tokens, limit) for tokens in self.tokenizer.pipe(texts)]

    def _probabilities_of(self, tokens: list[list[str]], batch_size: int = PREDICT_BATCH) -> np.ndarray:
        out = np.zeros((len(tokens), len(self.labels)), np.float32)
        unk = self.vocab.unk_id
        seqs = [self.vocab.encode(t) or [unk] for t in tokens]  # an empty text reads as one <unk> (with no row)
        if batch_size == 1:  # a text at a time: no padding, sorting or gathering
            for i, seq in enumerate(seqs):
                out[i] = self.session.run(self.outputs, self._feed(np.array([seq], np.int64), [len(seq)], tokens[i : i + 1]))[0][0]
            return out
        order: Iterable[int] = range(len(seqs))
        if len(seqs) > batch_size:  # batches of like lengths pad less
            order = sorted(order, key=lambda i: len(seqs[i]))
        for rows in chunked(order, batch_size):
            batch = padded([seqs[i] for i in rows], self.vocab.pad_id)
            texts = [tokens[i] for i in rows]
            out[rows] = self.session.run(self.outputs, self._feed(batch, [len(seqs[i]) for i in rows], texts))[0]
        return out

    def _feed(self, batch: np.ndarray, lengths: list[int], texts: list[list[str]]) -> dict[str, np.ndarray]:
        """The inputs this export's graph takes for a padded `batch` of word ids of `texts`: of ids, lengths, pool
        (an export older than pool derives its masks from lengths), the vectors inputs, ngram_ids and ngram_scale."""
        feed = {"ids": batch, **self._vector_feed(batch, texts, texts)}
        if "lengths" in self.graph_inputs:
            feed["lengths"] = np.array(lengths, np.int64)
        if "pool" in self.graph_inputs:
            feed["pool"] = self._pool(lengths, batch.shape[1])
        if self.ngram_vocab is not None:
            if self.ngram_lookup is not None and len(texts) == 1:
                grams = self.ngram_lookup.ids_of(batch[0].tolist())
            elif self.ngram_lookup is not None:
                grams = self.ngram_lookup.ids(batch)
            else:
                grams = np.array(padded_ngram_ids([ngram_ids(t, self.ngram_order, self.ngram_vocab) for t in texts]), np.int64)
            feed["ngram_ids"] = grams
            if "ngram_scale" in self.graph_inputs:
                feed["ngram_scale"] = ngram_scale(grams) if len(texts) > 1 else self._scale(grams)
        return feed

    def _scale(self, grams: np.ndarray) -> np.ndarray:
        """ngram_scale of a single text's n-grams [1, K], remembered by their number."""
        return remembered(self._scales, int(np.count_nonzero(grams)), lambda: ngram_scale(grams))

    def _pool(self, lengths: list[int], steps: int) -> np.ndarray:
        """pool_weights, remembered for a single unpadded text of each length up to REMEMBERED_LENGTH (batch 1 asks
        for the same few again and again)."""
        if len(lengths) > 1 or lengths[0] != steps or steps > REMEMBERED_LENGTH:
            return pool_weights(np.array(lengths), steps)
        return remembered(self._pools, steps, lambda: pool_weights(np.array(lengths), steps))

    def decide(self, probs: np.ndarray) -> list:
        if self.multi_label:
            return [[self.labels[j] for j in range(len(self.labels)) if p[j] >= self.threshold] for p in probs]
        return [self.labels[int(j)] for j in probs.argmax(-1)]

    def _predict_batch(self, texts: list[str]) -> list[Classification]:
        tokens = self._tokens(texts)
        probs = self._probabilities_of(tokens, len(texts))
        labels = self.decide(probs)
        return [
            Classification(text, label, {n: round(float(v), 6) for n, v in zip(self.labels, p)}, None if x else "no tokens in this text")
            for text, label, p, x in zip(texts, labels, probs, tokens)
        ]


def load(folder: str | Path, int8: bool = False, threads: int | None = None) -> OnnxModel:
    """The torch-free predictor of an export written with `--onnx`: an OnnxTagger (ner, pos) or OnnxClassifier
    (classify). `int8`: the quantized graph (needs `--int8` at export); `threads`: onnxruntime's intra-op threads."""
    _, _, _, manifest = read_export(folder)
    kinds = {"emissions": OnnxTagger, "probabilities": OnnxClassifier}
    cls = kinds.get(str(manifest.get("output")))
    if cls is None:
        raise CheckpointError(f"{folder}: onnx.json names an output this rnn_nlp does not know ({manifest.get('output')!r})")
    return cls(folder, int8, threads)
