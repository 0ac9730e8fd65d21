"""The training side of ``python -m tinygrad_edu``: one loop per kind of task, and what they share.

    loop.py         image classifiers (``train``): fit, evaluation with test-time augmentation
    mlp_job.py      the main job (``python -m tinygrad_edu``): the MLP on MNIST, the loop in plain sight
    gpt_trainer.py  the character-level GPT (``gpt``), nanoGPT's recipe
    pretrain.py     masked-LM pre-training of a small BERT (``pretrain``)
    finetune.py     transfer learning on SST-2 / CoNLL-2003 / WNUT-17 (``finetune``)
    run_folder.py   the rules of a run folder (new run, --resume, extending), once for every command
    restore.py      a trained model rebuilt from its run folder (``evaluate``, ``generate``, ...)
    datasets.py, plots.py   the image arrays, and the figures of a run
"""
from .loop import TrainConfig, evaluate, fit  # noqa: F401
from .plots import plot_confusion_matrix, plot_history  # noqa: F401
