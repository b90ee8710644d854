"""The spaCy component: a tiny trained NER run sets doc.ents (displacy renders them); a POS run sets tag_ and pos_."""

import pytest
import spacy
from spacy import displacy

import rnn_nlp.integrations.spacy  # noqa: F401  (registers the factory)
from rnn_nlp.runs import build_config, train_run
from tests.tasks.tagging.data import tagging_raw, write_ner, write_pos


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("spacy")
    train_run(build_config(tagging_raw("ner", write_ner(root / "ner"), trainer={"epochs": 4})), root / "ner-run")
    train_run(build_config(tagging_raw("pos", write_pos(root / "pos"), trainer={"epochs": 3})), root / "pos-run")
    return root


@pytest.mark.slow
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


@pytest.fixture(scope="module")
def classify_run(tmp_path_factory):
    from tests.tasks.classification.test_task import classify_raw, write_sentiment

    root = tmp_path_factory.mktemp("spacy-clf")
    train_run(build_config(classify_raw(write_sentiment(root / "reviews.csv"))), root / "clf")
    return root / "clf"


@pytest.mark.slow
def test_textcat_component_sets_cats_from_the_classifier(classify_run):
    import rnn_nlp

    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_nlp_textcat", config={"model": str(classify_run)})
    texts = ["a truly great film", "dull and awful"]
    docs = list(nlp.pipe(texts))
    expected = rnn_nlp.load(classify_run, "cpu").predict(texts)
    for doc, result in zip(docs, expected):
        assert set(doc.cats) == set(result.probabilities) and sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-5)
        assert max(doc.cats, key=doc.cats.get) == result.label
        assert doc.cats == pytest.approx(result.probabilities, abs=1e-5)


def test_to_disk_bundles_the_weights_so_the_pipeline_loads_without_the_run(runs, classify_run, tmp_path):
    import shutil

    ner_copy, clf_copy = tmp_path / "ner-run", tmp_path / "clf-run"
    shutil.copytree(runs / "ner-run", ner_copy)
    shutil.copytree(classify_run, clf_copy)
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_nlp_tagger", config={"model": str(ner_copy)})
    nlp.add_pipe("rnn_nlp_textcat", config={"model": str(clf_copy)})
    before = nlp("Ann Lee visited New York.")
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(ner_copy)
    shutil.rmtree(clf_copy)  # the run folders are gone: only the pipeline folder holds the models
    loaded = spacy.load(tmp_path / "pipeline")
    after = loaded("Ann Lee visited New York.")
    assert (
        [(e.text, e.label_) for e in after.ents] == [(e.text, e.label_) for e in before.ents] == [("Ann Lee", "PER"), ("New York", "LOC")]
    )
    assert after.cats == pytest.approx(before.cats)


def test_a_component_whose_run_is_gone_says_so(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_nlp_tagger", config={"model": str(tmp_path / "gone")})
    with pytest.raises(ValueError, match="does not exist, and no model came with the pipeline"):
        nlp("Ann Lee visited New York.")


def test_a_classify_run_is_refused_by_the_tagger(classify_run):
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="'classify' run; rnn_nlp_tagger needs a ner or pos run"):
        nlp.add_pipe("rnn_nlp_tagger", config={"model": str(classify_run)})
