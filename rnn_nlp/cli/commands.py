"""The verbs that use a model: train, evaluate, generate, predict, encode; each a thin call of the API."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from rnn_nlp.errors import RnnNlpError, SaveError, os_reason, shown_path
from rnn_nlp.files import json_text, replace_text


def _load(args: argparse.Namespace, run_dir: str | None = None):
    import torch

    from rnn_nlp.api import load

    model = load(run_dir or args.run_dir, args.device)
    threads = getattr(args, "threads", None)
    threads = model.config.trainer.threads if threads is None else threads
    if threads is not None:
        if not 0 < threads <= 4096:
            raise RnnNlpError(f"--threads must be in 1..4096, got {threads}")
        torch.set_num_threads(threads)
    return model


def train(args: argparse.Namespace) -> None:
    from rnn_nlp.api import train as train_api

    out = Path(args.out) if args.out else Path("runs") / Path(args.config).stem
    model = train_api(args.config, args.overrides, args.out, resume=args.resume, overwrite=args.overwrite)
    if model.history and model.is_main_process:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in model.history[-1].items() if k.startswith("valid_"))
        print(f"trained {model.history[-1]['step']} steps into {out}: {shown}")


def write_json(path: Path, obj: dict) -> None:
    """Write JSON atomically (a temporary file renamed over `path`): a full or read-only disk leaves no
    empty or half file, and is one clear error naming the path."""
    try:
        replace_text(path, json_text(obj, indent=2) + "\n")
    except OSError as exc:
        raise SaveError(f"cannot write {path}: {exc.strerror or exc}") from None


def _data_tag(data: str | None) -> str:
    """ "" for the run's own data, else "-<data name>": what names the files evaluating other data writes."""
    if not data:
        return ""
    tag = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(data).name or data)
    if len(tag) > 100:  # a file name has at most 255 bytes: a long one is cut, with a hash to keep it apart
        tag = f"{tag[:80]}-{hashlib.sha256(data.encode('utf-8', 'surrogateescape')).hexdigest()[:10]}"
    return f"-{tag}"


def _eval_file(run_dir: Path, split: str, data: str | None, suffix: str = "") -> Path:
    """eval-<split>.json for the run's own data; eval-<split>-<data name>.json for other data (never overwriting the first)."""
    return run_dir / f"eval-{split}{_data_tag(data)}{suffix}.json"


def _report_dir(run_dir: Path, data: str | None) -> Path:
    """Where evaluate's reports go: the run folder for its own data, RUN/reports-<data name>/ for other data."""
    if not data:
        return run_dir
    folder = run_dir / f"reports{_data_tag(data)}"
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise SaveError(f"cannot write {folder}: {exc.strerror or exc}") from None
    return folder


def evaluate(args: argparse.Namespace) -> None:
    if args.ensemble:
        return _evaluate_ensemble(args)
    from rnn_nlp.tasks.seq2seq.model import Seq2SeqModel

    model = _load(args)
    if args.beam is not None:
        if not isinstance(model, Seq2SeqModel):
            raise RnnNlpError(f"--beam is for runs that decode (seq2seq); task '{model.task}' does not")
        if not 0 < args.beam <= 256:
            raise RnnNlpError(f"--beam must be in 1..256 (1: greedy), got {args.beam}")
        model.beam = args.beam
    if args.batch_size is not None and not 0 < args.batch_size <= 100_000:
        raise RnnNlpError(f"--batch-size must be in 1..100000, got {args.batch_size}")
    reports = _report_dir(Path(args.run_dir), args.data)
    try:
        metrics = model.evaluate(data=args.data, split=args.split, report_dir=reports, batch_size=args.batch_size)
    except BaseException:
        if reports != Path(args.run_dir) and not any(reports.iterdir()):
            reports.rmdir()  # bad --data: no empty reports folder is left in the run
        raise
    report = metrics.pop("report", None)
    metrics["split"] = args.split
    metrics["data"] = args.data or model.config.data.name
    out = _eval_file(Path(args.run_dir), args.split, args.data)
    write_json(out, metrics)  # before printing: a reader that stops early (| head) loses nothing
    refresh_card(Path(args.run_dir))
    if report is not None:
        print(report)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float))
    print(f"{args.split}: {shown} (written to {out})")


def refresh_card(run_dir: Path) -> None:
    """A run folder's model card (README.md) again, now listing the evaluation just written."""
    from rnn_nlp.runs.model_card import is_run_folder, write_run_card

    if is_run_folder(run_dir):
        write_run_card(run_dir)


def _ensemble(args: argparse.Namespace):
    from rnn_nlp.tasks.classification.ensemble import ClassifierEnsemble

    names = [args.run_dir, *args.ensemble]
    return ClassifierEnsemble([_load(args, name) for name in names], names)


def _evaluate_ensemble(args: argparse.Namespace) -> None:
    if args.beam is not None:
        raise RnnNlpError("--beam is for seq2seq runs; --ensemble is for classification runs")
    ensemble = _ensemble(args)
    gold, pred, _, tasks = ensemble.evaluate_split(args.split, args.data)
    metrics = tasks[0].report_predictions(
        gold, pred, float("nan"), args.split, Path(args.run_dir), suffix=f"{_data_tag(args.data)}-ensemble"
    )
    report = metrics.pop("report")
    metrics.pop("loss")  # an average of probabilities has no training loss to report
    metrics.update(split=args.split, data=args.data or tasks[0].cfg.data.name, members=ensemble.names)
    out = _eval_file(Path(args.run_dir), args.split, args.data, "-ensemble")
    write_json(out, metrics)
    refresh_card(Path(args.run_dir))
    print(report)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float))
    print(f"{args.split}, ensemble of {len(ensemble.names)} runs: {shown} (written to {out})")


def generate(args: argparse.Namespace) -> None:
    from rnn_nlp.tasks.lm.model import LanguageModel
    from rnn_nlp.tasks.seq2seq.model import Seq2SeqModel

    if not 0 <= args.seed < 2**63:
        raise RnnNlpError(f"--seed must be in 0..2**63-1, got {args.seed}")
    model = _load(args)
    if isinstance(model, Seq2SeqModel):
        return _generate_from_sources(args, model)
    if args.source is not None or args.source_file:
        raise RnnNlpError(f"{args.run_dir}: a '{model.task}' run takes no --source; use --prompt with a language model")
    if not isinstance(model, LanguageModel):
        raise RnnNlpError(f"{args.run_dir}: a '{model.task}' run is not a language model; generate needs one")
    if args.batch_size is not None:
        raise RnnNlpError("--batch-size is for seq2seq runs (sources decoded together); a language model continues one prompt")
    texts = model.generate(
        args.prompt,
        max_tokens=30 if args.max_tokens is None else args.max_tokens,
        beam=args.beam or 0,
        sample=args.sample,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        num_samples=args.num_samples,
        stop_at_eos=args.stop_at_eos,
        length_penalty=0.6 if args.length_penalty is None else args.length_penalty,
        seed=args.seed,
    )
    sep = "" if model.vocab.unit == "char" else " "
    for text in [texts] if isinstance(texts, str) else texts:
        print(sep.join(part for part in (args.prompt, text) if part))


def _generate_from_sources(args: argparse.Namespace, model) -> None:
    """`generate --source TEXT` / `--source-file FILE` for conditional models: one output a line
    (with --num-samples K, K lines per source)."""
    if args.source is None and not args.source_file:
        raise RnnNlpError(f"{args.run_dir}: a '{model.task}' run generates from a source: give --source TEXT or --source-file FILE")
    if args.source is not None and not args.source.strip():
        raise RnnNlpError("--source is empty: give the text to translate / summarize")
    if args.stop_at_eos is False:
        raise RnnNlpError("--no-stop-at-eos is for language models: a seq2seq output always ends at <eos>")
    sources = [args.source] if args.source is not None else []
    if args.source_file:
        from rnn_nlp.data.formats.lines import read_lines

        if args.source_file == "-":
            sources += [line.strip() for line in sys.stdin]
        else:  # every line, empty ones too: output line i is the output of source line i
            with contextlib.suppress(OSError):  # read_lines names what it cannot open
                refuse_endless_device(args.source_file, os.stat(args.source_file).st_mode, "--source-file")
            sources += read_lines(Path(args.source_file), keep_empty=True)
    outputs = model.generate(
        sources,
        max_tokens=args.max_tokens,
        beam=args.beam,
        sample=args.sample,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        num_samples=args.num_samples,
        length_penalty=args.length_penalty,
        prefix=args.prompt,
        seed=args.seed,
        batch_size=args.batch_size,
    )
    for per_source in outputs:
        for text in [per_source] if isinstance(per_source, str) else per_source:
            print(text)


def check_input(source: str, verb: str) -> None:
    """Refuse an input argument that names no readable file, before the model loads. `predict RUN
    TEXT` (text where the file was expected) is the usual slip: the error says how to give text."""
    if source == "-":
        return
    hint = f"; {verb} reads a file, one input a line (to {verb} a text, pipe it in: echo TEXT | rnn-nlp {verb} RUN -)"
    try:
        mode = os.stat(source).st_mode
    except (FileNotFoundError, NotADirectoryError, ValueError):  # ValueError: a NUL in the name
        raise RnnNlpError(f"input file not found: {shown_path(source)}{hint}") from None
    except OSError as exc:
        raise RnnNlpError(f"input {shown_path(source)}: {os_reason(exc)}{hint}") from None
    if stat.S_ISDIR(mode):
        raise RnnNlpError(f"input {source}: a folder, not a file{hint}")
    refuse_endless_device(source, mode, "input")


def refuse_endless_device(source: str, mode: int, what: str) -> None:
    """Refuse a device that is neither a terminal nor /dev/null (/dev/zero, /dev/urandom, a disk):
    read a line at a time it never ends a line, and the reading ends only when memory does."""
    if not (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)):
        return
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return  # the reader says why it cannot open it
    try:
        if os.isatty(fd) or os.path.samefile(source, os.devnull):
            return
    finally:
        os.close(fd)
    raise RnnNlpError(f"{what} {shown_path(source)}: a device, not a file: its lines never end; give a file, or - for standard input")


def _lines(source: str) -> Iterator[str]:
    """`predict`'s inputs one at a time (a file is never read whole): standard input for "-", else
    the file (or a pipe: it is read as it comes)."""
    if source == "-":
        lines = sys.stdin
    else:
        try:
            lines = open(source, encoding="utf-8-sig", errors="surrogateescape", newline=None)  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise RnnNlpError(f"input file {source}: cannot read it: {os_reason(exc)}") from None
    try:
        for n, line in enumerate(lines):
            yield (line.lstrip("\ufeff") if n == 0 else line).rstrip("\n")
    finally:
        if lines is not sys.stdin:
            lines.close()


def predict(args: argparse.Namespace) -> None:
    if args.input is None:  # --ensemble (nargs +) took every word after it, the input file included
        hint = f"; --ensemble took {' '.join(args.ensemble)}" if args.ensemble else ""
        raise RnnNlpError(
            f"predict needs an input file (or - for standard input) after the run: rnn-nlp predict RUN FILE [--ensemble RUN2 ...]{hint}"
        )
    if not 0 < args.batch_size <= 100_000:
        raise RnnNlpError(f"--batch-size must be in 1..100000, got {args.batch_size}")
    if args.ensemble and args.format != "jsonl":
        raise RnnNlpError("--ensemble is for classification runs, which write JSON lines; drop --format")
    check_input(args.input, "predict")
    model = _ensemble(args) if args.ensemble else _load(args)
    inputs = _inputs(model, args.input)
    for result in model.predict_stream(inputs, args.batch_size):
        row = result.to_dict()
        if args.format == "conll":
            if "tags" not in row:
                raise RnnNlpError(f"--format conll is for tagging runs; task '{model.task}' writes JSON lines")
            sys.stdout.write("".join(f"{t}\t{g}\n" for t, g in zip(row["tokens"], row["tags"])) + "\n")
        else:
            sys.stdout.write(json_text(row) + "\n")
        if args.input == "-":
            sys.stdout.flush()  # a pipe sees each result as soon as it is made


def _inputs(model, source: str) -> Iterator:
    """Each input line as the model reads it (a QA run: a JSON object; blank lines skipped), else the line."""
    from rnn_nlp.tasks.qa.model import ReaderModel

    for n, line in enumerate(_lines(source), start=1):
        if isinstance(model, ReaderModel):
            if line.strip():
                yield model.read_input(line, f"input line {n}")
        else:
            yield line


def encode(args: argparse.Namespace) -> None:
    check_input(args.input, "encode")
    model = _load(args)
    lines = list(_lines(args.input))  # every line, blank ones too: row i of the vectors is input line i
    pooling = [k.strip() for k in args.pooling.split(",") if k.strip()] if args.pooling else None
    vectors = model.encode(lines, pooling)
    if args.out:
        import numpy as np

        out = Path(args.out)
        out = out if out.suffix == ".npy" else out.with_name(out.name + ".npy")  # where np.save writes it
        try:
            np.save(out, vectors)
        except OSError as exc:
            raise SaveError(f"cannot write {out}: {exc.strerror or exc}") from None
        print(f"{len(lines)} vectors of width {vectors.shape[1]} written to {out}", file=sys.stderr)
        return
    for text, vec in zip(lines, vectors):
        sys.stdout.write(json_text({"text": text, "vector": [round(float(v), 6) for v in vec]}) + "\n")


def serve(args: argparse.Namespace) -> None:
    from rnn_nlp.serve.server import check_extra

    check_extra()  # before anything loads: a missing extra is one line
    from rnn_nlp.serve.models import Settings
    from rnn_nlp.serve.server import run

    if args.max_batch < 1 or args.queue < 1 or not args.max_wait_ms >= 0 or not args.timeout > 0:
        raise RnnNlpError("serve: --max-batch and --queue must be positive, --max-wait-ms >= 0 and --timeout > 0")
    settings = Settings(max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, max_queue=args.queue, timeout=args.timeout)
    device = None if args.device == "auto" else args.device
    run(args.runs, args.host, args.port, args.workers, args.threads, device, settings)
