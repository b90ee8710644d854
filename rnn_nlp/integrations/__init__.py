"""Bridges from rnn_nlp models into other libraries' pipelines (spaCy)."""
