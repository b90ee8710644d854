"""`rnn-nlp export` and `rnn-nlp push`: a trained model out of its run folder (thin calls of `rnn_nlp.api`)."""

from __future__ import annotations

import argparse


def add_parsers(sub) -> None:
    """The two verbs' parsers, added to `rnn-nlp`'s subcommands."""
    p = sub.add_parser(
        "export",
        help="a run's best model as a slim folder for inference (weights, vocabularies, config, model card); --onnx adds ONNX",
        description="rnn_nlp.load(OUT) reads the folder; with --onnx, rnn_nlp.inference.load(OUT) predicts without torch.",
    )
    p.add_argument("run_dir", help="a run folder, a saved model, or a built-in recipe's trained run")
    p.add_argument("out", help="the folder to write (new, or a saved model's folder with --overwrite)")
    p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"], help="the saved weights' type (default fp32)")
    p.add_argument("--onnx", action="store_true", help="also write model.onnx (tagging and classification runs)")
    p.add_argument("--int8", action="store_true", help="with --onnx: also model.int8.onnx, quantized by onnxruntime (dynamic int8)")
    p.add_argument("--overwrite", action="store_true", help="replace a saved model already in OUT")
    p.set_defaults(func=export)

    p = sub.add_parser(
        "push",
        help="upload a run (exported slim first) or a saved model to the Hugging Face hub, its model card as README.md",
        description="Needs the hub extra (pip install 'rnn-nlp[hub]') and a token (HF_TOKEN, or `hf auth login`).",
    )
    p.add_argument("run_dir", help="a run folder or a saved model's folder")
    p.add_argument("repo_id", help="the hub model repo, OWNER/NAME (created when missing)")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--onnx", action="store_true", help="export with --onnx before uploading")
    p.set_defaults(func=push)


def export(args: argparse.Namespace) -> None:
    from rnn_nlp.api import export as export_api

    out = export_api(args.run_dir, args.out, args.dtype, onnx=args.onnx, int8=args.int8, overwrite=args.overwrite)
    files = sorted(p for p in out.iterdir() if p.is_file())
    total = sum(p.stat().st_size for p in files)
    print(f"exported {args.run_dir} into {out}: {', '.join(p.name for p in files)} ({total / 1e6:.2f} MB)")


def push(args: argparse.Namespace) -> None:
    from rnn_nlp.api import push as push_api

    url = push_api(args.run_dir, args.repo_id, private=args.private, onnx=args.onnx)
    print(f"pushed {args.run_dir} to {args.repo_id}: {url}")
