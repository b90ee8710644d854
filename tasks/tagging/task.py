"""Sequence tagging: `ner` (entity chunks, scored by seqeval) and `pos` (one tag a token, scored by accuracy).

Sentences come from a fetcher (`conll2003`, `brown`), CoNLL / CoNLL-U / word-tag files, or a hub name
(rnn_nlp.data.tagged). NER tags are converted to `data.train_scheme` (BIOES by default) for training
and back to IOB2 for seqeval. Sentences longer than `data.max_len` are cut into pieces, tagged piece
by piece and put back together; empty sentences are skipped; both are counted in the log. A tag the
training data never had is reported (it can only be counted wrong), never crashed on.

Document context (`data.context: N`, FLERT, Schweter & Akbik 2020): each piece is read in a window of
up to N tokens of its document on each side (the previous sentences' last tokens, the next sentences'
first ones; never another document's). The backbone, the character features and a fresh BiLSTM read
the whole window; the emissions are cut to the piece's own tokens before the CRF or softmax, so the
loss and the predicted tags cover the sentence only. It needs each sentence's document (a `document`
column, or a CoNLL file's -DOCSTART- lines) and costs about (sentence + 2N) / sentence times the
encoder's work a sentence: with N = 32 on CoNLL-2003 (about 14 tokens a sentence) 4 to 5 times an epoch's time.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from rnn_nlp.config import RunConfig
from rnn_nlp.data.batching import length_buckets, pad_batch
from rnn_nlp.data.inputs import context_windows, document_runs, input_documents, word_chars
from rnn_nlp.data.splits import train_alone, with_valid_in_train
from rnn_nlp.data.tag_schemes import SCHEMES, allowed_transitions, convert, detect_scheme, is_chunk_tagset
from rnn_nlp.data.tagged import DOCUMENT, load_tagged_corpus
from rnn_nlp.data.tokenize import normalize_word
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import ConfigError, DataError
from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.heads.tagger import TaggerHead, TaggerHeadConfig, TaggerNetwork
from rnn_nlp.tasks.base import Task, name_list, optional_entry, read_vocab_json, vocab_entry
from rnn_nlp.tasks.tagging import string_lm
from rnn_nlp.tasks.tagging.evaluation import TaggingEvaluation
from rnn_nlp.tasks.tagging.model import TaggerModel
from rnn_nlp.tasks.tagging.string_lm import StringLM
from rnn_nlp.tasks.word_vectors import attach_vectors, padded_rows, vector_rows
from rnn_nlp.validation import positive_keys, probability_keys

log = logging.getLogger(__name__)
CHAR_SPECIALS = ("<pad>", "<unk>")  # character ids 0 and 1


@dataclass
class TaggingDataConfig:
    name: str = "conll2003"  # a fetcher name, a CoNLL / CoNLL-U / word-tag file or folder, or a hub name
    hub_config: str | None = None
    format: Literal["auto", "conll", "conllu", "word_tag"] = "auto"
    token_column: int = 0  # CoNLL column files: which column holds the token ...
    tag_column: int = -1  # ... and which the tag (-1: the last)
    conllu_tag: Literal["upos", "xpos"] = "upos"
    separator: str = "/"  # word_tag files
    tokens_field: str = "tokens"  # fetched and hub tables: the token column ...
    tags_field: str = "tags"  # ... and the tag column (brown: "raw_tags" for the 472 Brown tags)
    scheme: Literal["auto", "iob1", "iob2", "bioes", "none"] = "auto"  # the data's tags; none: plain tags
    train_scheme: Literal["iob2", "bioes"] = "bioes"  # chunk tags as the model learns them
    lowercase: bool = False  # word ids only; character features always see the original case
    normalize_numbers: bool = False  # numbers -> "N" for word ids (PTB's convention)
    vocab_size: int | None = 50000
    min_count: int = 1
    max_train_sentences: int | None = None  # the first N training sentences only (quick runs; before valid joins them)
    # train on train + valid (flair's train_with_dev, how published CoNLL-2003 figures are often trained): the
    # latest model is kept (valid selects nothing) and a plateau schedule reads the training loss
    train_with_dev: bool = False
    max_len: int = 150  # longer sentences are cut into pieces of this many tokens (context not counted)
    # Document context (FLERT): read each sentence with up to this many tokens of its document on each side
    # (0: none). Needs the data's documents (a `document` column; CoNLL files: -DOCSTART- lines). An epoch
    # costs about (sentence + 2 * context) / sentence times the encoder's work; loss and tags stay the sentence's.
    context: int = 0
    context_dropout: float = 0.0  # training: read a window's sentence alone with this probability (FLERT)
    # Accepted shorthand of `stages: [{name: lm_pretrain, epochs: N, corpora: [...], time_budget_s: S}, {name: task}]`
    # (an LM on the task's training text plus these corpora first), resolved into `stages:` when the config is built.
    pretrain_epochs: int = 0
    pretrain_corpora: list[str] = field(default_factory=list)
    pretrain_time_budget_s: float | None = None


@dataclass
class PosDataConfig(TaggingDataConfig):
    name: str = "brown"
    scheme: Literal["auto", "iob1", "iob2", "bioes", "none"] = "none"


class Piece:
    """Up to max_len tokens of one sentence in their window of document context, encoded, and the window's
    tokens themselves (`words`, for string embeddings); `first` / `last`: it opens / closes the sentence.

    `ids`, `chars`, `words` and `vector_rows` cover the window; `tags` the piece's own tokens, which are the
    window's [left, left + len(tags)). Without context the window is the piece and `left` is 0.
    """

    __slots__ = ("sentence", "start", "ids", "chars", "tags", "first", "last", "words", "vector_rows", "left")

    def __init__(
        self,
        sentence: int,
        start: int,
        ids: list[int],
        chars: list[list[int]],
        tags: list[int],
        first: bool = True,
        last: bool = True,
        words: tuple[str, ...] = (),
        vector_rows: list[int] | None = None,
        left: int = 0,
    ):
        self.sentence, self.start, self.ids, self.chars, self.tags = sentence, start, ids, chars, tags
        self.first, self.last, self.words = first, last, words
        self.vector_rows = vector_rows  # each token's row in backbone.vectors' table (-1: none)
        self.left = left

    def without_context(self) -> Piece:
        """The piece read alone, its window cut to its own tokens (data.context_dropout)."""
        a, b = self.left, self.left + len(self.tags)
        rows = None if self.vector_rows is None else self.vector_rows[a:b]
        return Piece(self.sentence, self.start, self.ids[a:b], self.chars[a:b], self.tags, self.first, self.last, self.words[a:b], rows)


class TaggingTask(TaggingEvaluation, Task):
    """The shared machinery of `ner` and `pos`; the subclasses choose data defaults and the metric."""

    head_config = TaggerHeadConfig
    model_class = TaggerModel
    examples_name = "sentences"
    chunked = True  # NER: chunk tags, seqeval
    tag_fallbacks: tuple[str, ...] = ()
    shard_batch = staticmethod(string_lm.shard_with_words)  # DDP: a batch's "words" are cut as its tensors' rows are

    def __init__(self, cfg: RunConfig, vocab_json: dict | None = None):
        super().__init__(cfg)
        saved = read_vocab_json(vocab_json, ("tokens", "chars", "tags"))
        self.vocab = vocab_entry(saved, "tokens") if saved is not None else None
        self.chars: list[str] | None = name_list(saved, "chars", starts_with=CHAR_SPECIALS) if saved is not None else None
        self.tags: list[str] | None = name_list(saved, "tags", at_least=2) if saved is not None else None
        self.source_scheme: str | None = optional_entry(saved, "scheme", (str,), choices=("none", *SCHEMES)) if saved is not None else None
        self.string_lm_entry = string_lm.saved_string_lm(saved, cfg.head)  # the string embedder's char LM (else read from its run)
        self._splits: dict | None = None
        self._pieces: dict[str, list[Piece]] = {}
        self._char_ids: dict[str, int] | None = None
        self.data_name = cfg.data.name  # the corpus actually loaded (`evaluate --data` may change it)

    @staticmethod
    def validate_config(cfg: RunConfig, source: str) -> None:
        positive_keys(
            cfg, source, ["data.vocab_size", "data.min_count", "data.max_train_sentences", "data.max_len", "data.pretrain_time_budget_s"]
        )
        positive_keys(cfg, source, ["head.encoder_size", "head.char_emb_size", "head.char_size", "head.char_kernel", "head.max_word_chars"])
        probability_keys(cfg, source, ["head.dropout", "head.word_dropout", "data.context_dropout"])
        if cfg.data.context < 0:
            raise ConfigError(f"{source}: data.context must be >= 0 (tokens of document context on each side; 0: none)")
        if cfg.data.context_dropout and not cfg.data.context:
            raise ConfigError(f"{source}: data.context_dropout drops document context, but data.context is 0 (no context to drop)")
        if cfg.head.string_embeddings == "" or cfg.head.string_embeddings_cache_mb < 0:
            raise ConfigError(
                f"{source}: head.string_embeddings must name a run folder (or be null), head.string_embeddings_cache_mb be >= 0"
            )
        if not cfg.data.separator or cfg.data.separator.isspace():
            raise ConfigError(f"{source}: data.separator must be a non-space character such as '/'")
        if cfg.data.pretrain_epochs < 0:
            raise ConfigError(f"{source}: data.pretrain_epochs must be >= 0")
        if cfg.head.freeze_backbone and cfg.trainer.gradual_unfreezing:
            raise ConfigError(f"{source}: head.freeze_backbone and trainer.gradual_unfreezing contradict each other")

    # ---- data ------------------------------------------------------------------------
    def splits(self) -> dict:
        if self._splits is None:
            self._splits = self._load(self.cfg.data.name)
            limit = self.cfg.data.max_train_sentences
            if limit:
                self._splits["train"] = {k: v[:limit] for k, v in self._splits["train"].items()}
            if self.cfg.data.train_with_dev:
                self._splits = with_valid_in_train(self._splits, self.data_name, DOCUMENT)
        return self._splits

    def _load(self, name: str, whole: bool = False) -> dict:
        d = self.cfg.data
        splits = load_tagged_corpus(
            name,
            d.format,
            d.tokens_field,
            d.tags_field,
            d.hub_config,
            self.tag_fallbacks,
            whole=whole,
            token_column=d.token_column,
            tag_column=d.tag_column,
            conllu_tag=d.conllu_tag,
            separator=d.separator,
        )
        for split, part in splits.items():
            keep = []
            for i, (tokens, tags) in enumerate(zip(part["tokens"], part["tags"])):
                if len(tokens) != len(tags):
                    raise DataError(f"{name} [{split}] sentence {i + 1}: {len(tokens)} tokens but {len(tags)} tags")
                if tokens:
                    keep.append(i)
            if len(keep) < len(part["tokens"]):
                log.warning("%s [%s]: skipped %d empty sentences", name, split, len(part["tokens"]) - len(keep))
                splits[split] = {k: [v[i] for i in keep] for k, v in part.items()}
        lacking = [split for split, part in splits.items() if DOCUMENT not in part]
        if d.context and lacking:
            advice = (
                "this run was trained with it, so it can only read data with documents"
                if whole
                else "use a data set with documents (conll2003, brown, CoNLL files) or data.context=0"
            )
            raise ConfigError(
                f"data.context={d.context} reads each sentence with its document's neighbouring sentences, but {name} "
                f"[{', '.join(lacking)}] has no documents (no '{DOCUMENT}' column; a CoNLL file gives them by its -DOCSTART- "
                f"lines, and one file without them leaves its split without documents): {advice}"
            )
        return splits

    def split_records(self, split: str) -> dict | None:
        return self.splits().get(split)

    def use_data(self, name: str) -> None:
        """Evaluate on other data than the config names (`rnn-nlp evaluate --data`); a single file whole, as every split."""
        self._splits, self._pieces = self._load(name, whole=True), {}
        self.data_name = name

    def scheme(self) -> str:
        """The data's chunk scheme ("none" for plain tags such as POS)."""
        if self.source_scheme is None and not self.chunked:
            self.source_scheme = "none"  # POS tags are plain tags, whatever they look like
        if self.source_scheme is None:
            chosen = self.cfg.data.scheme
            train_tags = self.splits()["train"]["tags"]
            if chosen == "auto":
                chosen = detect_scheme(train_tags) if is_chunk_tagset({t for s in train_tags for t in s}) else "none"
                log.info("%s: tag scheme %s", self.cfg.data.name, chosen)
            if self.chunked and chosen == "none":
                raise ConfigError(
                    f"data.scheme: task ner needs chunk tags (B-/I-/E-/S-), but {self.cfg.data.name} has plain tags; use task pos"
                )
            self.source_scheme = chosen
        return self.source_scheme

    def to_train_scheme(self, tags: list[str]) -> list[str]:
        s = self.scheme()
        return tags if s == "none" else convert(tags, s, self.cfg.data.train_scheme)

    def to_eval_scheme(self, tags: list[str], source: str | None = None) -> list[str]:
        """Chunk tags as seqeval reads them (IOB2); plain tags unchanged."""
        s = source or self.scheme()
        return tags if s == "none" else convert(tags, s, "iob2")

    def word(self, token: str) -> str:
        """A token as the vocabulary sees it (data.lowercase, data.normalize_numbers)."""
        return normalize_word(token, self.cfg.data.lowercase, self.cfg.data.normalize_numbers)

    def token_vocab(self) -> Vocab:
        if self.vocab is None:
            d = self.cfg.data
            words = ([self.word(t) for t in s] for s in self.splits()["train"]["tokens"])
            self.vocab = Vocab.build(words, d.vocab_size, d.min_count)
            log.info("vocabulary: %d words", len(self.vocab))
        return self.vocab

    def char_list(self) -> list[str]:
        if self.chars is None:
            seen = sorted({c for s in self.splits()["train"]["tokens"] for t in s for c in t})
            self.chars = list(CHAR_SPECIALS) + seen
        return self.chars

    def tag_names(self) -> list[str]:
        if self.tags is None:
            seen = {t for s in self.splits()["train"]["tags"] for t in self.to_train_scheme(s)}
            self.tags = sorted(seen, key=lambda t: (t != "O", t[2:] if t[1:2] == "-" else t, t))
            if len(self.tags) < 2:
                raise DataError(f"{self.cfg.data.name}: the training data has only the tag {self.tags}; need two or more")
        return self.tags

    def char_lm(self) -> StringLM | None:
        """The string embedder's char LM (None: no string embeddings): the run's own copy, else read from head.string_embeddings."""
        if self.string_lm_entry is None and self.cfg.head.string_embeddings:
            self.string_lm_entry = string_lm.read_string_lm(self.cfg.head.string_embeddings)
        return self.string_lm_entry

    def vocab_json(self) -> dict:
        out = {"tokens": self.token_vocab().to_json(), "chars": self.char_list(), "tags": self.tag_names(), "scheme": self.scheme()}
        entry = self.char_lm()
        return out if entry is None else {**out, string_lm.KEY: entry.to_json()}

    def encode_chars(self, token: str) -> list[int]:
        """Character ids of a word (1 for unknown characters); long words keep their two ends."""
        if self._char_ids is None:
            self._char_ids = {c: i for i, c in enumerate(self.char_list())}
        return word_chars(token, self._char_ids, self.cfg.head.max_word_chars)

    def encode_sentences(
        self,
        sentences: list[list[str]],
        tags: list[list[str]] | None = None,
        where: str = "input",
        documents: Sequence[Hashable] | None = None,
    ) -> list[Piece]:
        """Pieces of at most data.max_len tokens, each in its window of data.context tokens of its document
        on each side (`documents`: each sentence's document id, sentences in document order; None: each
        sentence alone). A document is encoded once and its windows cut from it; a sentence cut into
        pieces is counted in the log."""
        vocab, limit = self.token_vocab(), self.cfg.data.max_len
        index = {t: i for i, t in enumerate(self.tag_names())}
        pieces, cut = [], 0
        for run in document_runs(documents if self.cfg.data.context else None, len(sentences)):
            tokens = [t for n in run for t in sentences[n]]
            if not tokens:  # empty sentences have no piece
                continue
            words = [self.word(t) for t in tokens]
            ids, chars, rows = vocab.encode(words), [self.encode_chars(t) for t in tokens], vector_rows(self.cfg, tokens, words)
            # each sentence's tag ids once, however many pieces it is cut into
            run_tags = {
                n: [index.get(t, -1) for t in self.to_train_scheme(tags[n])] if tags is not None else [-1] * len(sentences[n]) for n in run
            }
            for w in context_windows([len(sentences[n]) for n in run], limit, self.cfg.data.context):
                n = run[w.sentence]
                length = len(sentences[n])
                cut += w.start == 0 and length > limit
                tag_ids = run_tags[n]
                pieces.append(
                    Piece(
                        n,
                        w.start,
                        ids[w.lo : w.hi],
                        chars[w.lo : w.hi],
                        tag_ids[w.start : w.start + w.size],
                        w.start == 0,
                        w.start + w.size >= length,
                        tuple(tokens[w.lo : w.hi]),
                        None if rows is None else rows[w.lo : w.hi],
                        w.left,
                    )
                )
        if cut:
            log.warning(
                "%s: %d sentences longer than data.max_len=%d tokens were cut into pieces and tagged piece by piece", where, cut, limit
            )
        return pieces

    def pieces(self, split: str) -> list[Piece]:
        if split not in self._pieces:
            part = self.splits().get(split)
            if not part or not part["tokens"]:
                hint = "" if split == "train" else " (a corpus with only training data: try --split train)"
                raise DataError(f"{self.data_name}: no sentences in the {split} split{hint}")
            where = f"{self.data_name} [{split}]"
            self._pieces[split] = self.encode_sentences(part["tokens"], part["tags"], where, part.get(DOCUMENT))
            if split != "train":
                self.warn_unseen_tags(part["tags"], where)
        return self._pieces[split]

    def make_batch(self, pieces: list[Piece], device: torch.device) -> dict:
        """Padded windows, and the pieces' tags [B, S] (S: the longest piece). With data.context, also each
        piece's place in its window ("window_left", "sentence_lengths" [B]), where the network cuts its scores."""
        ids, lengths = pad_batch([p.ids for p in pieces], self.token_vocab().pad_id)
        steps = ids.size(1)
        size = max(len(p.tags) for p in pieces)
        tags = torch.tensor([p.tags + [-1] * (size - len(p.tags)) for p in pieces], dtype=torch.long)
        batch: dict[str, Any] = {
            "ids": ids.to(device),
            "lengths": lengths,
            "tags": tags.to(device),
            "starts_sentence": torch.tensor([p.first for p in pieces], device=device),
            "ends_sentence": torch.tensor([p.last for p in pieces], device=device),
        }
        if self.cfg.head.char_features != "none":
            width = max(1, max(len(w) for p in pieces for w in p.chars))
            blank = [0] * width
            rows = [[w + [0] * (width - len(w)) for w in p.chars] + [blank] * (steps - len(p.chars)) for p in pieces]
            batch["chars"] = torch.tensor(rows, dtype=torch.long).to(device)
        if pieces[0].vector_rows is not None:
            batch["vector_rows"] = padded_rows([p.vector_rows or [] for p in pieces], steps).to(device)
        if self.cfg.head.string_embeddings:
            batch["words"] = [p.words for p in pieces]
        if self.cfg.data.context:
            batch["window_left"] = torch.tensor([p.left for p in pieces], device=device)
            batch["sentence_lengths"] = torch.tensor([len(p.tags) for p in pieces], device=device)
        return batch

    def batches(
        self, pieces: list[Piece], batch_size: int, seed: int | None, device: torch.device, start: int = 0
    ) -> Iterator[tuple[list[int], dict]]:
        for rows in length_buckets([len(p.ids) for p in pieces], batch_size, seed)[start:]:
            yield rows, self.make_batch([pieces[i] for i in rows], device)

    # ---- model and training -------------------------------------------------------------
    def build_model(self) -> TaggerNetwork:
        vocab, tags = self.token_vocab(), self.tag_names()
        backbone = Backbone(self.cfg.backbone, len(vocab), vocab.pad_id)
        attach_vectors(self.cfg, backbone, vocab)
        if self.cfg.head.encoder == "backbone" and len(backbone.directions) == 1:
            log.warning(
                "the tagger sees only the %s direction of the backbone; head.encoder=bilstm adds context from both sides",
                backbone.directions[0],
            )
        scheme = self.cfg.data.train_scheme if self.scheme() != "none" else "none"
        entry = self.char_lm()
        strings = string_lm.string_embedder(entry, self.cfg.head) if entry is not None else None
        head = TaggerHead(backbone.output_dim, len(tags), self.cfg.head, len(self.char_list()), allowed_transitions(tags, scheme), strings)
        if self.cfg.head.freeze_backbone:
            backbone.freeze(0)
        return TaggerNetwork(backbone, head, vocab.unk_id)

    def adopt_pretrained(self) -> None:
        """`pretrained: <char-level LM run>` becomes the string embedder; head.string_embeddings is checked here."""
        string_lm.take_char_pretrained(self.cfg, log)
        self.char_lm()

    def start_from_pretrained(self, model: torch.nn.Module) -> None:
        """A fresh run's string embedder takes the char LM's weights from its run."""
        if isinstance(model, TaggerNetwork) and model.head.strings is not None and self.cfg.head.string_embeddings:
            string_lm.load_string_lm_weights(model.head.strings, self.cfg.head.string_embeddings)

    def steps_per_epoch(self) -> int:
        return -(-len(self.pieces("train")) // self.cfg.trainer.batch_size)

    def train_batches(self, epoch: int, start_step: int, device: torch.device) -> Iterator[dict]:
        seed = self.epoch_seed(epoch)
        pieces = self.pieces("train")
        p = self.cfg.data.context_dropout
        if self.cfg.data.context and p > 0:  # drawn from the epoch's seed: a resumed epoch drops the same windows
            draw = random.Random(seed)
            pieces = [piece.without_context() if draw.random() < p else piece for piece in pieces]
        for _, batch in self.batches(pieces, self.cfg.trainer.batch_size, seed, device, start_step):
            yield batch

    def lm_text(self) -> tuple[dict[str, list[str]], dict]:
        """Training and validation sentences, one a line, words as the tagger's vocabulary sees them (with
        data.train_with_dev the LM stage still trains on train alone, so that valid stays its held-out text)."""
        splits = self.splits()
        train, valid = (train_alone(splits) if self.cfg.data.train_with_dev else splits["train"])["tokens"], splits["valid"]["tokens"]
        return {split: [" ".join(self.word(t) for t in s) for s in part] for split, part in (("train", train), ("valid", valid))}, {}

    # ---- use ----------------------------------------------------------------------------
    @torch.no_grad()
    def decode_pieces(
        self, model: TaggerNetwork, pieces: list[Piece], n_sentences: int, batch_size: int, device: torch.device
    ) -> tuple[list[list[int]], float, int, list[list[float]]]:
        """(tag ids per sentence, summed loss, loss count, each decoded tag's probability): pieces scored,
        then each sentence decoded whole.

        The emissions of a sentence's pieces are put back together before Viterbi, so a chunk that
        crosses a cut is decoded as one chunk and the sentence's tags stay well-formed. A tag's
        probability is the softmax of its token's emission scores (for a CRF, a confidence that
        leaves out the transitions, not the exact marginal).
        """
        emissions: dict[tuple[int, int], torch.Tensor] = {}
        loss_sum, loss_n = 0.0, 0
        for rows, batch in self.batches(pieces, batch_size, None, device):
            result = model(batch)
            if result.get("loss_count"):
                loss_sum += float(result["loss_sum"])
                loss_n += result["loss_count"]
            for k, row in enumerate(rows):
                emissions[(pieces[row].sentence, pieces[row].start)] = result["emissions"][k, : len(pieces[row].tags)].float()
        by_sentence: dict[int, list[torch.Tensor]] = {}
        for (n, _), e in sorted(emissions.items(), key=lambda kv: kv[0]):
            by_sentence.setdefault(n, []).append(e)
        whole = {n: torch.cat(parts, 0) for n, parts in by_sentence.items()}
        paths: list[list[int]] = [[] for _ in range(n_sentences)]
        order = sorted(whole, key=lambda n: whole[n].size(0))
        for i in range(0, len(order), batch_size):
            rows = order[i : i + batch_size]
            steps = max(whole[n].size(0) for n in rows)
            scores = torch.zeros(len(rows), steps, len(self.tag_names()), device=device)
            mask = torch.zeros(len(rows), steps, dtype=torch.bool, device=device)
            for k, n in enumerate(rows):
                scores[k, : whole[n].size(0)] = whole[n]
                mask[k, : whole[n].size(0)] = True
            for n, path in zip(rows, model.decode(scores, mask)):
                paths[n] = path
        probs: list[list[float]] = [[] for _ in range(n_sentences)]
        for n, e in whole.items():
            chosen = torch.tensor(paths[n], dtype=torch.long, device=e.device).unsqueeze(1)
            probs[n] = e.softmax(-1).gather(1, chosen).squeeze(1).tolist()
        return paths, loss_sum, loss_n, probs

    @torch.no_grad()
    def tag_tokens(
        self,
        model: TaggerNetwork,
        sentences: list[list[str]],
        device: torch.device,
        batch_size: int | None = None,
        document: bool | None = None,
    ) -> list[list[str]]:
        """Predicted tags (IOB2 for chunk tags) of tokenized sentences; empty sentences get []. With
        data.context the sentences are one document in order (`document`: see `rnn_nlp.data.inputs.input_documents`)."""
        return self.tag_tokens_scored(model, sentences, device, batch_size, document)[0]

    @torch.no_grad()
    def tag_tokens_scored(
        self,
        model: TaggerNetwork,
        sentences: list[list[str]],
        device: torch.device,
        batch_size: int | None = None,
        document: bool | None = None,
    ) -> tuple[list[list[str]], list[list[float]]]:
        """`tag_tokens`, and each tag's probability (see `decode_pieces`)."""
        was_training = model.training
        model.eval()
        pieces = self.encode_sentences(sentences, None, "input", input_documents(len(sentences), self.cfg.data.context, document))
        names = self.tag_names()
        paths, _, _, probs = self.decode_pieces(model, pieces, len(sentences), batch_size or self.cfg.trainer.eval_batch_size, device)
        out = [[names[i] for i in path] for path in paths]
        model.train(was_training)
        train_scheme = self.cfg.data.train_scheme if self.scheme() != "none" else "none"
        return [self.to_eval_scheme(tags, train_scheme) for tags in out], probs


class NerTask(TaggingTask):
    name = "ner"
    data_config = TaggingDataConfig
    tag_fallbacks = ("ner_tags",)  # hub tables
    selection = ("f1", "max")
    chunked = True


class PosTask(TaggingTask):
    name = "pos"
    data_config = PosDataConfig
    tag_fallbacks = ("upos", "pos_tags", "xpos")
    selection = ("accuracy", "max")
    chunked = False
