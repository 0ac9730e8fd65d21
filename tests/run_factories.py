"""Tiny runs for the tests that use run folders (commands, explain, serve): the config file a run folder
needs, a one-layer 16-wide BERT "model folder" with MiniLM's vocabulary, and a fine-tune of it for a
step or two (a fraction of a second: MiniLM itself is 22M parameters)."""
import dataclasses
import os
import shutil


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
