"""Sentiment: fine-tune the sentiment-rt recipe (ULMFiT style) from a pretrained LM, then classify reviews.

python examples/lm.py && python examples/classify.py    # Rotten Tomatoes, from the LM in runs/lm-ptb
python examples/classify.py --pretrained none           # a backbone trained from scratch instead
python examples/classify.py --tiny DIR                  # seconds, on DIR's train.csv (text,label columns)
python examples/lm.py --tiny LM_DIR --out runs/tiny-lm && python examples/classify.py --tiny DIR --pretrained runs/tiny-lm
python examples/classify.py "a gorgeous, moving film"
"""

from __future__ import annotations

import argparse
from pathlib import Path

import rnn_nlp

RECIPE = "sentiment-rt"
TINY = [
    "data.min_count=1",
    "head.hidden_size=8",
    "head.dropout=0",
    "trainer.epochs=4",
    "trainer.schedule=none",
    "trainer.batch_size=16",
    "trainer.lr=0.01",
    "trainer.device=cpu",
    "trainer.threads=1",
    "trainer.progress=false",
]
TINY_BACKBONE = ["backbone.emb_size=16", "backbone.hidden_size=16", "backbone.layers=1"]  # without a pretrained one


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("texts", nargs="*", default=["a gorgeous, moving film", "a dull, lifeless mess"])
    parser.add_argument(
        "--pretrained", help="the LM run to start from, or none (default: runs/lm-ptb, where examples/lm.py writes it; none with --tiny)"
    )
    parser.add_argument("--tiny", metavar="DIR", help="train in seconds on the small labelled CSV data in DIR")
    parser.add_argument("--out", default="runs/sentiment-rt", help="the run folder (default: runs/sentiment-rt)")
    args = parser.parse_args(argv)

    pretrained = args.pretrained or ("none" if args.tiny else "runs/lm-ptb")
    pretrained = None if pretrained.lower() == "none" else pretrained
    if pretrained and not Path(pretrained).is_dir():
        parser.error(f"no LM run in {pretrained}: train one with examples/lm.py first, or pass --pretrained none")
    overrides = [f"pretrained={pretrained or 'null'}"]
    if not pretrained:
        overrides.append("stages=[]")  # the recipe's LM fine-tuning stage needs an LM
    elif args.tiny:
        overrides.append("stages=[{name: lm_finetune, epochs: 1}, {name: task}]")
    if args.tiny:
        overrides += [f"data.name={args.tiny}", *TINY, *([] if pretrained else TINY_BACKBONE)]
    rnn_nlp.train(RECIPE, overrides=overrides, out=args.out, overwrite=True)

    model = rnn_nlp.load(args.out)
    scores = model.evaluate(split="test")
    print(f"test accuracy {scores['accuracy']:.3f}, macro-F1 {scores['macro_f1']:.3f}")
    for result in model.predict(args.texts):
        shown = ", ".join(f"{label} {p:.2f}" for label, p in result.probabilities.items())
        print(f"{result.label:8s} {result.text!r} ({shown})")


if __name__ == "__main__":
    main()
