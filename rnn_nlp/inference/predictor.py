"""Predicting with an ONNX export through onnxruntime and numpy alone: the same typed results as the torch model.

    from rnn_nlp import inference
    tagger = inference.load("exports/ner")          # int8=True: the quantized graph (model.int8.onnx)
    tagger.predict("Angela Merkel visited Paris.")  # TaggedText, as rnn_nlp.load(...).predict gives

Text is read as the torch model reads it (spaCy's blank English tokenizer, the run's lower-casing and number
rules, its vocabulary and characters; NER sentences longer than data.max_len tagged piece by piece and
decoded whole). The ONNX graph gives emission scores (taggers) or probabilities (classifiers); Viterbi runs
in numpy. Pretrained word vectors are read from the vocabulary's own rows (words outside it read <unk>), as a
torch model loaded without its vectors source reads them: the whole table stays out of the graph, and the
export says so (a warning, onnx.json's "word_vectors", a line in the model card; docs/export.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rnn_nlp.data.inputs import check_text, chunked, first_tokens, sentence_pieces, word_chars
from rnn_nlp.data.tag_schemes import convert, tagged_text
from rnn_nlp.data.tokenize import Tokenizer, normalize_word, spacy_docs
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import CheckpointError, ConfigError
from rnn_nlp.inference.decoding import softmax, viterbi
from rnn_nlp.inference.folder import check_file, read_export
from rnn_nlp.results import Classification, TaggedText

PREDICT_BATCH = 64


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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} task={self.task!r} from {self.path}{' (int8)' if self.int8 else ''}>"

    def predict(self, inputs: str | Iterable[str], batch_size: int | None = None) -> Any:
        """One text -> one result; a list (or any iterable) of texts -> a list of results, in order."""
        results = list(self.predict_stream(inputs, batch_size))
        return results[0] if isinstance(inputs, str) else results

    def predict_stream(self, inputs: str | Iterable[str], batch_size: int | None = None) -> Iterator[Any]:
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if isinstance(inputs, str):
            inputs = [inputs]
        texts = (check_text(t, f"inputs[{i}]") for i, t in enumerate(inputs))
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

    def _emissions(self, pieces: list[list[str]], batch_size: int = PREDICT_BATCH) -> list[np.ndarray]:
        """Each piece's emission scores [len, K], pieces run in batches of `batch_size` of similar length."""
        out: list[np.ndarray] = [np.zeros((0, len(self.labels)), np.float32)] * len(pieces)
        order = sorted(range(len(pieces)), key=lambda i: len(pieces[i]))
        lowercase, numbers = bool(self.data.get("lowercase")), bool(self.data.get("normalize_numbers"))
        for rows in chunked(order, batch_size):
            steps = max(len(pieces[i]) for i in rows)
            ids = np.zeros((len(rows), steps), np.int64)
            lengths = np.array([len(pieces[i]) for i in rows], np.int64)
            for k, i in enumerate(rows):
                ids[k, : len(pieces[i])] = self.vocab.encode(normalize_word(t, lowercase, numbers) for t in pieces[i])
            feed = {"ids": ids, "lengths": lengths}
            if self.uses_chars:
                words = [[word_chars(t, self.char_ids, self.max_word_chars) for t in pieces[i]] for i in rows]
                width = max(1, max(len(w) for ws in words for w in ws))
                chars = np.zeros((len(rows), steps, width), np.int64)
                for k, ws in enumerate(words):
                    for t, w in enumerate(ws):
                        chars[k, t, : len(w)] = w
                feed["chars"] = chars
            scores = self.session.run(None, feed)[0]
            for k, i in enumerate(rows):
                out[i] = scores[k, : len(pieces[i])].astype(np.float32)
        return out

    def tag_tokens_scored(self, sentences: list[list[str]], batch_size: int | None = None) -> tuple[list[list[str]], list[list[float]]]:
        """Tags (IOB2 for chunk tags) of tokenized sentences and each tag's probability (its token's softmax)."""
        limit = int(self.data.get("max_len", 150))
        pieces, owner = [], []
        for n, tokens in enumerate(sentences):
            for _, piece in sentence_pieces(tokens, limit):
                pieces.append(piece)
                owner.append(n)
        scores = self._emissions(pieces, batch_size or PREDICT_BATCH)
        whole: list[list[np.ndarray]] = [[] for _ in sentences]
        for n, e in zip(owner, scores):
            whole[n].append(e)
        tags, probs = [], []
        for parts in whole:
            e = np.concatenate(parts, 0) if parts else np.zeros((0, len(self.labels)), np.float32)
            path = viterbi(e, *self.crf) if self.crf is not None else [int(i) for i in e.argmax(-1)]
            chosen = softmax(e)[np.arange(len(path)), path] if path else np.zeros(0, np.float32)
            names = [self.labels[i] for i in path]
            tags.append(names if self.train_scheme == "none" else convert(names, self.train_scheme, "iob2"))
            probs.append(chosen.tolist())
        return tags, probs

    def tag_tokens(self, sentences: list[list[str]], batch_size: int | None = None) -> list[list[str]]:
        """Tags (IOB2 for chunk tags) of tokenized sentences; an empty sentence gets []."""
        return self.tag_tokens_scored(sentences, batch_size)[0]

    def _predict_batch(self, texts: list[str]) -> list[TaggedText]:
        kept = [[t for t in doc if not t.is_space] for doc in spacy_docs(texts)]
        tags, probs = self.tag_tokens_scored([[t.text for t in toks] for toks in kept], len(texts))
        return [tagged_text(text, toks, tg, pr, self.chunked) for text, toks, tg, pr in zip(texts, kept, tags, probs)]


class OnnxClassifier(OnnxModel):
    """A classification export: `predict(text)` -> Classification (label and every label's probability)."""

    def __init__(self, folder: str | Path, int8: bool = False, threads: int | None = None):
        super().__init__(folder, int8, threads)
        self.labels: list[str] = list(self.vocab_json["labels"])
        d = self.data
        self.tokenizer = Tokenizer(d.get("tokenizer", "spacy"), bool(d.get("lowercase")), bool(d.get("normalize_numbers")))
        self.multi_label = bool(self.head.get("multi_label"))
        self.threshold = float(self.head.get("threshold", 0.5))

    def probabilities(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """[len(texts), len(labels)] float32 probabilities (a text with no tokens reads as one <unk>)."""
        return self._probabilities_of(self._ids(texts), batch_size or PREDICT_BATCH)

    def _ids(self, texts: list[str]) -> list[list[int]]:
        limit = self.data.get("max_tokens")
        return [self.vocab.encode(first_tokens(tokens, limit)) for tokens in self.tokenizer.pipe(texts)]

    def _probabilities_of(self, ids: list[list[int]], batch_size: int = PREDICT_BATCH) -> np.ndarray:
        out = np.zeros((len(ids), len(self.labels)), np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for rows in chunked(order, batch_size):
            seqs = [ids[i] or [self.vocab.unk_id] for i in rows]
            steps = max(len(s) for s in seqs)
            batch = np.full((len(rows), steps), self.vocab.pad_id, np.int64)
            for k, s in enumerate(seqs):
                batch[k, : len(s)] = s
            lengths = np.array([len(s) for s in seqs], np.int64)
            out[rows] = self.session.run(None, {"ids": batch, "lengths": lengths})[0]
        return out

    def decide(self, probs: np.ndarray) -> list:
        if self.multi_label:
            return [[self.labels[j] for j in range(len(self.labels)) if p[j] >= self.threshold] for p in probs]
        return [self.labels[int(j)] for j in probs.argmax(-1)]

    def _predict_batch(self, texts: list[str]) -> list[Classification]:
        ids = self._ids(texts)
        probs = self._probabilities_of(ids, len(texts))
        labels = self.decide(probs)
        return [
            Classification(text, label, {n: round(float(v), 6) for n, v in zip(self.labels, p)}, None if x else "no tokens in this text")
            for text, label, p, x in zip(texts, labels, probs, ids)
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
