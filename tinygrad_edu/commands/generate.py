"""``python -m tinygrad_edu generate RUN``: write text with a trained GPT, character by character.

    python -m tinygrad_edu generate runs/gpt_shakespeare --prompt "ROMEO:" --max-new-tokens 300
    python -m tinygrad_edu generate runs/gpt_shakespeare --temperature 0          # greedy: always the same
    python -m tinygrad_edu generate runs/gpt_shakespeare --top-k 40 --seed 7      # another sample

Each new character is printed as soon as the model has drawn it (``GPT.generate_stream``).  How a
character is drawn from the model's next-character distribution (see ``models/gpt/generation.py``,
``sample_next_token``):

* ``--temperature T`` divides the logits: below 1 the likely characters get likelier (safer, more
  repetitive text), above 1 the distribution flattens (more surprising, more misspelt); 0 is greedy
  decoding, the single most likely character every time (no randomness at all).
* ``--top-k K`` draws only among the K most likely characters; ``--top-p P`` only among the smallest
  set of characters whose probabilities add up to P (nucleus sampling).
* ``--seed S`` fixes the random draws: the same seed and options give the same text.

The prompt must use characters of the run's vocabulary (the characters of its training text).
"""
import sys

from . import UsageError
from .checks import fraction, nonnegative_float, nonnegative_int, positive_int
from .evaluate import open_run

HELP = "stream text from a trained GPT run (prompt, temperature, top-k, top-p, seed)"


def add_arguments(parser):
    parser.add_argument("run", metavar="RUN", help="a run folder written by `gpt` (or its checkpoint file)")
    parser.add_argument("--prompt", default="\n",
                        help="the text to continue (default: %(default)s, a new line, as nanoGPT samples)")
    parser.add_argument("--max-new-tokens", type=nonnegative_int, default=500, metavar="N",
                        help="how many characters to write")
    parser.add_argument("--temperature", type=nonnegative_float, default=0.8, metavar="T",
                        help="0 = greedy (the likeliest character); < 1 safer, > 1 wilder")
    parser.add_argument("--top-k", type=positive_int, default=None, metavar="K",
                        help="draw among the K likeliest characters only (default: all)")
    parser.add_argument("--top-p", type=fraction(0, 1, low_open=True), default=None, metavar="P",
                        help="draw among the smallest set of characters whose probability reaches P, in "
                             "(0, 1] (default: all)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random draws: the same seed gives the same text")


def _check(args):
    if not args.prompt:
        raise UsageError("--prompt is empty: the model needs at least one character to continue")


def prompt_ids(tokenizer, prompt):
    """The prompt's token ids; characters outside the vocabulary are one line naming them."""
    unknown = sorted(set(prompt) - set(tokenizer.stoi))
    if unknown:
        shown = ", ".join(f"{c!r}" for c in unknown[:10]) + (f" and {len(unknown) - 10} more"
                                                            if len(unknown) > 10 else "")
        raise UsageError(f"--prompt: {len(unknown)} character(s) are not in the run's vocabulary: {shown} "
                         f"(it knows the {tokenizer.vocab_size} characters of its training text)")
    return tokenizer.encode(prompt)


def stream(run_, prompt, max_new_tokens, temperature=0.8, top_k=None, top_p=None, seed=0, out=None):
    """Write ``prompt`` and then each generated character to ``out`` as it comes; returns the whole text."""
    import numpy as np
    out = out or sys.stdout
    ids = prompt_ids(run_.tokenizer, prompt)
    out.write(prompt)
    out.flush()
    pieces = [prompt]
    tokens = run_.model.generate_stream(np.asarray([ids], np.int64), max_new_tokens, temperature=temperature,
                                        top_k=top_k, top_p=top_p, generator=seed)
    for token in tokens:
        char = run_.tokenizer.decode(token.tolist())
        out.write(char)
        out.flush()
        pieces.append(char)
    out.write("\n")
    out.flush()
    return "".join(pieces)


def run(args):
    _check(args)
    run_ = open_run(args.run)
    if run_.kind != "gpt":
        raise UsageError(f"RUN {args.run}: generate needs a GPT run (made by `gpt`), not a "
                         f"{run_.kind!r} run (predict and evaluate work with that one)")
    prompt_ids(run_.tokenizer, args.prompt)       # the error before any output
    stream(run_, args.prompt, args.max_new_tokens, args.temperature, args.top_k, args.top_p, args.seed)
    return 0
