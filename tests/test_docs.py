"""The API reference, built from the docstrings with pdoc (docs/api.md says how).

The documented command (`pdoc -o site rnn_nlp`) builds every page without a single
pdoc warning, the pages document `rnn_nlp.load`, `Model.predict` and the rest with the docstrings'
own words, and every public method and property of the models and results has a docstring.
"""

from __future__ import annotations

import html
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pdoc")

# module -> the members its page must document (ids as pdoc writes them: "Class.method")
DOCUMENTED = {
    "rnn_nlp.api": ["load", "train", "recipes"],
    "rnn_nlp.tasks.model": [
        "Model",
        "Model.predict",
        "Model.predict_stream",
        "Model.evaluate",
        "Model.save",
        "Model.to",
        "Model.encode",
        "Model.task",
        "Model.config",
        "Model.vocab",
        "Model.labels",
        "Generates",
        "ScoresText",
        "TagsTokens",
        "Classifies",
    ],
    "rnn_nlp.tasks.lm.model": ["LanguageModel", "LanguageModel.generate", "LanguageModel.perplexity"],
    "rnn_nlp.tasks.seq2seq.model": ["Seq2SeqModel", "Seq2SeqModel.generate", "Seq2SeqModel.beam"],
    "rnn_nlp.tasks.classification.model": ["ClassifierModel", "ClassifierModel.probabilities", "ClassifierModel.decide"],
    "rnn_nlp.tasks.tagging.model": ["TaggerModel", "TaggerModel.tag_tokens", "TaggerModel.labels", "TaggerModel.chunked"],
    "rnn_nlp.tasks.qa.model": ["ReaderModel", "ReaderModel.read_input", "ReaderModel.trained_on_candidates"],
    "rnn_nlp.tasks.classification.ensemble": ["ClassifierEnsemble", "ClassifierEnsemble.predict"],
    "rnn_nlp.results": ["Entity", "TaggedText", "Classification", "Classification.score", "Answer", "Generation", "Translation"],
    "rnn_nlp.errors": ["RnnNlpError", "ConfigError", "DataError", "CheckpointError"],
}
PUBLIC_MODULES = ["rnn_nlp.tasks", *DOCUMENTED]
PUBLIC_CLASSES = ["LanguageModel", "Seq2SeqModel", "ClassifierModel", "TaggerModel", "ReaderModel", "ClassifierEnsemble"]
WARNING = re.compile(r"^(Warn|Error|Traceback)|warning:", re.I | re.M)


def build(out: Path, *modules: str) -> str:
    """`pdoc -o OUT MODULES` (as docs/api.md runs it); its output, once it has succeeded."""
    done = subprocess.run([sys.executable, "-m", "pdoc", "-o", str(out), *modules], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def page(site: Path, module: str) -> Path:
    return site.joinpath(*module.split(".")).with_suffix(".html")


def docstring_text(page_html: str, ident: str) -> str:
    """The plain text of the docstring pdoc wrote for member `ident` ("" when it wrote none)."""
    start = page_html.find(f'id="{ident}"')
    assert start >= 0, f"{ident} is not on the page"
    following = re.search(r'<(div|section) id="', page_html[start + 1 :])
    member = page_html[start : start + 1 + following.start()] if following else page_html[start:]
    found = re.search(r'<div class="docstring">(.*?)</div>', member, re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).split()) if found else ""


def own_docstring(module: str, ident: str) -> str:
    obj = importlib.import_module(module)
    for part in ident.split("."):
        obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
    return " ".join((inspect.getdoc(obj) or "").replace("`", "").split())


@pytest.fixture(scope="module")
def public_site(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("api-reference")
    return out, build(out, "rnn_nlp")  # the command docs/api.md gives


@pytest.mark.slow
def test_the_public_modules_build_without_pdoc_warnings(public_site):
    site, output = public_site
    assert not WARNING.search(output), output
    assert (site / "index.html").is_file()
    for module in PUBLIC_MODULES:
        assert page(site, module).is_file(), module


@pytest.mark.parametrize("module", list(DOCUMENTED))
def test_the_pages_document_the_api_with_its_docstrings(public_site, module):
    site, _ = public_site
    text = page(site, module).read_text(encoding="utf-8")
    for ident in DOCUMENTED[module]:
        written, own = docstring_text(text, ident), own_docstring(module, ident)
        assert own, f"{module}.{ident} has no docstring"
        assert written.startswith(" ".join(own.split()[:6])), (ident, written[:120], own[:120])


def test_the_task_models_link_to_what_they_inherit(public_site):
    site, _ = public_site
    text = page(site, "rnn_nlp.tasks.lm.model").read_text(encoding="utf-8")
    assert 'id="LanguageModel.predict"' in text and 'href="../model.html#Model.predict"' in text


@pytest.mark.slow
def test_the_documented_command_builds_the_whole_reference_without_warnings(tmp_path):
    output = build(tmp_path, "rnn_nlp")  # as docs/api.md says
    for module in ("rnn_nlp", "rnn_nlp.api", "rnn_nlp.tasks", "rnn_nlp.tasks.model", "rnn_nlp.tasks.lm.model", "rnn_nlp.results"):
        assert page(tmp_path, module).is_file(), module
    assert 'id="load"' in page(tmp_path, "rnn_nlp").read_text(encoding="utf-8")
    assert not WARNING.search(output), output


def _undocumented(cls: type) -> list[str]:
    """Public methods and properties of `cls` (its own and inherited from rnn_nlp) without a docstring."""
    missing = []
    for name, member in inspect.getmembers(cls):
        owner = next((k for k in cls.__mro__ if name in vars(k)), None)
        if name.startswith("_") or owner is None or not owner.__module__.startswith("rnn_nlp"):
            continue
        if (inspect.isfunction(member) or isinstance(inspect.getattr_static(cls, name), property)) and not inspect.getdoc(
            getattr(owner, name)
        ):
            missing.append(f"{owner.__name__}.{name}")
    return missing


def test_every_public_method_and_property_has_a_docstring():
    import rnn_nlp.results as results
    import rnn_nlp.tasks.classification.ensemble as ensemble
    import rnn_nlp.tasks.model as model

    classes = [
        model.Model,
        ensemble.ClassifierEnsemble,
        *(
            getattr(importlib.import_module(m), c)
            for m, idents in DOCUMENTED.items()
            if m.startswith("rnn_nlp.tasks.")
            for c in idents
            if c in PUBLIC_CLASSES
        ),
    ]
    classes += [results.Entity, results.TaggedText, results.Classification, results.Answer, results.Generation, results.Translation]
    missing = sorted({name for cls in classes for name in _undocumented(cls)})
    assert missing == []
