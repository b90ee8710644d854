"""The model a user holds: a trained run of one task, ready to predict, evaluate, encode and save.

`rnn_nlp.load(run)` returns one of the subclasses (the task says which: `Task.model_class`). The
model owns its vocabulary, labels and decoding and turns the network's outputs into the typed
results of `rnn_nlp.results`, so the CLI, the spaCy components and the server are thin calls of it.
Optional capabilities are declared as Protocols (`Generates`, `TagsTokens`, ...), checked with
`isinstance`, never probed with `hasattr`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import platform
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from rnn_nlp.config import RunConfig, to_dict
from rnn_nlp.data.batching import pad_batch
from rnn_nlp.data.inputs import check_text, chunked
from rnn_nlp.data.tokenize import Tokenizer
from rnn_nlp.errors import ConfigError, SaveError
from rnn_nlp.model_card import CardFacts, facts_from_card
from rnn_nlp.model_card import render as render_card
from rnn_nlp.nn.pooling import POOLINGS, Pooling
from rnn_nlp.tasks.arguments import check_batch_size, item_stream, text_list
from rnn_nlp.tasks.base import Task
from rnn_nlp.tasks.word_vectors import padded_rows
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import run_folder
from rnn_nlp.training.history import read_csv
from rnn_nlp.training.trainer import resolve_device
from rnn_nlp.version import __version__

log = logging.getLogger(__name__)

DEFAULT_POOLING = ("mean", "max")  # for runs that have no pooling of their own (language models, taggers)
PREDICT_BATCH = 64  # inputs per forward pass in predict / predict_stream, unless batch_size says otherwise
MODEL_CARDS = ("README.md", "MODEL_CARD.md")  # a run's model card (the hub shows README.md), the first found
RECORD_FILE_LIMIT = 1_000_000  # bytes: a larger report or card is left out of `run_record`


def runtime_versions() -> dict[str, str]:
    """The versions that write a saved model: this library's, torch's and Python's."""
    return {"rnn_nlp": str(__version__), "torch": str(torch.__version__), "python": platform.python_version()}


def saved_model_files(path: Path) -> set[str]:
    """The names a saved model's folder may hold: its four files, its card and the files its meta.json lists."""
    names = {*ckpt.REQUIRED, run_folder.CARD}
    try:
        listed = json.loads((path / run_folder.META).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return names
    return names | {n for n in listed if isinstance(n, str)} if isinstance(listed, dict) else names


class Model:
    """A trained model of one task. Subclasses implement `_predict_batch` (and their own verbs)."""

    def __init__(self, task: Task, module: torch.nn.Module, path: Path | None = None):
        self._task = task
        self.module = module
        self.path = Path(path) if path is not None else None
        self.history: list[dict] = []  # per-epoch metrics, when the model comes from `rnn_nlp.train`
        self.is_main_process = True  # False on the other ranks of a data-parallel `rnn_nlp.train`
        self.module.eval()

    def prepare(self) -> None:
        """Build what reading raw text needs (spaCy's tokenizer, unless the run reads whitespace or characters) now,
        so that the first prediction does not pay a second or more importing spaCy. `rnn_nlp.load` calls it."""
        data = self.config.data  # a tagger's data config names no tokenizer: it reads raw text with spaCy's
        Tokenizer(getattr(data, "tokenizer", "spacy"), unit=getattr(data, "unit", "word")).prepare()

    # ---- what it is ----------------------------------------------------------------------
    @property
    def task(self) -> str:
        """The registered task name (`lm`, `classify`, `ner`, `pos`, `qa`, `seq2seq`, or a user's)."""
        return self.config.task

    @property
    def config(self) -> RunConfig:
        """The whole run config (enough to rebuild the model)."""
        return self._task.cfg

    @property
    def vocab(self):
        """The input vocabulary (`rnn_nlp.data.vocab.Vocab`)."""
        return self._task.token_vocab()

    @property
    def labels(self) -> list[str] | None:
        """The output labels (classes, tags); None for models that generate text."""
        return None

    @property
    def device(self) -> torch.device:
        """The device the model's weights are on."""
        for p in self.module.parameters():
            return p.device
        return torch.device("cpu")

    def to(self, device: str | torch.device) -> Model:
        """Move the model to `device` ("cpu", "cuda", "cuda:1", "auto"); returns the model."""
        if isinstance(device, str) and device in ("auto", "cpu", "cuda"):
            device = resolve_device(device)
        self.module.to(device)
        return self

    def __repr__(self) -> str:
        where = f" from {self.path}" if self.path else ""
        return f"<{type(self).__name__} task={self.task!r}{where}>"

    # ---- what the run folder records ------------------------------------------------------
    def run_record(self) -> dict[str, Any]:
        """What the run folder records of this model, for a person to look at (the server's model page):

        "versions" (meta.json: the library, torch and checkpoint format that wrote the weights), "metrics"
        (metrics.csv, a row per evaluation), "steps" (steps.csv, a row every trainer.log_every steps),
        "evaluations" ({split name: what `rnn-nlp evaluate` wrote to eval-*.json}), "reports" ({split name:
        report-*.txt}), "figures" (the names of curves.png and confusion-*.png, files in `path`) and "card"
        (the model card's Markdown, or None). A model without a run folder gives empty entries.
        """
        record: dict[str, Any] = {"versions": {}, "metrics": [], "steps": [], "evaluations": {}, "reports": {}, "figures": [], "card": None}
        if self.path is None or not self.path.is_dir():
            return record
        meta = _small_text(run_folder.resolve(self.path) / run_folder.META)
        try:
            record["versions"] = {k: v for k, v in json.loads(meta or "{}").items() if k != "files"}
        except ValueError:
            pass
        record["metrics"] = read_csv(self.path / "metrics.csv")
        record["steps"] = read_csv(self.path / "steps.csv")
        for file in sorted(self.path.glob("eval-*.json")):
            try:
                record["evaluations"][file.stem[len("eval-") :]] = json.loads(_small_text(file) or "null")
            except ValueError:
                continue
        for file in sorted(self.path.glob("report-*.txt")):
            record["reports"][file.stem[len("report-") :]] = _small_text(file)
        record["figures"] = [f.name for f in sorted(self.path.glob("*.png")) if f.name == "curves.png" or f.name.startswith("confusion-")]
        record["card"] = next((text for text in map(_small_text, (self.path / n for n in MODEL_CARDS)) if text), None)
        return record

    # ---- prediction ----------------------------------------------------------------------
    def is_single(self, inputs: Any) -> bool:
        """Whether `inputs` is one input (a str) rather than a collection of them."""
        return isinstance(inputs, str)

    def predict(self, inputs: Any, batch_size: int | None = None, **options) -> Any:
        """One input -> one result; a list (or any iterable) of inputs -> a list of results, in order."""
        results = list(self.predict_stream(inputs, batch_size, **options))
        return results[0] if self.is_single(inputs) else results

    def predict_stream(self, inputs: Iterable, batch_size: int | None = None, **options) -> Iterator[Any]:
        """Results one by one as their batch is done: memory stays flat however many inputs come."""
        size = check_batch_size(batch_size) or PREDICT_BATCH
        if self.is_single(inputs):  # one input, never iterated (a str would give one result a character)
            inputs = [inputs]
        for chunk in chunked(item_stream(inputs, "inputs", self._check_input), size):
            yield from self._predict_batch(chunk, **options)

    def _check_input(self, item: Any, where: str) -> Any:
        """One input of `predict` as the model reads it (a str here), or a TypeError naming `where` ("inputs[3]")."""
        return check_text(item, where)

    def _predict_batch(self, inputs: list, **options) -> list:
        raise NotImplementedError(f"a '{self.task}' model has no predict")

    # ---- evaluation ----------------------------------------------------------------------
    def _fresh_task(self) -> Task:
        """A task with this model's config and vocabularies but no data loaded (for other data)."""
        return type(self._task)(copy.deepcopy(self.config), vocab_json=self._task.vocab_json())

    def _eval_task(self, data: str | None, batch_size: int | None) -> Task:
        """The task to evaluate with: the model's own, or a copy reading `data` or batching by `batch_size`
        (the model's config is never changed)."""
        check_batch_size(batch_size)
        if data is None and batch_size is None:
            return self._task
        task = self._fresh_task()
        if batch_size is not None:
            task.cfg.trainer.eval_batch_size = batch_size
        if data is not None:
            task.use_data(str(data))
        return task

    def evaluate(
        self, data: str | None = None, split: str = "test", report_dir: str | Path | None = None, batch_size: int | None = None
    ) -> dict:
        """The metrics on `split` of the run's data, or of `data` (a corpus name, or a file read whole).

        With `report_dir`, the task's reports (per-class report, confusion matrix, predictions) are
        written there and the text report is returned under "report". `batch_size`: examples (LM:
        streams) per evaluation batch, instead of trainer.eval_batch_size.
        """
        task = self._eval_task(data, batch_size)
        if data is None and split in ("train", "valid") and not task.valid_held_out:
            log.warning("%s: trained on train + valid (data.train_with_dev), so its %s figures are not held-out ones", self.path, split)
        if report_dir is not None and isinstance(task, Reports):
            try:
                return task.report(self.module, split, self.device, Path(report_dir))
            except OSError as exc:
                raise SaveError(f"cannot write the {split} reports into {report_dir}: {exc.strerror or exc}") from None
        return task.evaluate(self.module, split, self.device)

    # ---- saving --------------------------------------------------------------------------
    def card_facts(self) -> CardFacts:
        """What this model's card says: the facts of the card it was loaded with (its run's or its export's
        README.md), else what the model itself knows (task, labels, config, versions)."""
        config = to_dict(self.config)
        for folder in [self.path, run_folder.resolve(self.path)] if self.path is not None else []:
            try:
                text = (folder / run_folder.CARD).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            facts = facts_from_card(text, config)
            if facts is not None:
                return facts
        name = self.path.name if self.path is not None else self.task
        return CardFacts(
            name, self.task, config, self.labels, self.config.data.name, versions=runtime_versions(), source="the model alone (Model.save)"
        )

    def save(
        self,
        path: str | Path,
        overwrite: bool = False,
        dtype: str | None = None,
        card: CardFacts | None = None,
        extras: Callable[[Path], None] | None = None,
    ) -> Path:
        """Write the model as a slim folder that `rnn_nlp.load` reads: config, vocabularies, the weights it
        predicts with (in `dtype`: "float32", the default, "bfloat16" or "float16") and its model card
        (README.md: `card`, else `card_facts()`). `rnn-nlp export` is this call on a run's best model, with the
        card's facts read from the run folder and, for `--onnx`, `extras` writing the ONNX files in.

        An existing folder is replaced only with `overwrite=True`, and only if it holds nothing but a saved
        model's files: a run folder (with its checkpoints and logs) or a folder of other files is never replaced.
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"save: path must be a folder's path (str or Path), got {type(path).__name__}")
        if dtype is not None and dtype not in ckpt.DTYPES:
            raise ConfigError(f"save: dtype {dtype!r} is not one of {', '.join(ckpt.DTYPES)}")
        path = Path(path)
        if path.exists():
            names = {p.name for p in path.iterdir()} if path.is_dir() else {path.name}
            if names - saved_model_files(path) or not path.is_dir():
                raise SaveError(f"{path} holds other files than a saved model's ({', '.join(sorted(names)[:5])}); save into a new folder")
            if names and not overwrite:
                raise SaveError(f"{path} already holds a saved model; pass overwrite=True to replace it")
        facts = card or self.card_facts()
        facts.dtype = dtype or "float32"
        facts.versions = {**facts.versions, **runtime_versions()}
        return ckpt.save_checkpoint(
            path,
            self.config,
            self._task.vocab_json(),
            self.module,
            dtype=dtype,
            card=render_card(facts).encode("utf-8", "backslashreplace").decode("utf-8"),
            extras=extras,
        )

    # ---- sentence vectors ----------------------------------------------------------------
    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        """Each text's token ids, tokenized as the task reads text (subclasses say how)."""
        raise NotImplementedError

    def _token_rows(self, texts: list[str]) -> tuple[list[list[int]], list[list[int]] | None]:
        """Each text's token ids, and each token's row in the backbone's vectors table (None where the task
        gives none): with rows, a word outside the vocabulary still reads its pretrained vector."""
        return self._token_ids(texts), None

    def _own_pooling(self) -> torch.nn.Module | None:
        """The run's own pooling (a classifier's, a QA run's question encoder), if it has one."""
        return None

    def _pooling(self, kinds: list[str] | None) -> torch.nn.Module:
        if isinstance(kinds, str):  # else read as the names of its characters
            raise TypeError(f"pooling must be a list of names, e.g. ['mean', 'max'], got str {kinds!r}")
        own = self._own_pooling()
        if kinds is None and own is not None:
            return own
        kinds = list(kinds or DEFAULT_POOLING)
        unknown = [k for k in kinds if k not in POOLINGS]
        if unknown:
            raise ConfigError(f"pooling (encode --pooling): unknown {', '.join(unknown)}; choose from {', '.join(POOLINGS)}")
        if own is not None and list(own.kinds) == kinds:
            return own
        if "attention" in kinds:
            raise ConfigError("pooling 'attention' needs trained weights: only a run trained with attention pooling has them")
        backbone = self.module.backbone
        return Pooling(kinds, backbone.output_dim, backbone.directions).to(self.device)

    @torch.no_grad()
    def encode(self, texts: str | list[str], pooling: list[str] | None = None, batch_size: int = 64) -> np.ndarray:
        """[len(texts), dim] float32 vectors: the backbone's states pooled (the run's own pooling, or
        `pooling`, e.g. ["mean", "max"]); a text with no tokens reads as one <unk> (logged)."""
        texts = text_list(texts, "texts")
        check_batch_size(batch_size)
        self.module.eval()
        pool = self._pooling(pooling)
        ids, rows = self._token_rows(texts)
        empty = [i for i, x in enumerate(ids) if not x]
        if empty:
            log.warning("%d texts have no tokens; each is encoded as a single <unk>", len(empty))
        unk, pad = self.vocab.unk_id, self.vocab.pad_id
        out = []
        for start in range(0, len(ids), batch_size):
            tokens, lengths = pad_batch([x or [unk] for x in ids[start : start + batch_size]], pad)
            table = (
                None if rows is None else padded_rows([r or [-1] for r in rows[start : start + batch_size]], tokens.size(1)).to(self.device)
            )
            states = self.module.backbone(tokens.to(self.device), lengths, vector_rows=table)
            out.append(pool(states.output, states.mask).float().cpu())
        if not out:
            return np.zeros((0, pool.output_dim), dtype=np.float32)
        return torch.cat(out).numpy().astype(np.float32)


def _small_text(path: Path) -> str | None:
    """A text file's contents, or None when it is missing, unreadable or over RECORD_FILE_LIMIT bytes."""
    try:
        if path.stat().st_size > RECORD_FILE_LIMIT:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


# ---- declared capabilities ---------------------------------------------------------------
@runtime_checkable
class Reports(Protocol):
    """A task that writes reports beside its metrics (`evaluate --split test` in the CLI)."""

    def report(self, model: torch.nn.Module, split: str, device: torch.device, out_dir: Path) -> dict: ...


@runtime_checkable
class Generates(Protocol):
    """A model that continues text (a language model) or generates from a source (seq2seq)."""

    def generate(self, prompt: Any = "", **options) -> Any: ...


@runtime_checkable
class ScoresText(Protocol):
    """A model that gives the perplexity of a text (a language model)."""

    def perplexity(self, texts: str | list[str]) -> float: ...


@runtime_checkable
class TagsTokens(Protocol):
    """A tagger of pre-tokenized sentences (what the spaCy component calls)."""

    chunked: bool

    def tag_tokens(self, sentences: list[list[str]], batch_size: int | None = None, document: bool | None = None) -> list[list[str]]: ...


@runtime_checkable
class Classifies(Protocol):
    """A text classifier: probabilities over its labels (what ensembles and the spaCy textcat call)."""

    def probabilities(self, texts: list[str]) -> torch.Tensor: ...
