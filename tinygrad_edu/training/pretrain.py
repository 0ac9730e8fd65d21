"""Masked-language-model pre-training: how BERT learns language before it learns any task.

Take a sentence, hide 15% of its tokens, and train the model to fill them in from both sides' context:

    "the cat [MASK] on the mat"   →   predict "sat" at the hidden position

Of the chosen 15%: 80% become ``[MASK]``, 10% a random token, 10% stay as they are (so the model cannot
learn that only ``[MASK]`` positions matter: it has to keep a good representation of *every* token).
The loss is cross-entropy on the chosen positions only (label -100 elsewhere).  Special tokens and padding
are never chosen.

Only the chosen positions go through the output layer (hidden → vocabulary, 30,522 columns): the other 85%
of the logits would be computed and thrown away.

**Resuming and extending.**  The batch of step ``s`` comes from a generator seeded with ``(seed, s)`` and
the learning rate from a formula of ``s`` and ``steps`` (linear warm-up, then linear decay to 0 at
``steps``), so a resumed run continues exactly; resumed with a larger ``steps`` the decay is re-planned
to end at the new total (the steps already taken keep the rates they had).  Whether a folder may be
resumed or extended is decided by ``run_folder.start_or_resume``, once for every command.
"""
import dataclasses
import os
import time

import numpy as np

from .plots import plot_mlm
from .restore import load_weights
from .run_folder import CHECKPOINT, HISTORY_FILE, read_checkpoint, write_json_atomic

CORPORA = ("tinyshakespeare", "sst2")


def mask_tokens(input_ids, special_mask, vocab_size, mask_token_id, rng, mlm_probability=0.15):
    """BERT's masking.  Returns ``(masked_ids, labels)``; ``labels`` is -100 where no prediction is asked.

    input_ids:    (B, T) int array;  special_mask: (B, T) bool, True for [CLS]/[SEP]/[PAD] (never masked)."""
    input_ids = np.asarray(input_ids)
    if input_ids.shape != np.shape(special_mask):
        raise ValueError(f"mask_tokens: input_ids {input_ids.shape} and special_mask "
                         f"{np.shape(special_mask)} "
                         "must have the same shape")
    if not 0.0 < mlm_probability < 1.0:
        raise ValueError(f"mask_tokens: mlm_probability must be in (0, 1), got {mlm_probability}")
    chosen = (rng.random(input_ids.shape) < mlm_probability) & ~np.asarray(special_mask, bool)
    labels = np.where(chosen, input_ids, -100).astype(np.int64)
    masked = input_ids.copy()
    roll = rng.random(input_ids.shape)
    to_mask = chosen & (roll < 0.8)
    to_random = chosen & (roll >= 0.8) & (roll < 0.9)           # the last 10% keep their token
    masked[to_mask] = mask_token_id
    masked[to_random] = rng.integers(0, vocab_size, size=int(to_random.sum()))
    return masked, labels


@dataclasses.dataclass
class PretrainConfig:
    corpus: str = "tinyshakespeare"   # tinyshakespeare | sst2 (its training sentences)
    num_hidden_layers: int = 2
    hidden_size: int = 128
    num_attention_heads: int = 2
    intermediate_size: int = 512
    max_length: int = 64
    batch_size: int = 32
    steps: int = 1000
    lr: float = 5e-4
    warmup_steps: int = 100
    weight_decay: float = 0.01
    mlm_probability: float = 0.15
    eval_interval: int = 100
    eval_batches: int = 10
    seed: int = 0
    data: str = None


def corpus_texts(config):
    """The corpus as a list of short texts (Shakespeare: groups of 4 lines; SST-2: the sentences)."""
    from ..data import text_datasets as td
    if config.corpus == "tinyshakespeare":
        text = td.TinyShakespeare(root=config.data, split="train").text
        lines = [line for line in text.split("\n") if line]
        train = [" ".join(lines[i:i + 4]) for i in range(0, len(lines), 4)]
        lines = [line for line in td.TinyShakespeare(root=config.data, split="val").text.split("\n") if line]
        val = [" ".join(lines[i:i + 4]) for i in range(0, len(lines), 4)]
        return train, val
    if config.corpus == "sst2":
        train = td.SST2(root=config.data, split="train")
        val = td.SST2(root=config.data, split="validation")
        return ([train[i][0] for i in range(len(train))], [val[i][0] for i in range(len(val))])
    raise ValueError(f"pretrain: unknown corpus {config.corpus!r}; expected tinyshakespeare or sst2")


def mlm_loss(model, ids, types, mask, labels):
    """Cross-entropy of the MLM head on the chosen positions only."""
    from .. import from_numpy
    from ..nn import functional as F
    hidden = model.bert(from_numpy(ids), attention_mask=from_numpy(mask),
                        token_type_ids=from_numpy(types)).last_hidden_state
    flat = hidden.reshape(-1, hidden.shape[-1])
    chosen = np.flatnonzero(labels.reshape(-1) != -100)
    if len(chosen) == 0:
        return None
    logits = model.cls(flat[chosen])
    return F.cross_entropy(logits, from_numpy(labels.reshape(-1)[chosen]))


def build_mlm_model(config, vocab_size):
    """The small BERT with its masked-LM head that ``config`` (a ``PretrainConfig``) describes, freshly
    initialised (``pretrain`` trains it; ``training/restore.py`` fills it with a run's weights)."""
    from ..models.bert import BertConfig, BertForMaskedLM
    return BertForMaskedLM(BertConfig(vocab_size=vocab_size, hidden_size=config.hidden_size,
                                      num_hidden_layers=config.num_hidden_layers,
                                      num_attention_heads=config.num_attention_heads,
                                      intermediate_size=config.intermediate_size,
                                      max_position_embeddings=max(config.max_length, 64),
                                      hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1))


def encode_mlm_batch(tokenizer, texts, config, rng):
    """Tokenize ``texts`` (padded to the longest) and mask them as BERT does; returns the arrays
    ``masked_ids, token_type_ids, attention_mask, labels`` that ``mlm_loss`` takes."""
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=config.max_length,
                    return_tensors="np")
    ids = np.asarray(enc["input_ids"], np.int64)
    special = np.isin(ids, [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id])
    masked, labels = mask_tokens(ids, special, tokenizer.vocab_size, tokenizer.mask_token_id, rng,
                                 config.mlm_probability)
    return masked, np.asarray(enc["token_type_ids"], np.int64), np.asarray(enc["attention_mask"]), labels


def held_out_mlm_loss(model, tokenizer, texts, config, batch_size=32, seed=0, progress=None):
    """The masked-LM cross-entropy over *every* text of ``texts``, in order (no sampling): batch ``b``
    is masked by a generator seeded with ``(seed, 999, b)``, so every call hides the same tokens.  The
    mean is over all hidden positions (a batch with more of them counts more).  In eval mode, without a
    graph; ``progress(n)`` (optional) is called after each batch with the number of texts it held.

    The training loop's held-out number samples ``eval_batches`` random batches instead; this is the
    whole-split figure ``python -m tinygrad_edu evaluate`` reports."""
    from .. import no_grad
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with no_grad():
        for b, start in enumerate(range(0, len(texts), batch_size)):
            chunk = texts[start:start + batch_size]
            arrays = encode_mlm_batch(tokenizer, chunk, config, np.random.default_rng([seed, 999, b]))
            loss = mlm_loss(model, *arrays)
            if loss is not None:
                chosen = int((arrays[3] != -100).sum())
                total, count = total + loss.item() * chosen, count + chosen
            if progress is not None:
                progress(len(chunk))
    model.train(was_training)
    return total / count if count else float("nan")


def pretrain(config, out_dir, resume=False, log=print, progress_bar=True):
    """Pre-train a small BERT from scratch with the MiniLM WordPiece vocabulary; returns the history."""
    from tqdm import tqdm
    from .. import manual_seed, no_grad, optim, save
    from ..text import WordPieceTokenizer
    from .finetune import minilm_folder

    os.makedirs(out_dir, exist_ok=True)
    ckpt_path = os.path.join(out_dir, CHECKPOINT)
    tokenizer = WordPieceTokenizer.from_pretrained(minilm_folder())
    train_texts, val_texts = corpus_texts(config)
    manual_seed(config.seed)
    model = build_mlm_model(config, tokenizer.vocab_size)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "LayerNorm" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or "LayerNorm" in n]
    optimizer = optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=config.lr)
    history = {"step": [], "train_loss": [], "eval_step": [], "eval_loss": [], "seconds": 0.0}
    start = 0
    if resume:
        ckpt = read_checkpoint(ckpt_path)
        load_weights(model, ckpt["model"], "the model", f"cannot resume from {ckpt_path}")
        optimizer.load_state_dict(ckpt["optimizer"])
        history, start = ckpt["history"], ckpt["progress"]["step"]
        log(f"resumed from {ckpt_path} at step {start}")

    def make_batch(texts, rng):
        picked = [texts[i] for i in rng.integers(0, len(texts), size=config.batch_size)]
        return encode_mlm_batch(tokenizer, picked, config, rng)

    def eval_loss(step):
        rng = np.random.default_rng([config.seed, 999])     # the same held-out batches every time
        model.eval()
        with no_grad():
            losses = [mlm_loss(model, *make_batch(val_texts, rng)) for _ in range(config.eval_batches)]
        model.train()
        return float(np.mean([loss.item() for loss in losses if loss is not None]))

    model.train()
    bar = tqdm(range(start, config.steps), initial=start, total=config.steps, unit="step",
               disable=not progress_bar, dynamic_ncols=True)
    began = time.perf_counter()
    for step in bar:
        rng = np.random.default_rng([config.seed, step])
        manual_seed(config.seed * 100_003 + step)
        lr = config.lr * min((step + 1) / config.warmup_steps, max(0.0, (config.steps - step) /
                                                                 max(config.steps - config.warmup_steps, 1)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = mlm_loss(model, *make_batch(train_texts, rng))
        if loss is None:
            continue
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history["step"].append(step + 1)
        history["train_loss"].append(loss.item())
        bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.2e}", refresh=False)
        if (step + 1) % config.eval_interval == 0 or step + 1 == config.steps:
            history["eval_step"].append(step + 1)
            history["eval_loss"].append(eval_loss(step + 1))
            history["seconds"] += time.perf_counter() - began
            began = time.perf_counter()
            log(f"step {step + 1}: train loss {loss.item():.4f}, held-out MLM loss "
                f"{history['eval_loss'][-1]:.4f}")
            save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                  "config": dataclasses.asdict(config), "progress": {"step": step + 1}, "history": history},
                 ckpt_path)
            write_json_atomic(os.path.join(out_dir, HISTORY_FILE), history)
            plot_mlm(history, os.path.join(out_dir, "loss.png"))
    bar.close()
    return model, tokenizer, history


