"""`rnn-nlp export RUN OUT`: a run's best model as a slim folder for inference.

The folder is what `Model.save` writes (one mechanism): config.yaml, vocab.json, the weights the model
predicts with (model.safetensors, float32 or `--dtype bf16`), meta.json and the model card README.md,
without the optimizer and trainer state of checkpoint-last/, the LM stages' runs and their text, or the
run's logs and plots. `rnn_nlp.load(OUT)` reads it. An ONNX export adds its files through `extras`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rnn_nlp.errors import ConfigError
from rnn_nlp.runs.loading import load_run
from rnn_nlp.runs.model_card import is_run_folder, run_facts
from rnn_nlp.tasks.model import Model
from rnn_nlp.training.recipe_runs import run_or_recipe

# what the CLI's --dtype accepts, and the dtype `Model.save` takes for it
DTYPE_NAMES = {"fp32": "float32", "float32": "float32", "bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16"}


def dtype_name(dtype: str | None) -> str | None:
    """The saved-weights dtype that `dtype` names (None: float32); a ConfigError for another name."""
    if dtype is None:
        return None
    if dtype not in DTYPE_NAMES:
        raise ConfigError(f"export: --dtype {dtype!r} is not one of fp32, bf16, fp16")
    return DTYPE_NAMES[dtype]


def load_model(source: str | Path) -> Model:
    """The model in `source` (a run folder, a saved model or a recipe's trained run), on the CPU."""
    folder = run_or_recipe(source, "export")
    _, task, module = load_run(folder, "cpu")
    return (task.model_class or Model)(task, module, folder)


def export_run(
    source: str | Path,
    out: str | Path,
    dtype: str | None = None,
    overwrite: bool = False,
    extras: Callable[[Model, Path], None] | None = None,
    check: Callable[[Model], list[str]] | None = None,
) -> Path:
    """Write `source`'s best model into the slim folder `out`; returns `out`.

    The card's facts are read from the run folder afresh (so it holds every evaluation made since
    training); a saved model or an export passes its own card on. `extras(model, folder)` writes more
    files into the folder before its hashes are taken (the ONNX export); `check(model)` runs before anything
    is written, raises for a model that `extras` cannot take (a task ONNX cannot export, a missing extra) and
    returns lines for the card's known limits (what the ONNX graph reads differently).
    """
    model = load_model(source)
    out = Path(out)
    assert model.path is not None
    if out.resolve() == model.path.resolve():
        raise ConfigError(f"export: OUT ({out}) is the folder being exported; export into another folder")
    limits = check(model) if check is not None else []
    facts = run_facts(model.path) if is_run_folder(model.path) else model.card_facts()
    facts.limits = [*facts.limits, *limits]
    write = None if extras is None else (lambda folder: extras(model, folder))
    return model.save(out, overwrite=overwrite, dtype=dtype_name(dtype), card=facts, extras=write)
