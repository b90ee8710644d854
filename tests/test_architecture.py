"""The rooms' contracts (docs/architecture.md), checked on the code's own imports, so CI keeps them true:
layers point one way, the task registry is a leaf, the trainer knows no task, task folders are
independent of each other, no import cycle.

Every import counts, those inside functions too. (import-linter's grimp cannot see `rnn_nlp.tasks`,
which setuptools maps from the repository's top-level `tasks/` folder, so the graph is read here.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {"rnn_nlp": ROOT / "rnn_nlp", "rnn_nlp.tasks": ROOT / "tasks"}

# Top to bottom; rooms on one line may not import each other. A module belongs to the first
# room whose name is its own or a prefix of it.
LAYERS = [
    ["rnn_nlp.cli"],
    ["rnn_nlp.demo", "rnn_nlp.experiments", "rnn_nlp.integrations", "rnn_nlp.encode", "rnn_nlp.serve"],
    ["rnn_nlp.api"],
    ["rnn_nlp.runs", "rnn_nlp.onnx"],
    ["rnn_nlp.tasks"],
    ["rnn_nlp.training", "rnn_nlp.generate"],
    ["rnn_nlp.nn", "rnn_nlp.inference"],
    ["rnn_nlp.data"],
    ["rnn_nlp.validation"],
    ["rnn_nlp.config", "rnn_nlp.builtin_recipes", "rnn_nlp.metrics", "rnn_nlp.metrics.squad", "rnn_nlp.results", "rnn_nlp.model_card"],
    ["rnn_nlp.errors", "rnn_nlp.version", "rnn_nlp.files"],
]
FORBIDDEN = {
    "rnn_nlp.tasks.registry": ["rnn_nlp"],  # a leaf: imports nothing of the package
    "rnn_nlp.training": ["rnn_nlp.tasks", "rnn_nlp.nn"],  # the trainer knows no task and no network
    # the ONNX predictor runs without torch: no room that imports it (tests/shipping/test_inference.py runs it so)
    "rnn_nlp.inference": [
        "rnn_nlp.nn",
        "rnn_nlp.tasks",
        "rnn_nlp.training",
        "rnn_nlp.runs",
        "rnn_nlp.api",
        "rnn_nlp.onnx",
        "rnn_nlp.config",
    ],
}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that `name` imports anywhere in its file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    out = set()
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("rnn_nlp") and target != name and target != "rnn_nlp":
                out.add(target)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def room(module: str) -> tuple[int, str] | None:
    for level, rooms in enumerate(LAYERS):
        for r in rooms:
            if module == r or module.startswith(r + "."):
                return level, r
    return None


TASK_FOLDERS = sorted(p.name for p in (ROOT / "tasks").iterdir() if (p / "__init__.py").is_file())


@pytest.mark.slow
def test_task_folders_never_import_each_other():
    wrong = []
    for source, targets in graph().items():
        for folder in TASK_FOLDERS:
            if source.startswith(f"rnn_nlp.tasks.{folder}"):
                wrong += [
                    f"{source} -> {t}"
                    for t in targets
                    if t.startswith("rnn_nlp.tasks.") and t.split(".")[2] in TASK_FOLDERS and t.split(".")[2] != folder
                ]
    assert TASK_FOLDERS == ["classification", "lm", "qa", "seq2seq", "tagging"]
    assert not wrong, "task folders importing each other:\n" + "\n".join(sorted(wrong))


def test_every_module_has_a_room():
    homeless = sorted(m for m in graph() if m != "rnn_nlp" and room(m) is None)
    assert not homeless, f"modules in no layer of tests/test_architecture.py: {homeless}"


def test_layers_point_one_way():
    wrong = []
    for source, targets in graph().items():
        here = room(source)
        for target in targets:
            there = room(target)
            if here is None or there is None or here[1] == there[1]:
                continue
            if there[0] <= here[0]:
                wrong.append(f"{source} -> {target}")
    assert not wrong, "imports that run up or sideways:\n" + "\n".join(sorted(wrong))


def test_forbidden_imports():
    wrong = []
    for source, targets in graph().items():
        for prefix, banned in FORBIDDEN.items():
            if source == prefix or source.startswith(prefix + "."):
                wrong += [f"{source} -> {t}" for t in targets if any(t == b or t.startswith(b + ".") for b in banned)]
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycle():
    g = graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(g.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles[:10])
