"""``python -m tinygrad_edu evaluate RUN``: how good is a trained model, on data it did not train on.

    python -m tinygrad_edu evaluate runs/vgg_mnist                 # accuracy + confusion matrix
    python -m tinygrad_edu evaluate runs/gpt_shakespeare           # validation loss and perplexity
    python -m tinygrad_edu evaluate runs/mlm_pretrain              # held-out masked-LM loss
    python -m tinygrad_edu evaluate runs/conll2003_pretrained      # entity F1, precision, recall
    python -m tinygrad_edu evaluate runs/vgg_mnist --limit 500     # a quick look (first 500 images)

What each kind of run is measured on, always the whole split (no sampling), by the same functions the
trainers use:

==========  ==============================  =======================================================
run         data                            metric (function)
==========  ==============================  =======================================================
image       the data set's test images      accuracy, loss, confusion matrix (``loop.evaluate``)
gpt         tinyshakespeare's last 10%      loss per character and perplexity = e^loss
                                            (``gpt_trainer.split_loss``: every character once)
pretrain    the corpus's held-out texts     masked-LM loss (``pretrain.held_out_mlm_loss``)
finetune    the task's evaluation split     SST-2: accuracy;  CoNLL-2003 / WNUT-17: entity-level
                                            F1, precision, recall (``finetune.evaluate``)
==========  ==============================  =======================================================

Perplexity is e^loss: a model with perplexity 4.5 is, on average, as unsure of the next character as a
uniform choice among 4.5 characters would be.  The confusion matrix is printed as a table and saved as
``confusion_matrix.png`` in the run folder.
"""
import math
import os

from . import UsageError
from .checks import data_errors, positive_int

HELP = "measure a trained run on its test/validation data (accuracy, perplexity, MLM loss, entity F1)"


def add_arguments(parser):
    parser.add_argument("run", metavar="RUN",
                        help="a run folder written by train, gpt, pretrain or finetune (or its checkpoint "
                             "file)")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="BLAS threads (1: convolutions' many small matrix products are slower with "
                             "more)")
    parser.add_argument("--data", default=None, metavar="DIR",
                        help="data root (default: the run's own --data, then $TINYGRAD_EDU_DATA)")
    parser.add_argument("--no-download", action="store_true", help="never download; fail if data is missing")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N",
                        help="evaluate only the first N examples: images, windows of block_size characters, "
                             "texts or sentences (default: all; for smoke runs)")
    parser.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                        help="examples per forward pass (default: 500 images, 64 windows, the run's batch "
                             "size for pretrain, 64 sentences)")
    from ..training.loop import TTA_MODES
    parser.add_argument("--tta", choices=TTA_MODES, default="none",
                        help="image runs: test-time augmentation; flip averages the predictions on each "
                             "image and its mirror image, flip-translate also on copies shifted by one pixel")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def open_run(path):
    """``load_run`` for a command (evaluate, generate, predict, export): its problems are one-line
    ``UsageError``s."""
    from ..training.restore import load_run
    from ..training.run_folder import RunFolderError
    try:
        return load_run(path, option="RUN")
    except RunFolderError as exc:
        raise UsageError(str(exc)) from None


def make_bar(args, desc, unit):
    """The progress bar, shown at once (before the data is read), on stderr."""
    from tqdm import tqdm
    return tqdm(total=None, desc=desc, unit=unit, leave=False, dynamic_ncols=True, mininterval=0.2,
                disable=bool(getattr(args, "no_progress", False)))


def _restart(bar, total, desc):
    bar.reset(total=total)
    bar.set_description(desc)
    bar.refresh()


def _check(args):
    if not os.path.exists(args.run):
        raise UsageError(f"RUN {args.run}: no such run folder or checkpoint file")


def run(args):
    _check(args)
    bar = make_bar(args, "reading the run", "ex")
    try:
        run_ = open_run(args.run)
        if args.tta != "none" and not run_.is_image:
            raise UsageError(f"--tta {args.tta}: test-time augmentation is for image runs; RUN is a "
                             f"{run_.kind} run")
        evaluate_kind = {"image": _image, "mlp": _image, "gpt": _gpt, "pretrain": _pretrain,
                         "finetune": _finetune}[run_.kind]
        lines = evaluate_kind(run_, args, bar)
    finally:
        bar.close()
    for line in lines:
        print(line, flush=True)
    return 0


# ------------------------------------------------------------------------------------------------
# image runs: accuracy and the confusion matrix
# ------------------------------------------------------------------------------------------------
def data_problem(what, exc):
    """A data loader's message, with its Python arguments named as the command line's flags."""
    message = str(exc).replace("Pass root=<folder>", "pass --data DIR").replace(
        "allow download=True", "leave out --no-download").replace("root=<folder>", "--data DIR")
    return UsageError(f"--data: {what} is not available: {message}")


def _image(run_, args, bar):
    import numpy as np
    from ..training.datasets import load_image_data
    from ..training.loop import confusion_matrix, evaluate
    from ..training.plots import plot_confusion_matrix
    root = args.data or run_.config.get("data")
    try:
        data = load_image_data(run_.dataset, root=root, download=not args.no_download, limit_train=1)
    except data_errors() as exc:
        raise data_problem(f"the {run_.dataset} data set", exc) from None
    x, y = data.x_test[:args.limit], data.y_test[:args.limit]
    batch = args.batch_size or 500
    _restart(bar, len(x), f"evaluating on {len(x):,} test images")
    predictions, loss_sum = [], 0.0
    for start in range(0, len(x), batch):         # one loop.evaluate per batch: the bar moves
        _, loss, predicted = evaluate(run_.model, x[start:start + batch], y[start:start + batch],
                                      batch_size=batch, tta=args.tta)
        predictions.append(predicted)
        loss_sum += loss * len(predicted)
        bar.update(len(predicted))
    predictions = np.concatenate(predictions) if predictions else np.zeros(0, np.int64)
    correct = int((predictions == y).sum())
    accuracy = correct / max(len(y), 1)
    counts = confusion_matrix(y, predictions, len(run_.classes))
    name = run_.config.get("model", "mlp")
    tta = f" with {args.tta} test-time augmentation" if args.tta != "none" else ""
    lines = [f"{name} on {run_.dataset} test set{tta}: accuracy {100 * accuracy:.2f}% ({correct}/{len(y)}), "
             f"loss {loss_sum / max(len(y), 1):.4f}",
             "confusion matrix (rows: true class, columns: predicted):"]
    lines += confusion_table(counts, run_.classes)
    png = os.path.join(run_.folder, "confusion_matrix.png")
    plot_confusion_matrix(counts, run_.classes, png, title=f"{name} on {run_.dataset}: {100 * accuracy:.2f}%")
    lines.append(f"saved {png}")
    return lines


def confusion_table(counts, classes):
    """The confusion matrix as text lines, one row per true class."""
    width = max(5, max(len(c) for c in classes))
    lines = [" " * (width + 1) + " ".join(f"{c[:5]:>5}" for c in classes)]
    lines += [f"{name:>{width}} " + " ".join(f"{v:5d}" for v in row) for name, row in zip(classes, counts)]
    return lines


# ------------------------------------------------------------------------------------------------
# GPT runs: validation loss per character, perplexity
# ------------------------------------------------------------------------------------------------
def _gpt(run_, args, bar):
    import numpy as np
    from ..data.text_datasets import TinyShakespeare
    from ..training.gpt_trainer import split_loss
    try:
        text = TinyShakespeare(root=args.data or run_.config.get("data"), split="val").text
    except data_errors() as exc:
        raise data_problem("tinyshakespeare", exc) from None
    try:
        ids = np.asarray(run_.tokenizer.encode(text), np.int64)
    except ValueError as exc:
        raise UsageError(f"--data: the validation text does not fit the run's vocabulary: {exc}") from None
    block = run_.model.config.block_size
    windows = (len(ids) - 1) // block
    if args.limit is not None:
        windows = min(windows, args.limit)
    if windows < 1:
        raise UsageError(f"--data: the validation text has {len(ids)} characters, fewer than block_size + 1 "
                         f"= {block + 1}")
    batch = args.batch_size or 64
    _restart(bar, windows, f"evaluating on {windows:,} windows of {block} characters")
    total = 0.0
    for start in range(0, windows, batch):      # split_loss per batch of windows: the bar moves
        n = min(batch, windows - start)
        piece = ids[start * block:(start + n) * block + 1]
        total += split_loss(run_.model, piece, block, batch_size=batch) * n * block
        bar.update(n)
    loss = total / (windows * block)
    shape = run_.model.config
    return [f"GPT ({shape.n_layer} x {shape.n_embd}: layers x width) on the tinyshakespeare "
            f"validation text: loss {loss:.4f} nats/character, perplexity {math.exp(loss):.3f} "
            f"({windows:,} windows of {block} characters = {windows * block:,} characters)"]


# ------------------------------------------------------------------------------------------------
# pretrain runs: held-out masked-LM loss
# ------------------------------------------------------------------------------------------------
def _pretrain(run_, args, bar):
    import dataclasses
    from ..training.pretrain import PretrainConfig, corpus_texts, held_out_mlm_loss
    fields = {f.name for f in dataclasses.fields(PretrainConfig)}
    config = PretrainConfig(**{k: v for k, v in run_.config.items() if k in fields})
    config = dataclasses.replace(config, data=args.data or config.data)
    try:
        _, texts = corpus_texts(config)
    except data_errors() as exc:
        raise data_problem(f"the {config.corpus} corpus", exc) from None
    texts = texts[:args.limit]
    _restart(bar, len(texts), f"evaluating on {len(texts):,} held-out texts")
    loss = held_out_mlm_loss(run_.model, run_.tokenizer, texts, config,
                             batch_size=args.batch_size or config.batch_size, seed=config.seed,
                             progress=bar.update)
    vocab = run_.tokenizer.vocab_size
    return [f"masked-LM BERT ({config.num_hidden_layers} x {config.hidden_size}: layers x width) on "
            f"{len(texts):,} held-out {config.corpus} texts: MLM loss {loss:.4f} (perplexity "
            f"{math.exp(loss):.1f}; a uniform guess is ln {vocab} = {math.log(vocab):.2f})"]


# ------------------------------------------------------------------------------------------------
# finetune runs: accuracy (SST-2) or entity F1 (CoNLL-2003, WNUT-17)
# ------------------------------------------------------------------------------------------------
def _finetune(run_, args, bar):
    import dataclasses
    from ..training import finetune
    fields = {f.name for f in dataclasses.fields(finetune.FinetuneConfig)}
    config = finetune.FinetuneConfig(**{k: v for k, v in run_.config.items() if k in fields})
    config = dataclasses.replace(config, data=args.data or config.data, limit_eval=args.limit)
    try:
        task = finetune.load_task(config, with_train=False)
    except data_errors() as exc:
        raise data_problem(f"the {config.task} data set", exc) from None
    task.label_names = list(run_.classes)        # the run's labels, in the order it was trained with
    split = config.eval_split or ("validation" if config.task == "sst2" else "test")
    _restart(bar, len(task.eval), f"evaluating on {len(task.eval):,} {split} sentences")
    scores = finetune.evaluate(run_.model, run_.tokenizer, task, config, batch_size=args.batch_size or 64,
                               progress=bar.update)
    start = "MiniLM-L6" if config.init == "pretrained" else "random weights"
    head = f"{config.task} (fine-tuned from {start}) on {len(task.eval):,} {split} sentences:"
    if task.kind == "sequence":
        correct = round(scores["accuracy"] * len(task.eval))
        return [f"{head} accuracy {100 * scores['accuracy']:.2f}% ({correct}/{len(task.eval)}), "
                f"loss {scores['loss']:.4f}"]
    return [f"{head} entity F1 {100 * scores['f1']:.2f}% (precision {100 * scores['precision']:.2f}%, "
            f"recall {100 * scores['recall']:.2f}%), loss {scores['loss']:.4f}"]
