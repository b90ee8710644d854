"""Part-of-speech tags: train the pos-brown recipe (12 universal tags), then tag raw text.

python examples/pos.py                          # Brown (fetched once), about 10 minutes on a CPU
python examples/pos.py --tiny DIR               # seconds, on DIR's word/TAG files (train/valid/test.txt)
python examples/pos.py "The old man sat by the sea."
"""

from __future__ import annotations

import argparse

import rnn_nlp

RECIPE = "pos-brown"
TINY = [
    "data.min_count=1",
    "backbone.emb_size=16",
    "backbone.hidden_size=16",
    "head.char_emb_size=8",
    "head.char_size=8",
    "trainer.epochs=3",
    "trainer.batch_size=16",
    "trainer.lr=0.02",
    "trainer.device=cpu",
    "trainer.threads=1",
    "trainer.progress=false",
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("texts", nargs="*", default=["The old man sat by the sea.", "She reads every book twice."])
    parser.add_argument("--tiny", metavar="DIR", help="train in seconds on the small word/TAG corpus in DIR")
    parser.add_argument("--out", default="runs/pos", help="the run folder (default: runs/pos)")
    args = parser.parse_args(argv)

    overrides = [f"data.name={args.tiny}", *TINY] if args.tiny else []
    rnn_nlp.train(RECIPE, overrides=overrides, out=args.out, overwrite=True)

    model = rnn_nlp.load(args.out)
    print(f"test accuracy: {model.evaluate(split='test')['accuracy']:.3f}; tags: {' '.join(model.labels)}")
    for text in args.texts:
        result = model.predict(text)  # one text in, one result out
        print(" ".join(f"{token}/{tag}" for token, tag in zip(result.tokens, result.tags)))


if __name__ == "__main__":
    main()
