"""A trained tagger: NER entities (character offsets, scores) or POS tags for raw or tokenized text."""

from __future__ import annotations

from rnn_nlp.data.tag_schemes import tagged_text
from rnn_nlp.data.tokenize import spacy_docs
from rnn_nlp.results import TaggedText
from rnn_nlp.tasks.arguments import check_batch_size, token_lists
from rnn_nlp.tasks.model import Model
from rnn_nlp.tasks.word_vectors import vector_rows


class TaggerModel(Model):
    """`rnn_nlp.load(ner_run).predict("Angela Merkel visited Paris.")` -> TaggedText with `.entities`.

    A str is one text, tokenized by spaCy's blank English tokenizer; `tag_tokens` takes sentences
    already split into tokens (what the spaCy component passes).

    Document context (a run trained with data.context): a text is read whole, and a piece of a text longer
    than data.max_len reads its neighbouring tokens as context; texts given together stay apart. The
    sentences given to one `tag_tokens` call are one document in order (each the others' context) unless
    `document=False`.
    """

    @property
    def labels(self) -> list[str]:
        """The tags as the model predicts them (in the training scheme, e.g. BIOES, for NER)."""
        return self._task.tag_names()

    @property
    def chunked(self) -> bool:
        """True for NER (chunk tags, entities), False for POS (one plain tag a token)."""
        return self._task.chunked

    def tag_tokens(self, sentences: list[list[str]], batch_size: int | None = None, document: bool | None = None) -> list[list[str]]:
        """Tags of tokenized sentences (IOB2 for chunk tags); an empty sentence gets []. `document`: the
        sentences are one document, each the others' context (None: True for a run trained with data.context,
        which reads context; False: each sentence alone)."""
        sentences = token_lists(sentences, "sentences")
        return self._task.tag_tokens(self.module, sentences, self.device, check_batch_size(batch_size), document)

    def _predict_batch(self, texts: list[str], **options) -> list[TaggedText]:
        if options:
            raise TypeError(f"tagger predict takes no options, got {', '.join(options)}")
        kept = self._tokens(texts)
        tokens = [[t.text for t in toks] for toks in kept]
        tags, probs = self._task.tag_tokens_scored(self.module, tokens, self.device, document=False)  # each text its own document
        return [tagged_text(text, toks, tg, pr, self.chunked) for text, toks, tg, pr in zip(texts, kept, tags, probs)]

    @staticmethod
    def _tokens(texts: list[str]) -> list[list]:
        """Each text's non-space spaCy tokens (with their character offsets): what the tagger tags."""
        return [[t for t in doc if not t.is_space] for doc in spacy_docs(texts)]

    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        return self._token_rows(texts)[0]

    def _token_rows(self, texts: list[str]) -> tuple[list[list[int]], list[list[int]] | None]:
        ids, rows = [], []
        for toks in self._tokens(texts):
            tokens = [t.text for t in toks]
            words = [self._task.word(t) for t in tokens]
            ids.append(self.vocab.encode(words))
            rows.append(vector_rows(self.config, tokens, words))
        if any(r is None for r in rows):
            return ids, None
        return ids, [r or [] for r in rows]
