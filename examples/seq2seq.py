"""Translation: train the translate-bible recipe (English to Spanish, with attention), then translate.

python examples/seq2seq.py            # bible-en-es (pip install "rnn-nlp[bible]"; fetched once); 10 epochs, long on a CPU
python examples/seq2seq.py --tiny DIR # seconds, on DIR's train.tsv (source<TAB>target lines)
python examples/seq2seq.py "And God said, Let there be light: and there was light."
"""

from __future__ import annotations

import argparse

import rnn_nlp

RECIPE = "translate-bible"
TINY = [
    "head.output.softmax=full",
    "backbone.emb_size=24",
    "backbone.hidden_size=24",
    "head.decoder.emb_size=24",
    "head.decoder.hidden_size=24",
    "head.attention_size=16",
    "head.max_decode_tokens=10",
    "head.eval_decode_examples=10",
    "trainer.epochs=6",
    "trainer.batch_size=16",
    "trainer.lr=0.03",
    "trainer.device=cpu",
    "trainer.threads=1",
    "trainer.progress=false",
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", default=["In the beginning God created the heaven and the earth."])
    parser.add_argument("--tiny", metavar="DIR", help="train in seconds on the small parallel corpus in DIR")
    parser.add_argument("--out", default="runs/translate-bible", help="the run folder (default: runs/translate-bible)")
    args = parser.parse_args(argv)

    overrides = [f"data.name={args.tiny}", *TINY] if args.tiny else []
    rnn_nlp.train(RECIPE, overrides=overrides, out=args.out, overwrite=True)

    model = rnn_nlp.load(args.out)
    scores = model.evaluate(split="test")
    print(f"test BLEU {scores['bleu']:.1f}, chrF {scores['chrf']:.1f}")
    for source in args.sources:
        print(f"source: {source}")
        print(f"greedy: {model.generate(source, beam=1)}")
        for i, output in enumerate(model.generate(source, beam=4, num_samples=2), start=1):
            print(f"beam {i}: {output}")


if __name__ == "__main__":
    main()
