"""Figures of a training run, for every kind of run in one place: the image classifiers' loss and
accuracy curves and confusion matrix, the GPT's loss curves, the fine-tune's loss and metric, and
the masked-LM pre-training curve.  Each is saved as a PNG in the run folder."""
import numpy as np


def _pyplot():
    import matplotlib
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            matplotlib.use("Agg")
        except Exception:  # noqa: BLE001  (a backend already in use: keep it)
            pass
    import matplotlib.pyplot as plt
    return plt


def plot_history(history, path, title=""):
    """Train and test loss (left) and test accuracy (right) per epoch, saved as a PNG."""
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4))
    epochs = history["epoch"]
    ax_loss.plot(epochs, history["train_loss"], "o-", label="train")
    ax_loss.plot(epochs, history["test_loss"], "s-", label="test")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_loss.legend()
    ax_acc.plot(epochs, 100 * np.asarray(history["test_acc"]), "s-", color="tab:green")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("test accuracy (%)")
    from matplotlib.ticker import MaxNLocator
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_confusion_matrix(counts, classes, path, title="confusion matrix"):
    """Rows: true class; columns: predicted class; each cell the count (the diagonal is correct)."""
    plt = _pyplot()
    n = len(classes)
    fig, ax = plt.subplots(figsize=(1.2 + 0.55 * n, 1.0 + 0.5 * n))
    ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(n), classes, rotation=45, ha="right")
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = counts.max() / 2 if counts.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if counts[i, j] > threshold else "black")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_losses(history, path, title=""):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(history["train_iter"], history["train_loss"], color="tab:blue", alpha=0.35, lw=0.8,
            label="train (batch)")
    ax.plot(history["eval_iter"], history["eval_train"], "o-", color="tab:blue", label="train (estimate)")
    ax.plot(history["eval_iter"], history["eval_val"], "s-", color="tab:orange", label="validation")
    ax.set_xlabel("iteration")
    ax.set_ylabel("cross-entropy (nats / character)")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_finetune(history, path, metric, title=""):
    plt = _pyplot()
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(9, 3.4))
    ax_loss.plot(history["step"], history["train_loss"], color="tab:blue", alpha=0.5, lw=0.8, label="train")
    ax_loss.plot(history["eval_step"], history["eval_loss"], "s-", color="tab:orange", label="eval")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("cross-entropy")
    ax_loss.legend()
    ax_metric.plot(history["eval_step"], [100 * m for m in history["eval_metric"]], "s-", color="tab:green")
    ax_metric.set_xlabel("step")
    ax_metric.set_ylabel(f"{metric} (%)")
    for ax in (ax_loss, ax_metric):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_mlm(history, path):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(history["step"], history["train_loss"], color="tab:blue", alpha=0.4, lw=0.8, label="train batch")
    ax.plot(history["eval_step"], history["eval_loss"], "s-", color="tab:orange", label="held-out")
    ax.axhline(np.log(30522), color="gray", ls="--", lw=0.8, label="uniform guess (ln V)")
    ax.set_xlabel("step")
    ax.set_ylabel("masked-LM cross-entropy")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("mini-BERT masked-LM pre-training")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
