"""A model card: Markdown with YAML front matter, as the Hugging Face hub reads a repo's README.md.

`render(CardFacts)` is the one writer of a card's text; who gathers the facts decides what it can say:
`rnn_nlp.runs.model_card` reads a run folder (its data fingerprints, metrics.csv, eval-*.json), and
`Model.save` of a model that came from no run says what the model alone knows. Nothing here imports
torch: the facts are plain values.

The front matter holds the hub's own keys (`library_name`, `pipeline_tag`, `tags`, `datasets`,
`metrics`, `model-index` with each measured result) and this library's (`rnn_nlp`: task, labels,
data fingerprints, versions), so a program reads the card back with `read_front_matter`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import yaml

from rnn_nlp.version import __version__

LIBRARY = "rnn-nlp"
# the hub's pipeline tag of each built-in task (a user's own task gets none)
PIPELINE_TAGS = {
    "ner": "token-classification",
    "pos": "token-classification",
    "classify": "text-classification",
    "lm": "text-generation",
    "qa": "question-answering",
    "seq2seq": "text2text-generation",
}
TASK_NAMES = {
    "ner": "Named-entity recognition",
    "pos": "Part-of-speech tagging",
    "classify": "Text classification",
    "lm": "Language modelling",
    "qa": "Extractive question answering",
    "seq2seq": "Conditional generation (translation, summarization)",
}
USES = {
    "ner": "finding the named entities of its training data's kinds in text like its training text",
    "pos": "tagging each token of text like its training text with a part of speech from its tag set",
    "classify": "sorting texts like its training texts into its labels",
    "lm": "scoring (perplexity) and continuing text like its training text",
    "qa": "finding an answer span in a context passage, for questions like its training questions",
    "seq2seq": "turning source texts like its training sources into target texts",
}


@dataclass
class Metric:
    """One measured figure: `name` on `split` of `data`, and the command that measured it."""

    name: str
    value: float
    split: str
    data: str
    command: str


@dataclass
class CardFacts:
    """What a card says; every field comes from the model, its run folder or the files beside it."""

    name: str
    task: str
    config: dict
    labels: list[str] | None = None
    data: str = ""
    splits: dict[str, dict] = field(default_factory=dict)  # split -> {count name: n, "sha256": digest}
    metrics: list[Metric] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)  # rnn_nlp, torch (as saved with the weights)
    dtype: str = "float32"
    source: str = ""  # where the facts were read ("run folder runs/ner", ...)
    limits: list[str] = field(default_factory=list)  # limits the gatherer found beyond the task's own
    files: dict[str, int] = field(default_factory=dict)  # the saved folder's files and their sizes, when known


def _yaml_block(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False).rstrip("\n")


def front_matter(facts: CardFacts) -> dict:
    """The card's YAML front matter as a mapping."""
    pipeline = PIPELINE_TAGS.get(facts.task)
    backbone = facts.config.get("backbone", {}) or {}
    tags = [LIBRARY, "rnn", str(backbone.get("rnn", "lstm")), facts.task]
    meta: dict[str, Any] = {"library_name": LIBRARY, "tags": tags}
    if pipeline:
        meta["pipeline_tag"] = pipeline
    if facts.data:
        meta["datasets"] = [facts.data]
    if facts.metrics:
        meta["metrics"] = sorted({m.name for m in facts.metrics})
        results = []
        for m in facts.metrics:
            results.append(
                {
                    "task": {"type": pipeline or facts.task, "name": TASK_NAMES.get(facts.task, facts.task)},
                    "dataset": {"name": m.data, "type": m.data, "split": m.split},
                    "metrics": [{"type": m.name, "value": round(float(m.value), 6), "name": f"{m.split} {m.name}"}],
                }
            )
        meta["model-index"] = [{"name": facts.name, "results": results}]
    meta["rnn_nlp"] = {
        "task": facts.task,
        "labels": facts.labels,
        "data": facts.data,
        "splits": facts.splits,
        "metrics": [asdict(m) for m in facts.metrics],
        "dtype": facts.dtype,
        "versions": {str(k): str(v) for k, v in facts.versions.items()},
    }
    return meta


def _metrics_table(metrics: list[Metric]) -> list[str]:
    if not metrics:
        return ["No metrics were recorded with this model (it was not trained into a run folder, or never evaluated)."]
    lines = ["| split | data | metric | value | measured by |", "|---|---|---|---|---|"]
    for m in metrics:
        lines.append(f"| {m.split} | {m.data} | {m.name} | {m.value:.4f} | `{m.command}` |")
    return lines


def _splits_table(facts: CardFacts) -> list[str]:
    if not facts.splits:
        return ["The data's split sizes and fingerprints were not recorded with this model."]
    lines = ["| split | size | SHA-256 of the examples as loaded |", "|---|---|---|"]
    for split, fp in facts.splits.items():
        counts = ", ".join(f"{v} {k}" for k, v in fp.items() if k != "sha256")
        lines.append(f"| {split} | {counts} | `{fp.get('sha256', '')}` |")
    return lines


def _limits(facts: CardFacts) -> list[str]:
    data = facts.config.get("data", {}) or {}
    out = [
        f"- It knows only the words of its vocabulary (built from {facts.data or 'its training data'}); other words read as `<unk>`.",
        "- It was measured only on the data named above; text of another domain, period or language will score lower.",
        "- A recurrent network reads a text token by token: latency grows with the text's length.",
    ]
    if facts.task in ("ner", "pos"):
        out.append(f"- Sentences longer than {data.get('max_len', 150)} tokens are cut into pieces, tagged piece by piece.")
        out.append("- Raw text is split into tokens by spaCy's blank English tokenizer; other languages' text is split poorly.")
    if facts.task == "classify" and data.get("max_tokens"):
        out.append(f"- Only the first {data['max_tokens']} tokens of a text are read.")
    if facts.dtype != "float32":
        out.append(f"- Its weights are stored in {facts.dtype}: predictions may differ slightly from the float32 run's.")
    out += [f"- {limit}" for limit in facts.limits]
    return out


def render(facts: CardFacts) -> str:
    """The card's whole text: YAML front matter, then Markdown sections."""
    labels = ", ".join(f"`{x}`" for x in facts.labels) if facts.labels else "none (it generates text)"
    lines = [
        "---",
        _yaml_block(front_matter(facts)),
        "---",
        "",
        f"# {facts.name}",
        "",
        f"A **{TASK_NAMES.get(facts.task, facts.task)}** model (task `{facts.task}`) made with "
        f"[rnn_nlp](https://pypi.org/project/{LIBRARY}/) {facts.versions.get('rnn_nlp', __version__)}: "
        "one recurrent backbone with a task head.",
        "",
        "```python",
        "import rnn_nlp",
        'model = rnn_nlp.load("PATH_OR_hf://OWNER/NAME")',
        "model.predict(...)",
        "```",
        "",
        "## Task and labels",
        "",
        f"Labels ({len(facts.labels or [])}): {labels}.",
        "",
        "## Data",
        "",
        f"Trained on `{facts.data or 'not recorded'}`."
        + (
            " Its valid split was trained on too (`data.train_with_dev`), so the valid figures are not held-out ones."
            if (facts.config.get("data") or {}).get("train_with_dev")
            else ""
        ),
        "",
        *_splits_table(facts),
        "",
        "## Metrics",
        "",
        *_metrics_table(facts.metrics),
        "",
        "## Intended use",
        "",
        f"{USES.get(facts.task, 'the task it was trained for')[0].upper()}{USES.get(facts.task, 'the task it was trained for')[1:]}, "
        "as a baseline or a fast CPU model. Check it on a sample of your own data before relying on it.",
        "",
        "## Known limits",
        "",
        *_limits(facts),
        "",
        "## Versions",
        "",
        *[f"- {k}: {v}" for k, v in facts.versions.items()],
        f"- weights: {facts.dtype}",
        *([f"- facts read from: {facts.source}"] if facts.source else []),
        "",
        "## Config",
        "",
        "```yaml",
        _yaml_block(facts.config),
        "```",
        "",
    ]
    if facts.files:
        files = ["## Files", "", "| file | bytes |", "|---|---|", *[f"| {k} | {v} |" for k, v in facts.files.items()], ""]
        lines[-1:-1] = files
    return "\n".join(lines)


def read_front_matter(text: str) -> dict:
    """The YAML front matter of a card's text ({} when it has none)."""
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---\n", 4)
    if end < 0:
        return {}
    meta = yaml.safe_load(text[4:end])
    return meta if isinstance(meta, dict) else {}


def facts_from_card(text: str, config: dict, name: str | None = None) -> CardFacts | None:
    """The facts a card's front matter holds (its `rnn_nlp` section), with `config` (the model's own);
    None when the text is no card of this library's. What `Model.save` carries from the card a model was
    loaded with into the card it writes."""
    try:
        meta = read_front_matter(text)
    except yaml.YAMLError:
        return None
    own = meta.get("rnn_nlp")
    if not isinstance(own, dict) or not isinstance(own.get("task"), str):
        return None
    metrics = []
    for m in own.get("metrics") or []:
        try:
            metrics.append(Metric(str(m["name"]), float(m["value"]), str(m["split"]), str(m["data"]), str(m["command"])))
        except (KeyError, TypeError, ValueError):
            continue
    index = meta.get("model-index") or [{}]
    first = index[0] if isinstance(index, list) and index and isinstance(index[0], dict) else {}
    labels = own.get("labels")
    return CardFacts(
        name=name or str(first.get("name") or own["task"]),
        task=own["task"],
        config=config,
        labels=[str(x) for x in labels] if isinstance(labels, list) else None,
        data=str(own.get("data") or ""),
        splits=dict(own["splits"]) if isinstance(own.get("splits"), dict) else {},
        metrics=metrics,
        versions={str(k): str(v) for k, v in (own.get("versions") or {}).items()},
        dtype=str(own.get("dtype") or "float32"),
        source="the card the model was loaded with",
    )
