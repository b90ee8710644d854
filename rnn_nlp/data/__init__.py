"""Data: fetching registry-backed corpora, reading files, vocabularies and batching."""
