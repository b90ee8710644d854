"""The public API: `rnn_nlp.load`, `rnn_nlp.train`, `rnn_nlp.recipes`.

import rnn_nlp
model = rnn_nlp.load("runs/ner")                    # a run folder, or a recipe's cached run
model.predict("Angela Merkel visited Paris.")       # one text -> one result; a list -> a list
model.evaluate(split="test")                        # the metrics the CLI prints
model = rnn_nlp.train("ner-conll03", overrides=["trainer.epochs=3"], out="runs/ner")
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from rnn_nlp.builtin_recipes import recipe_names
from rnn_nlp.config import RunConfig
from rnn_nlp.errors import ConfigError, abbreviate
from rnn_nlp.runs import build_with_overrides, load_config, load_run, train_run
from rnn_nlp.runs.folders import check_out_path
from rnn_nlp.tasks.model import Model
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import run_folder
from rnn_nlp.training.callbacks import Callback
from rnn_nlp.training.recipe_runs import recipe_run_dirs, run_or_recipe  # noqa: F401  (recipe_run_dirs: part of the API)
from rnn_nlp.training.run_folder import LAST

log = logging.getLogger(__name__)


def recipes() -> list[str]:
    """The names of the built-in recipes (`rnn-nlp recipes` lists them with their descriptions)."""
    return recipe_names()


def load(path_or_recipe: str | Path, device: str | None = None) -> Model:
    """The trained model in a run folder (or a built-in recipe's cached run), on `device`
    ("cpu", "cuda", or None: CUDA when available). Returns the task's Model subclass."""
    if not isinstance(path_or_recipe, (str, os.PathLike)):
        raise TypeError(f"load: path_or_recipe must be a run folder (str or Path) or a recipe's name, got {type(path_or_recipe).__name__}")
    folder = run_or_recipe(path_or_recipe)
    _, task, module = load_run(folder, device or "auto")
    cls = task.model_class or Model
    model = cls(task, module, folder)
    model.prepare()  # the tokenizer built at load: the first prediction costs what every later one does
    return model


def _config(config: str | Path | dict | RunConfig, overrides: Sequence[str]) -> RunConfig:
    """The validated config of a path, a recipe name, a raw mapping or a RunConfig."""
    if isinstance(config, RunConfig):
        if overrides:
            raise ConfigError("overrides apply to a YAML file, recipe or mapping; change the RunConfig's fields instead")
        return config
    if isinstance(config, dict):  # a deep copy: the caller's mapping stays as it was
        return build_with_overrides(config, list(overrides), "config")
    return load_config(config, list(overrides))


def _check_train_arguments(config: object, overrides: object, resume: bool) -> None:
    """TypeErrors naming `config` or `overrides` for what train cannot take (a str of overrides would be read a character
    at a time). `config` may be None when resuming: the run's saved config is used."""
    if config is None and resume:
        return
    if not isinstance(config, (str, os.PathLike, dict, RunConfig)):
        raise TypeError(f"train: config must be a recipe's name, a YAML file, a mapping or a RunConfig, got {type(config).__name__}")
    if isinstance(overrides, (str, bytes)) or not isinstance(overrides, Sequence) or not all(isinstance(o, str) for o in overrides):
        raise TypeError(f"train: overrides must be a list of 'key=value' strings, got {abbreviate(overrides)}")


def train(
    config: str | Path | dict | RunConfig | None,
    overrides: Sequence[str] = (),
    out: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    callbacks: Sequence[Callback] = (),
) -> Model:
    """Train a recipe (by name), a YAML file, a raw config mapping or a RunConfig into `out` and
    return the best model, loaded (its `.history` holds the per-epoch metrics).

    `config` may be None with `resume` and `out`: the run's own saved config. `out` defaults to
    runs/<recipe or file name> (where `load(recipe)` looks first). `resume`
    continues from the folder's last checkpoint with the config saved there (`overrides` on top, for
    the keys a resume may change: trainer.epochs, ...); `overwrite` starts over in a used folder.
    """
    _check_train_arguments(config, overrides, resume)
    derived = out is None
    if out is None:
        if isinstance(config, (str, Path)):
            out = Path("runs") / Path(config).stem  # runs/NAME for a recipe NAME or a file NAME.yaml, as the CLI
        else:
            raise ConfigError("train: give `out`, the run folder to train into")
    else:
        check_out_path(Path(out))  # before the config or the data are read: a bad --out is said at once
    last = Path(out) / LAST
    if resume and run_folder.resolve(last).exists():
        # the run's own config, with these overrides on top: nothing of the first command is retyped
        saved = run_folder.resolve(last)
        cfg = build_with_overrides(ckpt.load_raw_config(last), list(overrides), str(saved / run_folder.CONFIG), saved)
        log.info("resuming %s with the config saved in its checkpoint%s", out, " and " + " ".join(overrides) if overrides else "")
    elif config is None:
        raise ConfigError(f"train: resume=True without a config, but {out} holds no checkpoint to resume; give the config")
    else:
        cfg = _config(config, overrides)
    if derived:  # named after the config: the config's own errors (a name too long) come first
        check_out_path(Path(out))
    trainer = train_run(cfg, Path(out), resume=resume, overwrite=overwrite, **({"callbacks": list(callbacks)} if callbacks else {}))
    model = load(out, cfg.trainer.device if cfg.trainer.device != "auto" else None)
    model.history = list(trainer.history)
    model.is_main_process = trainer.dist.is_main
    return model


def export(
    run: str | Path, out: str | Path, dtype: str | None = None, onnx: bool = False, int8: bool = False, overwrite: bool = False
) -> Path:
    """Write `run`'s best model into `out` as a slim folder for inference (`rnn-nlp export`): config, vocabularies,
    the weights it predicts with (`dtype` "bf16": bfloat16) and its model card; `rnn_nlp.load(out)` reads it.

    `onnx`: also an ONNX graph of the network (model.onnx) and what the torch-free predictor needs
    (`rnn_nlp.inference.load(out)`); `int8` adds onnxruntime's dynamically quantized graph (model.int8.onnx).
    """
    from rnn_nlp.runs.export import export_run

    if int8 and not onnx:
        raise ConfigError("export: --int8 quantizes the ONNX graph; give --onnx with it")
    if not onnx:
        return export_run(run, out, dtype, overwrite=overwrite)
    from rnn_nlp.onnx import check_exportable, write_onnx

    def extras(model: Model, folder: Path) -> None:
        write_onnx(model, folder, int8=int8)

    # a model ONNX cannot take is refused before any file is written
    return export_run(run, out, dtype, overwrite=overwrite, extras=extras, check=check_exportable)


def push(
    run: str | Path, repo_id: str, private: bool = False, token: str | None = None, endpoint: str | None = None, onnx: bool = False
) -> str:
    """Upload `run` to the Hugging Face hub as model repo `repo_id` (OWNER/NAME), its card as the repo's README.md;
    returns the commit's URL (`rnn-nlp push`). A run folder is exported first (slim, as `export`); a saved or
    exported model's folder goes as it is. `rnn_nlp.load("hf://OWNER/NAME")` reads it back."""
    import tempfile

    from rnn_nlp.runs.model_card import is_run_folder
    from rnn_nlp.training.hub import check_repo_id, push_folder

    check_repo_id(repo_id)
    folder = run_or_recipe(run, "push")
    if not is_run_folder(folder) and not onnx:
        ckpt.verify(folder)  # a saved model: complete and untampered before it leaves
        return push_folder(folder, repo_id, private, token, endpoint)
    with tempfile.TemporaryDirectory(prefix="rnn-nlp-push-") as tmp:
        slim = export(folder, Path(tmp) / folder.resolve().name, onnx=onnx)
        return push_folder(slim, repo_id, private, token, endpoint)
