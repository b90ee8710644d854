"""A spaCy pipeline component running a trained rnn_nlp tagger: `nlp.add_pipe("rnn_nlp_tagger", config={"model": RUN_DIR})`.

An NER run sets `doc.ents` (so `displacy.render(doc, style="ent")` shows them); a POS run sets
`token.tag_`, and `token.pos_` too when its tags are the universal ones (mapped to spaCy's names:
"." -> PUNCT, CONJ -> CCONJ, PRT -> PART). The factory is registered when this module is imported,
and through the `spacy_factories` entry point of the installed package.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

UNIVERSAL_TO_SPACY = {".": "PUNCT", "CONJ": "CCONJ", "PRT": "PART"}
SPACY_UPOS = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"}


class RnnNlpTagger:
    """Tags each doc's (non-space) tokens with a trained `ner` or `pos` run."""

    def __init__(self, nlp: Language, name: str, model: str, device: str = "cpu", batch_size: int = 64, overwrite_ents: bool = True):
        from rnn_nlp.runs import load_run

        if not model:
            raise ValueError('rnn_nlp_tagger needs config={"model": RUN_DIR}, the folder of a trained ner or pos run')
        self.name = name
        self.cfg, self.task, self.model = load_run(model, device)
        if not hasattr(self.task, "tag_tokens"):
            raise ValueError(f"{model} is a '{self.cfg.task}' run; rnn_nlp_tagger needs a ner or pos run")
        self.device = next(self.model.parameters()).device
        self.batch_size = batch_size
        self.overwrite_ents = overwrite_ents
        self.is_ner = self.task.chunked
        self.universal = not self.is_ner and {UNIVERSAL_TO_SPACY.get(t, t) for t in self.task.tag_names()} <= SPACY_UPOS

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def pipe(self, docs: Iterable[Doc], batch_size: Optional[int] = None) -> Iterator[Doc]:
        for batch in minibatch(docs, size=batch_size or self.batch_size):
            kept = [[t for t in doc if not t.is_space] for doc in batch]
            tags = self.task.tag_tokens(self.model, [[t.text for t in toks] for toks in kept], self.device, self.batch_size)
            for doc, toks, tg in zip(batch, kept, tags):
                self.set_annotations(doc, toks, tg)
                yield doc

    def set_annotations(self, doc: Doc, tokens: list, tags: list[str]) -> None:
        if self.is_ner:
            from rnn_nlp.data.tag_schemes import spans

            ents = [Span(doc, tokens[s].i, tokens[e - 1].i + 1, label=label) for s, e, label in spans(tags, "iob2")]
            if self.overwrite_ents:
                doc.ents = ents
            else:
                doc.set_ents(ents, default="unmodified")
            return
        for token, tag in zip(tokens, tags):
            token.tag_ = tag
            if self.universal:
                token.pos_ = UNIVERSAL_TO_SPACY.get(tag, tag)


@Language.factory(
    "rnn_nlp_tagger",
    default_config={"model": "", "device": "cpu", "batch_size": 64, "overwrite_ents": True},
)
def make_tagger(nlp: Language, name: str, model: str, device: str, batch_size: int, overwrite_ents: bool) -> RnnNlpTagger:
    """spaCy factory: a trained rnn_nlp ner/pos run as a pipeline component."""
    return RnnNlpTagger(nlp, name, model, device, batch_size, overwrite_ents)
