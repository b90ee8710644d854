"""`rnn-nlp`: train, evaluate, generate, predict, data, experiment, demo."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rnn_nlp.errors import RnnNlpError

log = logging.getLogger("rnn_nlp")


def _train(args: argparse.Namespace) -> None:
    from rnn_nlp.runs import load_config
    from rnn_nlp.runs import train_run

    cfg = load_config(args.config, args.overrides)
    out = Path(args.out) if args.out else Path("runs") / Path(args.config).stem
    trainer = train_run(cfg, out, resume=args.resume, overwrite=args.overwrite)
    if trainer.history and trainer.dist.is_main:
        last = trainer.history[-1]
        shown = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k.startswith("valid_"))
        print(f"trained {trainer.global_step} steps into {out}: {shown}")


def _evaluate(args: argparse.Namespace) -> None:
    from rnn_nlp.runs import load_run

    if args.ensemble:
        return _evaluate_ensemble(args)
    cfg, task, model = load_run(args.run_dir, args.device)
    if args.beam is not None:
        if not hasattr(task, "decode_beam"):
            raise RnnNlpError(f"--beam is for runs that decode (seq2seq); task '{cfg.task}' does not")
        if not 0 < args.beam <= 256:
            raise RnnNlpError(f"--beam must be in 1..256 (1: greedy), got {args.beam}")
        task.decode_beam = args.beam
    if args.data:
        task.use_data(args.data)
    device = next(model.parameters()).device
    if hasattr(task, "report"):
        metrics = task.report(model, args.split, device, Path(args.run_dir))
        print(metrics.pop("report"))
    else:
        metrics = task.evaluate(model, args.split, device)
    metrics["split"] = args.split
    metrics["data"] = args.data or cfg.data.name
    out = Path(args.run_dir) / f"eval-{args.split}.json"
    out.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float))
    print(f"{args.split}: {shown} (written to {out})")


def _load_members(args: argparse.Namespace) -> tuple[list[str], list, list, object]:
    """The runs of `RUN_DIR --ensemble RUN2 ...`: names, tasks, models, and the first model's device."""
    from rnn_nlp.runs import load_run

    names = [args.run_dir, *args.ensemble]
    loaded = [load_run(name, args.device) for name in names]
    tasks, models = [t for _, t, _ in loaded], [m for _, _, m in loaded]
    return names, tasks, models, next(models[0].parameters()).device


def _evaluate_ensemble(args: argparse.Namespace) -> None:
    from rnn_nlp.tasks.classification_ensemble import check_members, ensemble_split

    if args.beam is not None:
        raise RnnNlpError("--beam is for seq2seq runs; --ensemble is for classification runs")
    names, tasks, models, device = _load_members(args)
    check_members(names, tasks)
    if args.data:
        for task in tasks:
            task.use_data(args.data)
    gold, pred, _ = ensemble_split(names, tasks, models, args.split, device)
    metrics = tasks[0].report_predictions(gold, pred, float("nan"), args.split, Path(args.run_dir), suffix="-ensemble")
    print(metrics.pop("report"))
    metrics.pop("loss")  # an average of probabilities has no training loss to report
    metrics.update(split=args.split, data=args.data or tasks[0].cfg.data.name, members=names)
    out = Path(args.run_dir) / f"eval-{args.split}-ensemble.json"
    out.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float))
    print(f"{args.split}, ensemble of {len(names)} runs: {shown} (written to {out})")


def _generate(args: argparse.Namespace) -> None:
    import torch

    from rnn_nlp.generate import generate_texts
    from rnn_nlp.runs import load_run

    if not 0 <= args.seed < 2**63:
        raise RnnNlpError(f"--seed must be in 0..2**63-1, got {args.seed}")
    torch.manual_seed(args.seed)
    cfg, task, model = load_run(args.run_dir, args.device)
    if hasattr(task, "translate") or args.source is not None or args.source_file:
        return _generate_from_sources(args, cfg, task, model)
    if not hasattr(model.head, "log_probs"):
        raise RnnNlpError(f"{args.run_dir}: a '{cfg.task}' run is not a language model; generate needs one")
    if args.batch_size is not None:
        raise RnnNlpError("--batch-size is for seq2seq runs (sources decoded together); a language model continues one prompt")
    vocab = task.token_vocab()
    generator = torch.Generator(device=next(model.parameters()).device).manual_seed(args.seed)
    (texts,) = generate_texts(
        model,
        vocab,
        task.tokenizer,
        [args.prompt],
        max_tokens=30 if args.max_tokens is None else args.max_tokens,
        beam=args.beam,
        length_penalty=args.length_penalty,
        num_samples=args.num_samples,
        stop_at_eos=args.stop_at_eos,
        greedy=not args.sample,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        generator=generator,
    )
    sep = "" if vocab.unit == "char" else " "
    for text in texts:
        print(sep.join(part for part in (args.prompt, text) if part))


def _generate_from_sources(args: argparse.Namespace, cfg, task, model) -> None:
    """`generate --source TEXT` / `--source-file FILE` for conditional models: one output a line
    (with --num-samples K, K lines per source)."""
    import torch

    if not hasattr(task, "translate"):
        raise RnnNlpError(f"{args.run_dir}: a '{cfg.task}' run takes no --source; use --prompt with a language model")
    if args.source is None and not args.source_file:
        raise RnnNlpError(f"{args.run_dir}: a '{cfg.task}' run generates from a source: give --source TEXT or --source-file FILE")
    if args.source is not None and not args.source.strip():
        raise RnnNlpError("--source is empty: give the text to translate / summarize")
    if args.stop_at_eos is False:
        raise RnnNlpError("--no-stop-at-eos is for language models: a seq2seq output always ends at <eos>")
    sources = [args.source] if args.source is not None else []
    if args.source_file:
        from rnn_nlp.data.readers import read_lines

        if args.source_file == "-":
            sources += [line.strip() for line in sys.stdin]
        else:  # every line, empty ones too: output line i is the output of source line i
            sources += read_lines(Path(args.source_file), keep_empty=True)
    from rnn_nlp.generate.conditional import warn_unknown_words

    warn_unknown_words(sources, task.token_vocab(), task.tokenizer, "source")
    warn_unknown_words([args.prompt], task.target_vocab(), task.tokenizer, "--prompt (target prefix)")
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(args.seed)
    outputs = task.translate(
        model,
        sources,
        device,
        **({} if args.max_tokens is None else {"max_tokens": args.max_tokens}),
        beam=args.beam,
        length_penalty=args.length_penalty,
        num_samples=args.num_samples,
        greedy=not args.sample,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        prefix=args.prompt,
        **({} if args.batch_size is None else {"batch_size": args.batch_size}),
        generator=generator,
    )
    for per_source in outputs:
        for text in per_source:
            print(text)


def _input_lines(source: str) -> list[str]:
    """`predict`'s inputs: standard input's lines for "-", else the file's (read_lines)."""
    if source == "-":
        return [line.rstrip("\n") for line in sys.stdin]
    from rnn_nlp.data.readers import read_lines

    return read_lines(Path(source))


def _predict(args: argparse.Namespace) -> None:
    from rnn_nlp.runs import load_run

    if args.input is None:  # --ensemble (nargs +) took every word after it, the input file included
        hint = f"; --ensemble took {' '.join(args.ensemble)}" if args.ensemble else ""
        raise RnnNlpError(f"predict needs an input file (or - for standard input) after the run: "
                          f"rnn-nlp predict RUN FILE [--ensemble RUN2 ...]{hint}")
    if args.ensemble:
        if args.format != "jsonl":
            raise RnnNlpError("--ensemble is for classification runs, which write JSON lines; drop --format")
        from rnn_nlp.tasks.classification_ensemble import check_members, ensemble_texts

        names, tasks, models, device = _load_members(args)
        check_members(names, tasks)
        for row in ensemble_texts(names, tasks, models, _input_lines(args.input), device):
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    cfg, task, model = load_run(args.run_dir, args.device)
    if not hasattr(task, "predict_texts"):
        raise RnnNlpError(f"task '{cfg.task}' has no predict; use `rnn-nlp generate` for language models")
    lines = _input_lines(args.input)
    device = next(model.parameters()).device
    for row in task.predict_texts(model, lines, device):
        if args.format == "conll":
            if "tags" not in row:
                raise RnnNlpError(f"--format conll is for tagging runs; task '{cfg.task}' writes JSON lines")
            sys.stdout.write("".join(f"{t}\t{g}\n" for t, g in zip(row["tokens"], row["tags"])) + "\n")
        else:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


def _encode(args: argparse.Namespace) -> None:
    from rnn_nlp.encode import encode_with
    from rnn_nlp.runs import load_run

    _, task, model = load_run(args.run_dir, args.device)
    if args.input == "-":
        lines = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    else:
        from rnn_nlp.data.readers import read_lines

        lines = read_lines(Path(args.input))
    pooling = [k.strip() for k in args.pooling.split(",") if k.strip()] if args.pooling else None
    vectors = encode_with(model, task, lines, pooling)
    if args.out:
        import numpy as np

        np.save(args.out, vectors)
        print(f"{len(lines)} vectors of width {vectors.shape[1]} written to {args.out}", file=sys.stderr)
        return
    for text, vec in zip(lines, vectors):
        sys.stdout.write(json.dumps({"text": text, "vector": [round(float(v), 6) for v in vec]}, ensure_ascii=False) + "\n")


def _data(args: argparse.Namespace) -> None:
    from rnn_nlp.data.fetch import FETCHERS, cache_path, fetch

    if args.data_command == "list":
        for name, f in sorted(FETCHERS.items()):
            cached = "cached" if cache_path(name).exists() else "not fetched"
            print(f"{name:20s} {f.description} [{cached}]")
        return
    table = fetch(args.name, refresh=args.refresh)
    sizes = ", ".join(f"{split} {len(ds):,} lines" for split, ds in table.items())
    print(f"{args.name}: {sizes} (cache: {cache_path(args.name)})")


def _experiment(args: argparse.Namespace) -> None:
    from rnn_nlp.experiments import EXPERIMENTS, get_experiment, run_experiment

    if args.name == "list":
        for name in EXPERIMENTS:
            print(f"{name:20s} {get_experiment(name).DESCRIPTION}")
        return
    out = Path(args.out or f"runs/experiments/{args.name}")
    record = run_experiment(args.name, out, args.config, args.overrides)
    print(json.dumps(record["result"], indent=2))
    print(f"wrote {out / (args.name + '.json')} and {out / (args.name + '.png')} in {record['elapsed_s']:.0f} s")


def _demo(args: argparse.Namespace) -> None:
    from rnn_nlp.demo import run_demo

    run_demo(Path(args.out))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnn-nlp", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a recipe: rnn-nlp train configs/lm-ptb.yaml trainer.lr=10")
    p.add_argument("config", help="YAML recipe")
    p.add_argument("overrides", nargs="*", help="dotted key=value overrides, e.g. trainer.epochs=2")
    p.add_argument("--out", help="run folder (default runs/<config name>)")
    p.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="metrics of a trained run on a split, written as JSON in the run")
    p.add_argument("run_dir")
    p.add_argument("--split", default="valid", choices=["train", "valid", "test"])
    p.add_argument("--data", help="another corpus (name, file or folder) to evaluate on")
    p.add_argument("--beam", type=int, help="seq2seq runs: beam search of this width (1: greedy; default: head.beam)")
    p.add_argument("--ensemble", nargs="+", metavar="RUN", help="classification: average these runs' probabilities with RUN_DIR's (files *-ensemble in RUN_DIR)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=_evaluate)

    p = sub.add_parser(
        "generate",
        help="continue a prompt with a trained language model (greedy, sampling or beam search)",
        description="One line per result: the prompt and its continuation.",
    )
    p.add_argument("run_dir")
    p.add_argument("--prompt", default="", help="text to continue; empty: start a sentence (seq2seq: a target prefix)")
    p.add_argument("--source", help="seq2seq runs: the source text to translate / summarize")
    p.add_argument("--source-file", help="seq2seq runs: many sources, one a line (- for standard input)")
    p.add_argument("--batch-size", type=int, help="seq2seq runs: sources decoded together (default: trainer.eval_batch_size)")
    p.add_argument("--max-tokens", type=int, help="at most this many new tokens (1..10000; default 30, seq2seq: head.max_decode_tokens)")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same samples")
    p.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling: below 1 sharper, above 1 flatter")
    p.add_argument("--top-k", type=int, default=0, help="sampling: only the k most likely tokens (0: all)")
    p.add_argument("--top-p", type=float, default=1.0, help="sampling: nucleus, the smallest set with this mass")
    p.add_argument("--beam", type=int, default=0, help="beam search of this width (0 or 1: greedy)")
    p.add_argument(
        "--length-penalty", type=float, default=0.6, help="beam: GNMT alpha, scores divided by ((5+len)/6)**alpha"
    )
    p.add_argument(
        "--num-samples", type=int, default=1, help="with --sample: K samples, batched; with --beam: the K best beams"
    )
    p.add_argument(
        "--stop-at-eos",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="end each result at <eos> (default: on for --beam, off otherwise)",
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=_generate)

    p = sub.add_parser("predict", help="predict for raw text, one input per line; JSON lines out")
    p.add_argument("run_dir")
    # optional for argparse only: `predict RUN --ensemble R2 FILE` would otherwise end in "required: input"
    p.add_argument("input", nargs="?", help="a text file, or - for standard input (before --ensemble)")
    p.add_argument("--format", default="jsonl", choices=["jsonl", "conll"], help="conll: token<TAB>tag lines, a blank line after each input (tagging runs)")
    p.add_argument("--ensemble", nargs="+", metavar="RUN", help="classification: average these runs' probabilities with RUN_DIR's")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=_predict)

    p = sub.add_parser(
        "encode",
        help="one vector per input line from a run's backbone and pooling (a QA run: its question encoder)",
        description="JSON lines {text, vector} on standard output, or a [N, D] float32 .npy with --out.",
    )
    p.add_argument("run_dir")
    p.add_argument("input", help="a text file, one text a line, or - for standard input")
    p.add_argument("--out", help="write the vectors as a .npy file instead of JSON lines")
    p.add_argument("--pooling", help="comma-separated last,max,mean (default: the run's own; mean,max for LMs and taggers)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.set_defaults(func=_encode)

    p = sub.add_parser("data", help="list or fetch the built-in corpora")
    dsub = p.add_subparsers(dest="data_command", required=True)
    dsub.add_parser("list", help="the corpora `fetch` knows")
    f = dsub.add_parser("fetch", help="download and convert a corpus into the cache")
    f.add_argument("name")
    f.add_argument("--refresh", action="store_true", help="rebuild the cached copy")
    p.set_defaults(func=_data)

    p = sub.add_parser(
        "experiment",
        help="re-run one of the lecture's claims and write JSON + PNG: rnn-nlp experiment list",
    )
    p.add_argument("name", help="an experiment name, or `list`")
    p.add_argument("overrides", nargs="*", help="parameter overrides, e.g. steps=200")
    p.add_argument("--config", help="YAML of parameters, e.g. configs/experiments/clipping-long.yaml")
    p.add_argument("--out", help="output folder (default runs/experiments/<name>)")
    p.set_defaults(func=_experiment)

    p = sub.add_parser(
        "demo",
        help="the main job: pretrain a small LM on PTB, then fine-tune a sentiment classifier and an NER tagger from it",
    )
    p.add_argument("--out", default="runs/demo")
    p.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # `key=value` overrides may also follow the options (`train CONFIG --out DIR k=v`)
    if extra and hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
        args.overrides = list(args.overrides) + extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    for stream in (sys.stdout, sys.stderr):  # text that never was valid UTF-8 (argv, files) still prints
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s", stream=sys.stderr
    )
    from rnn_nlp.training.trainer import TrainingInterrupted

    try:
        args.func(args)
    except TrainingInterrupted as exc:
        print(str(exc), file=sys.stderr)
        return 130
    except RnnNlpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
