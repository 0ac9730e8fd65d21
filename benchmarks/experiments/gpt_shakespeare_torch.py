"""The mini-GPT Shakespeare run, in PyTorch: the same model, weights, batches and schedule as
``python -m tinygrad_edu gpt``, so the two runs' wall times form a ratio and their losses can be compared.

    python -m tinygrad_edu gpt --out runs/gpt_shakespeare                     # ours (writes history.json)
    python -m benchmarks.experiments.gpt_shakespeare_torch --ours runs/gpt_shakespeare  # torch, the ratio

Same: the initial weights (our GPT after ``manual_seed(seed)``, copied by name), every batch (drawn by
``gpt_trainer.random_windows`` from the generator seeded with ``(seed, it)``), the learning-rate schedule
(``gpt_trainer.learning_rate_at``), AdamW with decay on ≥2-D weights, gradient clipping, and the evaluation
protocol (``eval_iters`` batches every ``eval_interval``, ``final_eval_iters`` at the end).  Only the engine
differs.  Both use one thread by default.
"""
import argparse
import dataclasses
import json
import os
import sys
import time

import numpy as np


def train_torch(config, text_train, text_val, log=print):
    import torch
    import tinygrad_edu as tg
    from tinygrad_edu.models.gpt import GPT, GPTConfig
    from tinygrad_edu.text import CharTokenizer
    from tinygrad_edu.training.gpt_trainer import learning_rate_at, random_windows
    from ..torch_twins import GPT as GPT_twin

    tokenizer = CharTokenizer.from_text(text_train + text_val)
    splits = {"train": np.asarray(tokenizer.encode(text_train), np.int64),
              "val": np.asarray(tokenizer.encode(text_val), np.int64)}
    gpt_config = GPTConfig(n_layer=config.n_layer, n_head=config.n_head, n_embd=config.n_embd,
                           block_size=config.block_size, vocab_size=tokenizer.vocab_size,
                           dropout=config.dropout, bias=config.bias)
    tg.manual_seed(config.seed)
    ours = GPT(gpt_config)
    model = GPT_twin(gpt_config)
    state = {k: torch.from_numpy(np.array(v.data)) for k, v in ours.state_dict().items()}
    model.load_state_dict(state, strict=False)
    optimizer = model.configure_optimizers(config.weight_decay, config.learning_rate,
                                           (config.beta1, config.beta2))

    def estimate(n_batches, seed):
        model.eval()
        result = {}
        with torch.no_grad():
            for name, data in splits.items():
                rng = np.random.default_rng([seed, 7919, len(result)])
                losses = []
                for _ in range(n_batches):
                    x, y = random_windows(data, config.block_size, config.batch_size, rng)
                    losses.append(model(torch.from_numpy(x), torch.from_numpy(y))[1].item())
                result[name] = float(np.mean(losses))
        model.train()
        return result

    history = {"eval_iter": [], "eval_val": [], "seconds": 0.0}
    began = time.perf_counter()
    for it in range(config.max_iters + 1):
        if it % config.eval_interval == 0 or it == config.max_iters:
            n = config.final_eval_iters if it == config.max_iters else config.eval_iters
            losses = estimate(n, config.seed + it)
            history["eval_iter"].append(it)
            history["eval_val"].append(losses["val"])
            log(f"torch iter {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        if it == config.max_iters:
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(it, config)
        x, y = random_windows(splits["train"], config.block_size, config.batch_size,
                              np.random.default_rng([config.seed, it]))
        _, loss = model(torch.from_numpy(x), torch.from_numpy(y))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
    history["seconds"] = time.perf_counter() - began
    return history


def main(argv=None):
    from tinygrad_edu.backend import set_num_threads
    from tinygrad_edu.data.text_datasets import TinyShakespeare
    from tinygrad_edu.training.gpt_trainer import GPTTrainConfig
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ours", default="runs/gpt_shakespeare",
                        help="our run folder (its checkpoint's config and history.json are used)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None, help="write the comparison here")
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    set_num_threads(args.threads)
    with open(os.path.join(args.ours, "history.json")) as f:
        ours = json.load(f)
    from tinygrad_edu import load
    saved = load(os.path.join(args.ours, "checkpoint.safetensors"))["config"]
    known = {f.name for f in dataclasses.fields(GPTTrainConfig)}
    config = GPTTrainConfig(**{k: v for k, v in saved.items() if k in known})
    theirs = train_torch(config, TinyShakespeare(root=config.data, split="train").text,
                         TinyShakespeare(root=config.data, split="val").text)
    result = {"iterations": config.max_iters,
              "tinygrad_edu": {"final_val_loss": ours["eval_val"][-1], "seconds": ours["seconds"]},
              "torch": {"final_val_loss": theirs["eval_val"][-1], "seconds": theirs["seconds"],
                        "version": torch.__version__},
              "time_ratio": ours["seconds"] / theirs["seconds"], "threads": args.threads}
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
