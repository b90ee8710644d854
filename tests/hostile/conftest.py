"""The hostile table's tiny runs and odd files, built once per session."""

from __future__ import annotations

import pytest

from tests.hostile.places import Places, build_places


@pytest.fixture(scope="session")
def places(tmp_path_factory) -> Places:
    return build_places(tmp_path_factory.mktemp("hostile-places"))
