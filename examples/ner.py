"""Named entities: train the ner-conll03 recipe, then find entities (with character offsets) in raw text.

python examples/ner.py                          # CoNLL-2003 (fetched once), about 15 minutes on a CPU
python examples/ner.py --tiny DIR               # seconds, on DIR's train.txt / valid.txt / test.txt
python examples/ner.py "Angela Merkel visited Paris."
"""

from __future__ import annotations

import argparse

import rnn_nlp

RECIPE = "ner-conll03"
TINY = [
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
    parser.add_argument("texts", nargs="*", default=["Angela Merkel visited Paris.", "Apple hired John Smith in New York."])
    parser.add_argument("--tiny", metavar="DIR", help="train in seconds on the small CoNLL-columns corpus in DIR")
    parser.add_argument("--out", default="runs/ner", help="the run folder (default: runs/ner)")
    args = parser.parse_args(argv)

    overrides = [f"data.name={args.tiny}", *TINY] if args.tiny else []
    rnn_nlp.train(RECIPE, overrides=overrides, out=args.out, overwrite=True)

    model = rnn_nlp.load(args.out)
    scores = model.evaluate(split="test")
    print(f"test entity F1: {scores['f1']:.3f} (strict {scores['f1_strict']:.3f})")
    for result in model.predict(args.texts):  # a list in, a list of results out, in order
        print(result.text)
        for entity in result.entities:
            print(f"  {entity.label:5s} {entity.text!r} characters {entity.start}-{entity.end}, score {entity.score:.2f}")


if __name__ == "__main__":
    main()
