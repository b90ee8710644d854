"""spaCy pipeline components running trained rnn_nlp models (through `rnn_nlp.load`):

    nlp.add_pipe("rnn_nlp_tagger", config={"model": NER_OR_POS_RUN})   # doc.ents, or token.tag_ / pos_
    nlp.add_pipe("rnn_nlp_textcat", config={"model": CLASSIFY_RUN})    # doc.cats

An NER run sets `doc.ents` (so `displacy.render(doc, style="ent")` shows them); a POS run sets
`token.tag_`, and `token.pos_` too when its tags are the universal ones (mapped to spaCy's names:
"." -> PUNCT, CONJ -> CCONJ, PRT -> PART). `nlp.to_disk` writes the model's weights into the
pipeline's folder, so `spacy.load` of that folder works where the run folder is not. The factories
are registered when this module is imported, and through the `spacy_factories` entry points.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from rnn_nlp.data.tag_schemes import spans

# rnn_nlp.api and the checkpoint reader (torch) are imported where a component first needs them: spaCy imports this
# module through the spacy_factories entry point whenever it builds any pipeline, spacy.blank("en") included, and
# the torch-free ONNX predictor (rnn_nlp.inference) tokenizes with exactly that.

UNIVERSAL_TO_SPACY = {".": "PUNCT", "CONJ": "CCONJ", "PRT": "PART"}
SPACY_UPOS = {
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
}
BUNDLED = "rnn_nlp_model"  # the sub-folder of a component's to_disk folder holding the model


class _RunComponent:
    """What both components share: a model from a run folder, loaded on first use (so a pipeline
    read back by `spacy.load` uses the copy saved with it), and saved with the pipeline."""

    tasks: tuple[str, ...] = ()
    needs = ""

    def __init__(self, name: str, model: str, device: str, batch_size: int):
        if not model:
            raise ValueError(f'{name} needs config={{"model": RUN_DIR}}, the folder of a trained {self.needs} run')
        self.name, self.device, self.batch_size = name, device, batch_size
        self.model = None
        self.source = model
        if Path(model).exists():  # checked now, loaded when first used; else it may come with the pipeline (from_disk)
            from rnn_nlp.training import checkpoint as ckpt

            self._check_task(ckpt.load_raw_config(model).get("task"), model)

    def _check_task(self, task: object, where: str) -> None:
        if task not in self.tasks:
            raise ValueError(f"{where} is a '{task}' run; {self.name} needs a {self.needs} run")

    def _use(self, model) -> None:
        self._check_task(model.task, str(model.path))
        self.model = model

    def _ready(self):
        from rnn_nlp.api import load

        if self.model is None:
            if not Path(self.source).exists():
                raise ValueError(f"{self.name}: the run folder {self.source} does not exist, and no model came with the pipeline")
            self._use(load(self.source, self.device))
        return self.model

    def to_disk(self, path: str | Path, exclude: Iterable[str] = ()) -> None:
        self._ready().save(Path(path) / BUNDLED, overwrite=True)

    def from_disk(self, path: str | Path, exclude: Iterable[str] = ()) -> _RunComponent:
        from rnn_nlp.api import load

        bundled = Path(path) / BUNDLED
        if bundled.exists():
            self._use(load(bundled, self.device))
        return self


class RnnNlpTagger(_RunComponent):
    """Tags each doc's (non-space) tokens with a trained `ner` or `pos` run."""

    tasks = ("ner", "pos")
    needs = "ner or pos"

    def __init__(self, nlp: Language, name: str, model: str, device: str = "cpu", batch_size: int = 64, overwrite_ents: bool = True):
        super().__init__(name, model, device, batch_size)
        self.overwrite_ents = overwrite_ents

    @property
    def universal(self) -> bool:
        model = self._ready()
        return not model.chunked and {UNIVERSAL_TO_SPACY.get(t, t) for t in model.labels} <= SPACY_UPOS

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        model = self._ready()
        for batch in minibatch(docs, size=batch_size or self.batch_size):
            kept = [[t for t in doc if not t.is_space] for doc in batch]
            tags = model.tag_tokens([[t.text for t in toks] for toks in kept], self.batch_size, document=False)  # docs stay apart
            for doc, toks, tg in zip(batch, kept, tags):
                self.set_annotations(doc, toks, tg)
                yield doc

    def set_annotations(self, doc: Doc, tokens: list, tags: list[str]) -> None:
        if self._ready().chunked:
            ents = [Span(doc, tokens[s].i, tokens[e - 1].i + 1, label=label) for s, e, label in spans(tags, "iob2")]
            if self.overwrite_ents:
                doc.ents = ents
            else:
                doc.set_ents(ents, default="unmodified")
            return
        universal = self.universal
        for token, tag in zip(tokens, tags):
            token.tag_ = tag
            if universal:
                token.pos_ = UNIVERSAL_TO_SPACY.get(tag, tag)


class RnnNlpTextCat(_RunComponent):
    """Sets `doc.cats` (label -> probability) from a trained `classify` run, as spaCy's textcat does."""

    tasks = ("classify",)
    needs = "classify"

    def __init__(self, nlp: Language, name: str, model: str, device: str = "cpu", batch_size: int = 64):
        super().__init__(name, model, device, batch_size)

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        model = self._ready()
        for batch in minibatch(docs, size=batch_size or self.batch_size):
            probs = model.probabilities([doc.text for doc in batch], self.batch_size)
            for doc, p in zip(batch, probs):
                doc.cats = {label: float(v) for label, v in zip(model.labels, p)}
                yield doc


@Language.factory(
    "rnn_nlp_tagger",
    default_config={"model": "", "device": "cpu", "batch_size": 64, "overwrite_ents": True},
)
def make_tagger(nlp: Language, name: str, model: str, device: str, batch_size: int, overwrite_ents: bool) -> RnnNlpTagger:
    """spaCy factory: a trained rnn_nlp ner/pos run as a pipeline component."""
    return RnnNlpTagger(nlp, name, model, device, batch_size, overwrite_ents)


@Language.factory("rnn_nlp_textcat", default_config={"model": "", "device": "cpu", "batch_size": 64})
def make_textcat(nlp: Language, name: str, model: str, device: str, batch_size: int) -> RnnNlpTextCat:
    """spaCy factory: a trained rnn_nlp classify run as a pipeline component setting doc.cats."""
    return RnnNlpTextCat(nlp, name, model, device, batch_size)
