"""The verbs that use no trained model: recipes, data, experiment, demo."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from rnn_nlp.errors import RnnNlpError
from rnn_nlp.files import json_text


def recipes(args: argparse.Namespace) -> None:
    from rnn_nlp.builtin_recipes import recipe_description, recipe_names, recipe_path

    command = args.recipes_command or "list"
    if command == "list":
        for name in recipe_names():
            print(f"{name:32s} {recipe_description(name)}")
        return
    path = recipe_path(args.name)
    if command == "show":
        print(path.read_text(encoding="utf-8"), end="")
        return
    target = Path(args.file)
    if target.exists() and not args.force:
        raise RnnNlpError(f"{target} exists; pass --force to replace it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    except OSError as exc:
        raise RnnNlpError(f"cannot write {target}: {exc}") from None
    print(f"copied recipe {args.name} to {target}; train it with: rnn-nlp train {target}")


def data(args: argparse.Namespace) -> None:
    from rnn_nlp.data.fetchers.cache import FETCHERS, cache_path, fetch

    if args.data_command == "list":
        for name, f in sorted(FETCHERS.items()):
            cached = "cached" if cache_path(name).exists() else "not fetched"
            print(f"{name:20s} {f.description} [{cached}]")
        return
    if args.data_command == "info":
        data_info(args.name)
        return
    table = fetch(args.name, refresh=args.refresh)
    sizes = ", ".join(f"{split} {len(ds):,} lines" for split, ds in table.items())
    print(f"{args.name}: {sizes} (cache: {cache_path(args.name)})")


def data_info(name: str) -> None:
    """A fetched corpus's split sizes, and the per-source table of a corpus that keeps a manifest (english-mix)."""
    from rnn_nlp.data.fetchers.cache import FETCHERS, cache_path, fetch, manifest

    if name not in FETCHERS:
        raise RnnNlpError(f"data info: no built-in corpus {name!r}; `rnn-nlp data list` names them")
    if not cache_path(name).exists():
        raise RnnNlpError(f"data info: {name} is not fetched yet; run `rnn-nlp data fetch {name}` first")
    table = fetch(name)
    print(f"{name}: " + ", ".join(f"{split} {len(ds):,} lines" for split, ds in table.items()) + f" (cache: {cache_path(name)})")
    about = manifest(name)
    if not about or not about.get("sources"):
        return
    print(f"{'source':14s} {'words':>12s} {'tokens':>12s}  licence")
    for source in about["sources"]:
        print(f"{source['name']:14s} {source['words']['total']:>12,} {source['tokens']['total']:>12,}  {source['licence']}")
    words, tokens, dropped = about["words"]["total"], about["tokens"]["total"], about["duplicates_dropped"]
    print(f"{'total':14s} {words:>12,} {tokens:>12,}  ({dropped:,} duplicate lines dropped)")


def experiment(args: argparse.Namespace) -> None:
    from rnn_nlp.experiments import EXPERIMENTS, get_experiment, run_experiment

    if args.name == "list":
        for name in EXPERIMENTS:
            print(f"{name:20s} {get_experiment(name).DESCRIPTION}")
        return
    out = Path(args.out or f"runs/experiments/{args.name}")
    record = run_experiment(args.name, out, args.config, args.overrides)
    print(json_text(record["result"], indent=2))
    print(f"wrote {out / (args.name + '.json')} and {out / (args.name + '.png')} in {record['elapsed_s']:.0f} s")


def demo(args: argparse.Namespace) -> None:
    from rnn_nlp.demo import run_demo

    if args.threads is not None and not 0 < args.threads <= 4096:
        raise RnnNlpError(f"--threads must be in 1..4096, got {args.threads}")
    run_demo(Path(args.out), threads=args.threads, overrides=list(args.overrides))
