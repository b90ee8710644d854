"""The spaCy component: a tiny trained NER run sets doc.ents (displacy renders them); a POS run sets tag_ and pos_."""

import pytest
import spacy
from spacy import displacy

import rnn_nlp.integrations.spacy  # noqa: F401  (registers the factory)
from rnn_nlp.runs import build_config
from rnn_nlp.runs import train_run
from tests.tasks.tagging_data import tagging_raw, write_ner, write_pos


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("spacy")
    train_run(build_config(tagging_raw("ner", write_ner(root / "ner"), trainer={"epochs": 4})), root / "ner-run")
    train_run(build_config(tagging_raw("pos", write_pos(root / "pos"), trainer={"epochs": 3})), root / "pos-run")
    return root


def test_ner_component_sets_entities_and_displacy_renders_them(runs):
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_nlp_tagger", config={"model": str(runs / "ner-run")})
    doc = nlp("Ann Lee  visited New York.")
    assert [(e.text, e.label_) for e in doc.ents] == [("Ann Lee", "PER"), ("New York", "LOC")]
    html = displacy.render(doc, style="ent")
    assert "New York" in html and "LOC" in html
    docs = list(nlp.pipe(["Mary joined Globex .", "Bob left Rome ."], batch_size=2))
    assert [e.label_ for d in docs for e in d.ents] == ["PER", "ORG", "PER", "LOC"]


def test_pos_component_sets_tag_and_universal_pos(runs):
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_nlp_tagger", config={"model": str(runs / "pos-run")})
    doc = nlp("the big dog sees a cat .")
    assert [t.tag_ for t in doc] == ["DET", "ADJ", "NOUN", "VERB", "DET", "NOUN", "."]
    assert doc[-1].pos_ == "PUNCT" and doc[2].pos_ == "NOUN"


def test_component_needs_a_run_folder():
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="RUN_DIR"):
        nlp.add_pipe("rnn_nlp_tagger")
