"""The hostile-input table: each row is an input, the command or call it goes to, and the class of
outcome it must get (`clear`: exit 2 or one of the package's errors naming what and where; `correct`:
the right output). Adding a row is one line; a new entry point (the server, the exporters) joins as
it lands. Rows name the tiny runs and odd files of tests/hostile/places.py as {classify}, {fifo}, ...
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

CLASSES = (
    "non-regular file",
    "over-long name",
    "permission",
    "broken pipe",
    "wrong argument type",
    "non-finite number",
    "extreme sampling",
    "empty or degenerate config",
    "expanding YAML",
    "strict JSON",
)
CLI_VERBS = ("train", "evaluate", "predict", "generate", "encode", "recipes", "data")
API_ENTRY_POINTS = ("load", "train", "predict", "predict_stream", "evaluate", "generate", "encode", "perplexity", "tag_tokens", "save")
TASKS = ("classify", "ner", "pos", "lm", "qa", "seq2seq")


@dataclass(frozen=True)
class Expect:
    outcome: str  # "clear" or "correct"
    fragment: str = ""  # clear: what the message must name (the file, the key, the argument)
    code: int = 2  # the exit code a command line must end with
    check: Callable[[Any], bool] | None = None  # correct: a test of the output (stdout text, or the call's value)


def clear(fragment: str) -> Expect:
    return Expect("clear", fragment)


def correct(check: Callable[[Any], bool] | None = None, code: int = 0) -> Expect:
    return Expect("correct", code=code, check=check)


@dataclass(frozen=True)
class Row:
    klass: str  # one of CLASSES
    kind: str  # "cli" (in-process), "pipe" (a subprocess whose reader has gone) or "api"
    target: Any  # the CLI verb, or "load" / "train" / "TASK.method", or a function of (places, *args)
    args: Any  # argv (cli, pipe) or (args, kwargs) (api)
    expect: Expect
    deny: str | None = None  # a place that opens as if permission were denied (root ignores permission bits)
    xfail: str | None = None  # a known remaining problem: the reason (the row then xfails strictly)
    tasks: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        name = self.target if isinstance(self.target, str) else self.target.__name__
        shown = " ".join(self.args) if self.kind != "api" else f"{name}{self.args}"
        return f"{self.klass}: {'| ' if self.kind == 'pipe' else ''}{shown}"[:120]


def _tasks(*values: Any) -> tuple[str, ...]:
    text = repr(values)
    return tuple(t for t in TASKS if any(f"{{{name}}}" in text for name in (t, f"{t}.yaml", f"bomb-{t}.yaml")) or f"'{t}." in text)


def cli(klass: str, argv: str, expect: Expect, deny: str | None = None, xfail: str | None = None) -> Row:
    """`rnn-nlp ARGV` (split as a shell would, before the places are filled in)."""
    args = shlex.split(argv)
    return Row(klass, "cli", args[0], args, expect, deny, xfail, _tasks(argv, deny))


def pipe(argv: str, xfail: str | None = None) -> Row:
    """`rnn-nlp ARGV | head -0`: ends quietly with 141, as Unix tools do."""
    args = shlex.split(argv)
    return Row("broken pipe", "pipe", args[0], args, correct(code=141), None, xfail, _tasks(argv))


def api(klass: str, target: Any, *args: Any, expect: Expect, deny: str | None = None, xfail: str | None = None, **kwargs: Any) -> Row:
    """rnn_nlp.TARGET(*args, **kwargs), or a tiny run's model's method ("classify.predict")."""
    return Row(klass, "api", target, (args, kwargs), expect, deny, xfail, _tasks(target, args, kwargs))


# ---- checks of correct output ---------------------------------------------------------------
def no_specials(texts: Any) -> bool:
    """Generated text (a str, a list of them, or stdout lines) holds words and no special token."""
    text = texts if isinstance(texts, str) else " ".join(map(str, texts))
    return bool(text.strip()) and not any(s in text.split() for s in ("<pad>", "<unk>", "<bos>"))


def strict_json_everywhere(places) -> list[str]:
    """Evaluate and predict with every tiny run (the CLI), then every JSON file the runs hold and every
    JSON line printed: the ones holding a bare NaN or Infinity (which is not JSON)."""
    from tests.hostile.runner import _cli

    printed = []
    for task in TASKS:
        for split in ("valid", "test"):
            printed.append(_cli(["evaluate", places.paths[task], "--split", split, "--device", "cpu"])[1])
    for task in ("classify", "ner", "pos"):
        printed.append(_cli(["predict", places.paths[task], places.paths["inputs"], "--device", "cpu"])[1])
    printed.append(_cli(["encode", places.paths["lm"], places.paths["inputs"], "--device", "cpu"])[1])
    files = [p for t in TASKS for p in Path(places.paths[t]).rglob("*.json*")]
    printed_json = ["\n".join(line for line in text.splitlines() if line.startswith(("{", "["))) for text in printed]
    texts = {str(p): p.read_text(encoding="utf-8") for p in files} | {f"printed {i}": t for i, t in enumerate(printed_json)}
    return [name for name, text in texts.items() if not _strict(text, whole=name.endswith(".json"))] + ([] if files else ["no JSON files"])


def _strict(text: str, whole: bool) -> bool:
    def refuse(constant):
        raise ValueError(constant)

    try:
        for part in [text] if whole else [line for line in text.splitlines() if line.strip()]:
            json.loads(part, parse_constant=refuse)
    except ValueError:
        return False
    return True


def finite_perplexity(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0


# ---- the rows -------------------------------------------------------------------------------
CPU = "--device cpu"
EMPTY = ("empty.yaml", "comments.yaml", "braces.yaml")
DEGENERATE = [("classify", "trainer.epochs"), ("ner", "trainer.batch_size"), ("lm", "trainer.bptt"), ("seq2seq", "backbone.hidden_size")]
ROWS: list[Row] = [
    # non-regular files: a FIFO (never opened: with no writer it would block), a character device
    *[cli("non-regular file", f"train {{{t}.yaml}} data.name={{fifo}} --out {{out}}", clear("{fifo}: not a regular file")) for t in TASKS],
    cli("non-regular file", "train {classify.yaml} data.name=/dev/zero --out {out}", clear("/dev/zero: not a regular file")),
    cli("non-regular file", f"evaluate {{ner}} --data {{fifo}} {CPU}", clear("{fifo}: not a regular file")),
    cli("non-regular file", f"evaluate {{classify}} --data /dev/zero {CPU}", clear("/dev/zero: not a regular file")),
    cli("non-regular file", f"predict {{classify}} {{root}} {CPU}", clear("a folder, not a file")),
    cli("non-regular file", f"predict {{ner}} /dev/zero {CPU}", clear("input /dev/zero: a device")),
    cli("non-regular file", f"encode {{pos}} /dev/urandom {CPU}", clear("input /dev/urandom: a device")),
    cli("non-regular file", f"generate {{seq2seq}} --source-file /dev/zero {CPU}", clear("--source-file /dev/zero: a device")),
    cli("non-regular file", f"predict {{classify}} /dev/null {CPU}", correct(lambda out: out == "")),
    cli("non-regular file", f"encode {{lm}} {{root}} {CPU}", clear("a folder, not a file")),
    cli("non-regular file", f"generate {{seq2seq}} --source-file {{root}} {CPU}", clear("{root}")),
    cli("non-regular file", "recipes copy sentiment-rt /dev/zero", clear("/dev/zero")),
    api("non-regular file", "load", "/dev/zero", expect=clear("/dev/zero")),
    api("non-regular file", "pos.evaluate", data="{fifo}", expect=clear("{fifo}: not a regular file")),
    api("non-regular file", "train", "{lm.yaml}", ["data.name=/dev/zero"], out="{out}", expect=clear("/dev/zero: not a regular file")),
    # over-long names: text given where a path was expected, and names over 255 bytes
    cli("over-long name", f"predict {{classify}} '{{long_text}}' {CPU}", clear("name too long")),
    cli("over-long name", f"encode {{ner}} '{{long_text}}' {CPU}", clear("name too long")),
    cli("over-long name", f"evaluate {{pos}} --data {{long}} {CPU}", clear("name too long")),
    cli("over-long name", f"generate {{seq2seq}} --source-file {{long}} {CPU}", clear("name too long")),
    cli("over-long name", "train {classify.yaml} --out {out}/" + "r" * 300, clear("--out")),
    cli("over-long name", "train {lm.yaml} data.name={long} --out {out}", clear("name too long")),
    cli("over-long name", "train {long}", clear("config file")),
    cli("over-long name", "recipes show " + "n" * 300, clear("n" * 20)),
    cli("over-long name", "recipes copy sentiment-rt {long}", clear("name too long")),
    cli("over-long name", "data fetch " + "c" * 300, clear("c" * 20)),
    api("over-long name", "load", "{long_text}", expect=clear("name too long")),
    api("over-long name", "train", "{qa.yaml}", out="{out}/" + "q" * 300, expect=clear("name too long")),
    api("over-long name", "classify.save", "{out}/" + "s" * 300, expect=clear("name too long")),
    api("over-long name", "ner.evaluate", data="{long}", expect=clear("name too long")),
    # permissions: opening the named file or folder is refused
    cli("permission", "train {classify.yaml} --out {out}", clear("{classify.yaml}: cannot read it: permission"), deny="{classify.yaml}"),
    cli("permission", f"predict {{ner}} {{inputs}} {CPU}", clear("{ner}/best: cannot read the checkpoint: permission"), deny="{ner}/best"),
    cli("permission", f"predict {{pos}} {{inputs}} {CPU}", clear("{inputs}: cannot read it: permission denied"), deny="{inputs}"),
    cli("permission", f"encode {{classify}} {{inputs}} {CPU}", clear("{inputs}"), deny="{inputs}"),
    cli("permission", f"evaluate {{lm}} {CPU}", clear("{lm}/best"), deny="{lm}/best"),
    cli("permission", f"generate {{lm}} {CPU}", clear("{lm}/best"), deny="{lm}/best"),
    cli("permission", f"evaluate {{classify}} --data {{lm}}-data {CPU}", clear("{lm}-data"), deny="{lm}-data"),
    cli("permission", "recipes copy sentiment-rt {out}", clear("{out}"), deny="{out}"),
    api("permission", "load", "{qa}", expect=clear("{qa}/best"), deny="{qa}/best"),
    cli("permission", "train {lm.yaml} trainer.epochs=2 --resume --out {lm}", clear("{lm}/checkpoint-last"), deny="{lm}/checkpoint-last"),
    api("permission", "ner.evaluate", report_dir="{afile}/reports", split="test", expect=clear("{afile}")),
    api("permission", "seq2seq.save", "/proc/rnn-nlp-model", expect=clear("/proc/rnn-nlp-model")),
    # broken pipes: a reader gone away ends each printing verb quietly
    *[pipe(f"predict {{{t}}} {{inputs}} {CPU}") for t in ("classify", "ner", "pos")],
    pipe(f"encode {{lm}} {{inputs}} {CPU}"),
    pipe(f"evaluate {{classify}} {CPU}"),
    pipe(f"generate {{lm}} --num-samples 3 --sample {CPU}"),
    pipe(f"generate {{seq2seq}} --source 'a b' {CPU}"),
    pipe(f"predict {{qa}} {{qa_inputs}} {CPU}"),
    pipe("recipes"),
    pipe("recipes show sentiment-rt"),
    pipe("data list"),
    # wrong argument types
    cli("wrong argument type", f"generate {{lm}} --max-tokens 2.5 {CPU}", clear("--max-tokens")),
    cli("wrong argument type", f"predict {{classify}} {{inputs}} --batch-size 0 {CPU}", clear("--batch-size")),
    cli("wrong argument type", f"evaluate {{ner}} --split dev {CPU}", clear("--split")),
    cli("wrong argument type", f"encode {{lm}} {{inputs}} --pooling sum {CPU}", clear("pooling")),
    api("wrong argument type", "classify.predict", {"text": "x"}, expect=clear("inputs")),
    api("wrong argument type", "ner.predict", ["a", None], expect=clear("inputs[1]")),
    api("wrong argument type", "pos.predict_stream", b"bytes", expect=clear("inputs")),
    api("wrong argument type", "qa.predict", ["not a question"], expect=clear("input 1: expected a mapping")),
    api("wrong argument type", "seq2seq.generate", None, expect=clear("source")),
    api("wrong argument type", "lm.generate", None, expect=clear("prompt")),
    api("wrong argument type", "lm.generate", "the", max_tokens=2.5, expect=clear("max_tokens")),
    api("wrong argument type", "lm.perplexity", [None], expect=clear("texts")),
    api("wrong argument type", "classify.encode", b"x", expect=clear("texts")),
    api("wrong argument type", "ner.tag_tokens", "Paris", expect=clear("sentences")),
    api("wrong argument type", "pos.tag_tokens", [["a", None]], expect=clear("sentences")),
    api("wrong argument type", "classify.evaluate", split="dev", expect=clear("dev")),
    api("wrong argument type", "classify.predict", ["a"], batch_size=2.5, expect=clear("batch_size")),
    api("wrong argument type", "ner.predict_stream", ["a"], batch_size=0, expect=clear("batch_size")),
    api("wrong argument type", "lm.encode", ["the cat"], pooling="mean", expect=clear("pooling must be a list")),
    api("wrong argument type", "lm.encode", ["the cat"], batch_size=0, expect=clear("batch_size")),
    api("wrong argument type", "pos.evaluate", data=3, expect=clear("data")),
    api("wrong argument type", "lm.generate", "the", num_samples=0, sample=True, expect=clear("num_samples")),
    api("wrong argument type", "qa.evaluate", batch_size=-1, expect=clear("batch_size")),
    api("wrong argument type", "ner.tag_tokens", [["Paris"]], batch_size="x", expect=clear("batch_size")),
    api("wrong argument type", "classify.predict", [], expect=correct(lambda r: r == [])),
    api("wrong argument type", "lm.perplexity", "", expect=clear("texts")),
    cli("wrong argument type", f"evaluate {{classify}} --ensemble {{afile}} {CPU}", clear("{afile}")),
    cli("wrong argument type", "train {lm.yaml} --resume --out {root}", clear("{root}")),
    cli("wrong argument type", "data fetch ''", clear("corpus")),
    cli("wrong argument type", f"predict {{qa}} {{inputs}} {CPU}", clear("input line 1")),
    cli("wrong argument type", f"evaluate {{classify}} --data {{ner}}-data/train.txt {CPU}", clear("train.txt")),
    cli("wrong argument type", "train {classify.yaml} data.name={inputs} --out {out}", clear("{inputs}")),
    cli("wrong argument type", "recipes copy sentiment-rt {afile}", clear("{afile} exists")),
    cli("wrong argument type", f"encode {{qa}} {{inputs}} {CPU}", correct(lambda out: out.count("vector") == 60)),
    cli("wrong argument type", f"encode {{classify}} {{inputs}} --out {{afile}}/v.npy {CPU}", clear("{afile}")),
    cli("wrong argument type", f"generate {{classify}} {CPU}", clear("not a language model")),
    cli("wrong argument type", f"predict {{classify}} {{inputs}} --threads 0 {CPU}", clear("threads")),
    cli("wrong argument type", f"evaluate {{lm}} --batch-size 0 {CPU}", clear("batch")),
    api("wrong argument type", "classify.save", "{classify}", expect=clear("{classify} holds other files")),
    api("wrong argument type", "load", "{classify}", device="tpu", expect=clear("device 'tpu'")),
    *[cli("empty or degenerate config", f"train {{{t}.yaml}} {k}=0 --out {{out}}", clear(k)) for t, k in DEGENERATE],
    cli("wrong argument type", "recipes show ''", clear("recipe")),
    api("wrong argument type", "classify.save", None, expect=clear("path")),
    api("wrong argument type", "load", None, expect=clear("path")),
    api("wrong argument type", "train", 42, out="{out}", expect=clear("config")),
    api("wrong argument type", "train", "{lm.yaml}", "trainer.epochs=1", out="{out}", expect=clear("overrides")),
    # non-finite numbers
    *[
        cli("non-finite number", f"train {{{t}.yaml}} trainer.lr={v} --out {{out}}", clear("trainer.lr"))
        for t, v in [("classify", ".nan"), ("ner", ".inf"), ("pos", "1e308"), ("lm", "-.inf")]
    ],
    cli("non-finite number", "train {seq2seq.yaml} backbone.init_range=.nan --out {out}", clear("backbone.init_range")),
    cli("non-finite number", "train {classify.yaml} trainer.lr=1e39 --out {out}", clear("trainer.lr")),
    cli("non-finite number", "train {qa.yaml} trainer.clip_norm=.nan --out {out}", clear("trainer.clip_norm")),
    cli("non-finite number", f"generate {{lm}} --sample --temperature nan {CPU}", clear("temperature")),
    cli("non-finite number", f"generate {{lm}} --sample --top-p inf {CPU}", clear("top")),
    cli("non-finite number", f"generate {{lm}} --beam 2 --length-penalty nan {CPU}", clear("length")),
    api("non-finite number", "lm.generate", "the", sample=True, temperature=float("inf"), expect=clear("temperature")),
    api("non-finite number", "seq2seq.generate", "a b", sample=True, temperature=float("nan"), expect=clear("temperature")),
    # extreme sampling settings: bounded, or handled in log space without special tokens
    cli("extreme sampling", f"generate {{lm}} --sample --temperature 1e39 --max-tokens 40 {CPU}", correct(no_specials)),
    cli("extreme sampling", f"generate {{lm}} --sample --temperature 100 --max-tokens 60 {CPU}", correct(no_specials)),
    cli("extreme sampling", f"generate {{lm}} --sample --top-k {2**70} {CPU}", correct(no_specials)),
    cli("extreme sampling", f"generate {{lm}} --max-tokens 1000000 {CPU}", clear("max_tokens")),
    cli("extreme sampling", f"generate {{lm}} --sample --num-samples 1000000 {CPU}", clear("num")),
    cli("extreme sampling", f"generate {{seq2seq}} --source 'a b' --beam 1000000 {CPU}", clear("beam")),
    api("extreme sampling", "lm.generate", "the", sample=True, temperature=1e-50, max_tokens=20, expect=correct(no_specials)),
    api("extreme sampling", "lm.generate", "the", sample=True, temperature=1e39, num_samples=3, max_tokens=20, expect=correct(no_specials)),
    api("extreme sampling", "seq2seq.generate", "a b", sample=True, temperature=1e39, num_samples=8, expect=correct(no_specials)),
    cli("extreme sampling", f"generate {{seq2seq}} --source 'a b' --sample --temperature 100 --num-samples 8 {CPU}", correct(no_specials)),
    api("extreme sampling", "lm.perplexity", ["the cat sees the moon ."], expect=correct(finite_perplexity)),
    # empty and degenerate configs
    *[cli("empty or degenerate config", f"train {{{n}}} --out {{out}}", clear(f"{{{n}}}: the file holds no settings")) for n in EMPTY],
    *[cli("empty or degenerate config", f"train {{{t}.yaml}} data.name={{emptydir}} --out {{out}}", clear("{emptydir}")) for t in TASKS],
    cli("empty or degenerate config", "train {list.yaml} --out {out}", clear("{list.yaml}")),
    cli("empty or degenerate config", "train {scalar.yaml} --out {out}", clear("{scalar.yaml}")),
    cli("empty or degenerate config", "train {null-sections.yaml} --out {out}", clear("data")),
    api("empty or degenerate config", "train", {}, out="{out}", expect=clear("config")),
    api("empty or degenerate config", "train", "{empty.yaml}", out="{out}", expect=clear("holds no settings")),
    # expanding YAML: an alias bomb is refused before it expands, in a config and in a run's saved config
    *[cli("expanding YAML", f"train {{bomb-{t}.yaml}} --out {{out}}", clear("alias")) for t in TASKS],
    cli("expanding YAML", f"predict {{bombed}} {{inputs}} {CPU}", clear("{bombed}")),
    cli("expanding YAML", "train {lm.yaml} data.name=&a[1,*a] --out {out}", clear("data.name")),
    api("expanding YAML", "train", "{bomb.yaml}", out="{out}", expect=clear("alias")),
    api("expanding YAML", "load", "{bombed}", expect=clear("config.yaml")),
    # strict JSON: no NaN or Infinity in any file the runs, evaluate and predict write
    replace(api("strict JSON", strict_json_everywhere, expect=correct(lambda bad: bad == [])), tasks=TASKS),
]

__all__ = ["API_ENTRY_POINTS", "CLASSES", "CLI_VERBS", "ROWS", "TASKS", "Expect", "Row", "api", "clear", "cli", "correct", "pipe"]
