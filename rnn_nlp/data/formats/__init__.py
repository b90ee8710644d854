"""Pure parsers of the data formats the readers accept, one module a format.

They turn text (or one file) into rows and name the file and line of anything malformed. They
import nothing of rnn_nlp but rnn_nlp.errors and each other, so every reader and fetcher can use
them without an import cycle (tests/data/test_no_cycles.py checks it).
"""
