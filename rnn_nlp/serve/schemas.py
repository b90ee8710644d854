"""Request bodies of the HTTP API and the limits they are held to (stated in `/health` and the docs).

Every field is strict: a number is never read as a text nor a text as a number, an unknown field is
an error, and a text that is empty, too long or holds a lone surrogate (which no UTF-8 response
could carry back) is refused with the field's place in the body.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_CHARS = 5_000  # characters in one text (a QA context: MAX_CONTEXT_CHARS)
MAX_CONTEXT_CHARS = 20_000
MAX_TEXTS = 64  # texts in one request
MAX_CANDIDATES = 100
MAX_CANDIDATE_CHARS = 200  # characters in one candidate answer (an entity's name, a word)
MAX_TOKENS = 200  # new tokens one generation may ask for
MAX_BEAM = 8
MAX_SAMPLES = 8
MAX_TEMPERATURE = 100.0
MAX_SUGGESTIONS = 20
# One decoding request's work, texts x max(beam, num_samples) x max_tokens: 64 greedy texts of 200 tokens,
# or 8 of them at beam 8. One inference thread serves every model, and a batch already running cannot be
# stopped, so this bounds how long one request can hold it.
MAX_DECODING_WORK = 12_800
# The body limits follow from the field limits: the largest valid request, every character escaped as JSON
# can (\uXXXX; one outside the BMP as a surrogate pair: 12 bytes), with room around each string for its quotes,
# separators, indentation and field name, and for the rest (braces, numbers, whitespace). So no request the
# fields allow is refused as too large (413); a larger body is refused before it is read whole.
ESCAPED_CHAR_BYTES = 12
STRING_SLACK = 64
BODY_SLACK = 65_536


def body_bytes(strings: int, chars: int) -> int:
    """The body limit of requests of at most `strings` strings holding `chars` characters in all."""
    return chars * ESCAPED_CHAR_BYTES + strings * STRING_SLACK + BODY_SLACK


MAX_BODY_BYTES = body_bytes(MAX_TEXTS, MAX_TEXTS * MAX_CHARS)  # texts (predict, encode, translate), a prompt, a typed text
# a reader's questions ({"inputs": [...]}): question, context and candidates each
MAX_QA_BODY_BYTES = body_bytes(
    MAX_TEXTS * (2 + MAX_CANDIDATES), MAX_TEXTS * (MAX_CHARS + MAX_CONTEXT_CHARS + MAX_CANDIDATES * MAX_CANDIDATE_CHARS)
)
POOLINGS = ("last", "max", "mean", "attention")

LIMITS = {
    "max_chars": MAX_CHARS,
    "max_context_chars": MAX_CONTEXT_CHARS,
    "max_texts": MAX_TEXTS,
    "max_candidates": MAX_CANDIDATES,
    "max_candidate_chars": MAX_CANDIDATE_CHARS,
    "max_tokens": MAX_TOKENS,
    "max_beam": MAX_BEAM,
    "max_samples": MAX_SAMPLES,
    "max_suggestions": MAX_SUGGESTIONS,
    "max_decoding_work": MAX_DECODING_WORK,
    "max_body_bytes": MAX_BODY_BYTES,
    "max_qa_body_bytes": MAX_QA_BODY_BYTES,
}


def _no_surrogates(text: str) -> str:
    for i, ch in enumerate(text):
        if "\ud800" <= ch <= "\udfff":
            raise ValueError(f"holds a lone surrogate (U+{ord(ch):04X}) at character {i}: not text that UTF-8 can carry")
    return text


Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CHARS), AfterValidator(_no_surrogates)]
MaybeEmptyText = Annotated[str, StringConstraints(max_length=MAX_CHARS), AfterValidator(_no_surrogates)]
Candidate = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CANDIDATE_CHARS), AfterValidator(_no_surrogates)]
Context = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CONTEXT_CHARS), AfterValidator(_no_surrogates)]
Texts = Annotated[list[Text], Field(min_length=1, max_length=MAX_TEXTS)]
Real = Annotated[float, Field(allow_inf_nan=False)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TextsIn(Body):
    """One text (`text`) or several (`texts`): the answer is one result, or {"results": [...]} in order."""

    text: Text | None = None
    texts: Texts | None = None

    @model_validator(mode="after")
    def _one_of(self):
        if (self.text is None) == (self.texts is None):
            raise ValueError("give either 'text' (one text) or 'texts' (a list of them), not both and not neither")
        return self

    def items(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class EncodeIn(TextsIn):
    """Texts to encode as vectors; `pooling` (e.g. ["mean", "max"]) instead of the run's own."""

    pooling: Annotated[list[Literal["last", "max", "mean", "attention"]], Field(min_length=1, max_length=4)] | None = None


class Decoding(Body):
    """Greedy decoding (the default), sampling (`sample`, with temperature, top_k, top_p, seed) or beam search (`beam` > 1)."""

    max_tokens: Annotated[int, Field(ge=1, le=MAX_TOKENS)] | None = None
    sample: bool = False
    temperature: Annotated[Real, Field(gt=0, le=MAX_TEMPERATURE)] = 1.0
    top_k: Annotated[int, Field(ge=0, le=100_000)] = 0
    top_p: Annotated[Real, Field(gt=0, le=1)] = 1.0
    beam: Annotated[int, Field(ge=0, le=MAX_BEAM)] | None = None
    num_samples: Annotated[int, Field(ge=1, le=MAX_SAMPLES)] = 1
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None

    @model_validator(mode="after")
    def _consistent(self):
        beam = self.beam or 0
        if beam > 1 and self.sample:
            raise ValueError("choose beam search (beam > 1) or sampling (sample), not both")
        if self.num_samples > 1 and beam <= 1 and not self.sample:
            raise ValueError("num_samples > 1 needs sampling (sample: true) or beam search (beam > 1)")
        if beam > 1 and self.num_samples > beam:
            raise ValueError(f"num_samples ({self.num_samples}) cannot exceed the beam width ({beam})")
        return self

    def options(self) -> dict:
        """The keyword arguments of the model's generate: only what was given, the model's defaults otherwise."""
        out = {k: v for k, v in self.model_dump(exclude={"prompt", "text", "texts"}).items() if v is not None}
        if not self.sample:
            for k in ("temperature", "top_k", "top_p", "seed"):
                out.pop(k, None)
        return out


class GenerateIn(Decoding):
    """A language model's prompt ("" starts a sentence) and how to continue it; `stop_at_eos` ends the
    continuation at the sentence's end (default: for beam search only)."""

    prompt: MaybeEmptyText = ""
    stop_at_eos: bool | None = None


class TranslateIn(Decoding):
    """Source text(s) for an encoder-decoder model and how to decode them."""

    text: Text | None = None
    texts: Texts | None = None

    @model_validator(mode="after")
    def _one_of(self):
        if (self.text is None) == (self.texts is None):
            raise ValueError("give either 'text' (one source) or 'texts' (a list of them), not both and not neither")
        return self

    def items(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class Question(Body):
    """A question about a context; `candidates` restricts the answer to those strings' mentions (cloze runs)."""

    question: Text
    context: Context
    candidates: Annotated[list[Candidate], Field(max_length=MAX_CANDIDATES)] | None = None

    def record(self) -> dict:
        row: dict = {"question": self.question, "context": self.context}
        if self.candidates:
            row["candidates"] = list(self.candidates)
        return row


class QuestionsIn(Body):
    """One question ({question, context, candidates?}) or several ({"inputs": [...]}), for a reader."""

    question: Text | None = None
    context: Context | None = None
    candidates: Annotated[list[Candidate], Field(max_length=MAX_CANDIDATES)] | None = None
    inputs: Annotated[list[Question], Field(min_length=1, max_length=MAX_TEXTS)] | None = None

    @model_validator(mode="after")
    def _one_or_many(self):
        one = self.question is not None or self.context is not None or self.candidates is not None
        if self.inputs is not None and one:
            raise ValueError("give either one question ('question', 'context', 'candidates') or 'inputs', not both")
        if self.inputs is None and (self.question is None or self.context is None):
            raise ValueError("give 'question' and 'context' (one question), or 'inputs' (a list of them)")
        return self

    @property
    def single(self) -> bool:
        return self.inputs is None

    def records(self) -> list[dict]:
        if self.inputs is not None:
            return [q.record() for q in self.inputs]
        assert self.question is not None and self.context is not None
        return [Question(question=self.question, context=self.context, candidates=self.candidates).record()]


class SuggestIn(Body):
    """The text typed so far and the typing session that read its beginning (none: a new session)."""

    text: MaybeEmptyText
    session: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    k: Annotated[int, Field(ge=1, le=MAX_SUGGESTIONS)] = 5
