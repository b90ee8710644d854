"""The data package's own import graph (read with `ast` by tests/test_architecture.py, imports inside
functions too): every module imports, no cycle among them, the format parsers a leaf, nothing of the
layers above data imported, and the corpus modules imported by registrations.py alone."""

from __future__ import annotations

import importlib
from graphlib import CycleError, TopologicalSorter

import pytest

from tests.test_architecture import graph

DATA = "rnn_nlp.data"
FORMATS = "rnn_nlp.data.formats"
# the layers above data (DESIGN.md); the public API of rnn_nlp/__init__.py is rnn_nlp.api
ABOVE_DATA = ("rnn_nlp.api", "rnn_nlp.nn", "rnn_nlp.training", "rnn_nlp.runs", "rnn_nlp.generate", "rnn_nlp.tasks", "rnn_nlp.cli")
# vector_sets: its own table; english_sources: the readers english-mix mixes; quiet: datasets' progress bars off
SHARED_FETCHER_MODULES = ("registry", "registrations", "download", "cache", "dedup", "vector_sets", "english_sources", "quiet")
# a corpus module another one reads from, beside registrations: english-mix takes the KJV's chapter split from bible-en-es
ALSO_IMPORTED_BY = {"rnn_nlp.data.fetchers.bible": ["rnn_nlp.data.fetchers.english_sources"]}


def within(name: str, *packages: str) -> bool:
    """Whether module `name` is one of `packages` or inside one of them."""
    return any(name == p or name.startswith(p + ".") for p in packages)


def data_graph() -> dict[str, set[str]]:
    """rnn_nlp.data's modules -> the rnn_nlp modules each imports, with the data packages Python runs
    first to import them (importing rnn_nlp.data.fetchers.cache runs rnn_nlp.data.fetchers)."""
    out = {}
    for name, deps in graph().items():
        if within(name, DATA):
            parents = {d.rsplit(".", k)[0] for d in deps if within(d, DATA) for k in range(1, d.count("."))}
            out[name] = (deps | parents) - {name}
    return out


GRAPH = data_graph()


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_every_module_imports(name):
    importlib.import_module(name)


def test_the_graph_holds_the_whole_package():
    assert {"rnn_nlp.data.sources", "rnn_nlp.data.fetchers.registrations", "rnn_nlp.data.formats.squad"} <= set(GRAPH)
    assert {"rnn_nlp.data.fetchers.cache", "rnn_nlp.data.fetchers"} <= GRAPH["rnn_nlp.data.sources"]
    assert "rnn_nlp.data.formats.encoding" in GRAPH["rnn_nlp.data.formats.squad"]


def test_no_import_cycle_inside_the_data_package():
    inside = {name: {d for d in deps if d in GRAPH} for name, deps in GRAPH.items()}
    try:
        TopologicalSorter(inside).prepare()
    except CycleError as exc:
        pytest.fail(f"import cycle in rnn_nlp.data: {' -> '.join(exc.args[1])}")


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if within(n, FORMATS)))
def test_formats_import_nothing_of_rnn_nlp_but_errors(name):
    others = {m for m in GRAPH[name] if not within(m, FORMATS) and m not in ("rnn_nlp.errors", DATA)}
    assert others == set()


def test_data_imports_nothing_of_the_layers_above_it():
    above = {name: sorted(m for m in deps if within(m, *ABOVE_DATA)) for name, deps in GRAPH.items()}
    assert {name: deps for name, deps in above.items() if deps} == {}


def test_the_corpus_modules_are_imported_by_registrations_alone():
    """Corpus modules register nothing themselves: registrations.py imports and enters them all."""
    shared = {f"rnn_nlp.data.fetchers.{m}" for m in SHARED_FETCHER_MODULES}
    corpora = {n for n in GRAPH if within(n, "rnn_nlp.data.fetchers") and n != "rnn_nlp.data.fetchers"} - shared
    importers = {c: sorted(n for n, deps in GRAPH.items() if c in deps) for c in corpora}
    assert importers == {c: sorted(["rnn_nlp.data.fetchers.registrations", *ALSO_IMPORTED_BY.get(c, [])]) for c in corpora}
