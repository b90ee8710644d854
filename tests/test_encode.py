"""`rnn_nlp.encode` on runs that are not QA runs: a classifier's own pooling, a chosen one, retrieval."""

import numpy as np
import pytest

from rnn_nlp.encode import encode_texts, most_similar
from rnn_nlp.errors import ConfigError
from rnn_nlp.runs import build_config, load_run, train_run
from tests.tasks.classification.test_task import classify_raw, write_sentiment


def test_encode_from_a_classifier_run(tmp_path):
    data = write_sentiment(tmp_path / "reviews.csv", n=40)
    train_run(build_config(classify_raw(data, trainer={"epochs": 1})), tmp_path / "run")
    _, _, model = load_run(tmp_path / "run")
    texts = ["the film was good", "the film was good", "", "zzz never seen words"]
    vectors = encode_texts(tmp_path / "run", texts)
    assert vectors.shape == (4, model.head.pooling.output_dim) and np.isfinite(vectors).all()  # the run's max+mean
    np.testing.assert_allclose(vectors[0], vectors[1], rtol=1e-6)
    assert most_similar(vectors[:1], vectors, k=1)[0][0][1] == pytest.approx(1.0, abs=1e-5)
    last = encode_texts(tmp_path / "run", texts[:1], pooling=["last"])
    assert last.shape == (1, model.backbone.output_dim)
    with pytest.raises(ConfigError, match=r"encode --pooling\): unknown sum"):
        encode_texts(tmp_path / "run", texts[:1], pooling=["sum"])


def test_most_similar_by_hand():
    vectors = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], dtype=np.float32)
    ranked = most_similar(vectors[2:], vectors, k=3)[0]
    assert ranked[0] == (2, pytest.approx(1.0))
    assert {j for j, _ in ranked[1:]} == {0, 1} and ranked[1][1] == pytest.approx(2**-0.5)
