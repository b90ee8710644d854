"""Fixtures of the data tests: the hub's offline switches cleared, so each test sets the ones it means."""

import pytest

from rnn_nlp.data.sources import OFFLINE_VARIABLES


@pytest.fixture(autouse=True)
def hub_online(monkeypatch):
    """HF_HUB_OFFLINE and HF_DATASETS_OFFLINE unset: the tests fake datasets.load_dataset themselves."""
    for variable in OFFLINE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
