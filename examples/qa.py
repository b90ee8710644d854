"""Cloze question answering: train the qa-cloze recipe, then answer a question about a passage.

    python examples/qa.py            # conll2003-cloze (built from CoNLL-2003, fetched once), about 10 minutes
    python examples/qa.py --tiny DIR # seconds, on DIR's SQuAD-format train-v1.1.json and dev-v1.1.json
    python examples/qa.py --question "@placeholder met the press ." --context "..." --candidate Merkel --candidate Paris

A cloze question names the missing entity @placeholder; the candidates are the passage's entities.
Without candidates the reader picks the best span of the passage, and the answer carries a warning.
"""

from __future__ import annotations

import argparse

import rnn_nlp

RECIPE = "qa-cloze"
TINY = [
    "data.min_count=1",
    "data.max_context_tokens=14",
    "data.context_stride=7",
    "backbone.emb_size=16",
    "backbone.hidden_size=16",
    "head.context_size=16",
    "trainer.epochs=4",
    "trainer.lr=0.01",
    "trainer.device=cpu",
    "trainer.threads=1",
    "trainer.progress=false",
]
CONTEXT = "German Chancellor Angela Merkel met French President Emmanuel Macron in Paris on Monday ."
QUESTION = "@placeholder met French President Emmanuel Macron in Paris ."
CANDIDATES = ["German", "Angela Merkel", "French", "Emmanuel Macron", "Paris"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--context", default=CONTEXT)
    parser.add_argument("--candidate", action="append", help="a candidate answer (repeat the option); default: the example's")
    parser.add_argument("--tiny", metavar="DIR", help="train in seconds on the small SQuAD-format cloze set in DIR")
    parser.add_argument("--out", default="runs/qa-cloze", help="the run folder (default: runs/qa-cloze)")
    args = parser.parse_args(argv)

    overrides = [f"data.name={args.tiny}", *TINY] if args.tiny else []
    rnn_nlp.train(RECIPE, overrides=overrides, out=args.out, overwrite=True)

    model = rnn_nlp.load(args.out)
    print(f"test accuracy: {model.evaluate(split='test')['accuracy']:.3f}")
    candidates = args.candidate or (CANDIDATES if args.question == QUESTION else [])
    question = {"question": args.question, "context": args.context, "candidates": candidates}
    for row in (question, {"question": args.question, "context": args.context}):  # with, then without candidates
        answer = model.predict(row)
        print(f"answer: {answer.answer!r} (characters {answer.start}-{answer.end}, score {answer.score:.2f})")
        if answer.warning:
            print(f"  warning: {answer.warning}")


if __name__ == "__main__":
    main()
