"""Text generation: greedy decoding, sampling and beam search (`decoding`), through steppers that carry
the recurrent state (`steppers`), for language models and conditional (seq2seq) models (`conditional`)."""

from rnn_nlp.generate.decoding import (
    MAX_TOKENS,
    Hypothesis,
    beam_search,
    check_decoding_options,
    continuation_log_prob,
    detokenize,
    encode_prompt,
    generate_batch,
    generate_ids,
    generate_text,
    generate_texts,
    length_norm,
    sample_rows,
)

__all__ = [
    "MAX_TOKENS",
    "Hypothesis",
    "beam_search",
    "check_decoding_options",
    "continuation_log_prob",
    "detokenize",
    "encode_prompt",
    "generate_batch",
    "generate_ids",
    "generate_text",
    "generate_texts",
    "length_norm",
    "sample_rows",
]
