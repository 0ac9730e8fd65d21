"""``python -m tinygrad_edu train`` (commands/train.py, training/loop.py): real-data smoke runs, exact
resume, test-time augmentation, warm restarts, clear errors.  The run-folder rules (resume from
config.json, contradicting flags, extending a run) and every bad input are in test_cli.py."""
import os
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_edu import load
from tinygrad_edu.cli import main

DATA = os.environ.get("TINYGRAD_EDU_DATA")
needs_mnist = pytest.mark.skipif(not DATA or not os.path.isdir(os.path.join(DATA, "mnist")),
                                 reason="MNIST not staged: set TINYGRAD_EDU_DATA to the shared data folder")


def _train(tmp_path, name, *extra):
    out = tmp_path / name
    rc = main(["train", "--dataset", "mnist", "--no-progress", "--no-download", "--out", str(out), *extra])
    return rc, out


@needs_mnist
def test_cnn_smoke_run_on_real_mnist_reaches_stated_accuracy(tmp_path, capsys):
    # 150 steps of LeNet-5 (a real CNN: conv, pool, conv, pool, 3 FC) on 4,800 real MNIST images
    # must clearly beat chance (10%) on the standard 10,000 test images.
    rc, out = _train(tmp_path, "cnn", "--model", "lenet5", "--epochs", "1", "--limit-train", "4800",
                     "--batch-size", "32", "--lr", "0.05")
    assert rc == 0
    history = load(str(out / "checkpoint.safetensors"))["history"]
    assert history["test_acc"][-1] >= 0.90, history
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "final test accuracy" in capsys.readouterr().out


@needs_mnist
def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    common = ["--model", "mlp", "--epochs", "2", "--limit-train", "1024", "--batch-size", "64",
              "--optimizer", "adam", "--lr", "0.003"]
    rc, straight = _train(tmp_path, "straight", *common)
    assert rc == 0
    rc, part = _train(tmp_path, "part", *common, "--max-steps", "16")  # stops after epoch 1 (16 steps)
    assert rc == 0
    assert load(str(part / "checkpoint.safetensors"))["progress"]["epoch"] == 1
    rc, part = _train(tmp_path, "part", *common, "--resume")
    assert rc == 0
    a = load(str(straight / "checkpoint.safetensors"))
    b = load(str(part / "checkpoint.safetensors"))
    assert b["progress"] == a["progress"] == {"epoch": 2, "step": 32}
    for key, value in a["model"].items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(b["model"][key]), err_msg=key)
    assert a["history"]["test_acc"] == b["history"]["test_acc"]


@needs_mnist
def test_evaluate_prints_accuracy_and_saves_a_confusion_matrix(tmp_path, capsys):
    rc, out = _train(tmp_path, "mlp", "--model", "mlp", "--epochs", "1", "--limit-train", "2000",
                     "--optimizer", "adam", "--lr", "0.003")
    assert rc == 0
    capsys.readouterr()
    assert main(["evaluate", str(out / "checkpoint.safetensors"), "--no-download"]) == 0
    text = capsys.readouterr().out
    accuracy = float(text.split("accuracy ")[1].split("%")[0])
    history = load(str(out / "checkpoint.safetensors"))["history"]
    assert accuracy == pytest.approx(100 * history["test_acc"][-1], abs=0.01)
    assert accuracy > 80
    assert (out / "confusion_matrix.png").exists()
    # the MLP sees flattened pixels, so shifted copies are other inputs: TTA runs and stays a sane accuracy
    checkpoint = str(out / "checkpoint.safetensors")
    assert main(["evaluate", checkpoint, "--no-download", "--tta", "flip-translate"]) == 0
    text = capsys.readouterr().out
    assert "with flip-translate test-time augmentation" in text
    assert float(text.split("accuracy ")[1].split("%")[0]) > 50


def test_unknown_model_and_dataset_fail_with_one_clear_line(tmp_path, capsys):
    assert main(["train", "--model", "alexnet", "--out", str(tmp_path / "a"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'alexnet'" in err and "vgg_mini" in err
    assert main(["train", "--dataset", "imagenet", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset 'imagenet'" in err and "mnist" in err


def test_missing_data_is_a_clear_error_without_traceback(tmp_path):
    env = dict(os.environ, TINYGRAD_EDU_DATA=str(tmp_path / "empty"), TINYGRAD_EDU_CACHE=str(tmp_path / "c"))
    proc = subprocess.run([sys.executable, "-m", "tinygrad_edu", "train", "--no-download", "--out",
                           str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: data set 'mnist' is not available")
    assert "Traceback" not in proc.stderr


@needs_mnist
def test_existing_run_is_not_overwritten_and_a_mismatched_checkpoint_is_refused(tmp_path, capsys):
    rc, out = _train(tmp_path, "run", "--model", "mlp", "--epochs", "1", "--max-steps", "3")
    assert rc == 0
    ckpt = out / "checkpoint.safetensors"
    before = ckpt.read_bytes()
    rc, _ = _train(tmp_path, "run", "--model", "mlp", "--epochs", "1")
    assert rc == 2 and "already holds a run; pass --resume" in capsys.readouterr().err
    assert ckpt.read_bytes() == before
    # a checkpoint whose config names a different model than its weights fit
    data = load(str(ckpt))
    data["config"]["model"] = "lenet5"
    from tinygrad_edu import save
    save(data, str(tmp_path / "bad.safetensors"))
    assert main(["evaluate", str(tmp_path / "bad.safetensors"), "--no-download"]) == 2
    assert "does not fit model 'lenet5'" in capsys.readouterr().err


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _linear_classifier_and_images(seed, image_shape, n, classes):
    """Flatten + Linear on random "images", for checking test-time augmentation by hand in NumPy."""
    import tinygrad_edu as tg
    from tinygrad_edu import nn
    rng = np.random.default_rng(seed)
    tg.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(image_shape)), classes))
    x = rng.standard_normal((n, *image_shape)).astype(np.float32)
    y = rng.integers(0, classes, n)
    return model, x, y, model[1].weight.array, model[1].bias.array


def test_flip_test_time_augmentation_averages_the_softmax_of_image_and_mirror():
    # a linear classifier on 1x2x3 "images": the mirror image swaps columns 0 and 2, so the TTA probabilities
    # must equal (softmax(W·x) + softmax(W·flip(x))) / 2, computed here by hand in NumPy
    from tinygrad_edu.training.loop import evaluate
    model, x, y, W, b = _linear_classifier_and_images(seed=0, image_shape=(1, 2, 3), n=40, classes=3)
    softmax = _softmax
    probs = (softmax(x.reshape(40, 6) @ W.T + b) + softmax(x[..., ::-1].reshape(40, 6) @ W.T + b)) / 2
    acc, loss, predictions = evaluate(model, x, y, batch_size=16, tta="flip")
    np.testing.assert_array_equal(predictions, probs.argmax(1))
    assert acc == pytest.approx((probs.argmax(1) == y).mean())
    assert loss == pytest.approx(-np.log(probs[np.arange(40), y]).mean(), rel=1e-5)
    plain = evaluate(model, x, y, batch_size=16)[2]
    assert (plain != predictions).any() or np.allclose(softmax(x.reshape(40, 6) @ W.T + b), probs)


def test_flip_translate_tta_weights_six_views_as_airbench_does():
    # a 1x3x4 "image" of distinct numbers: the views checked by hand (reflected border, diagonal shifts)
    from tinygrad_edu.training.loop import tta_views
    image = np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4)
    views = tta_views(image, "flip-translate")
    assert [w for w, _ in views] == [0.25, 0.25, 0.125, 0.125, 0.125, 0.125]
    np.testing.assert_array_equal(views[1][1], image[..., ::-1])
    # shifted down-right: row/column -1 is the reflection of row/column 1
    np.testing.assert_array_equal(views[2][1][0, 0], [[5, 4, 5, 6], [1, 0, 1, 2], [5, 4, 5, 6]])
    # shifted up-left: row/column 3 (4) is the reflection of row 1 (column 2)
    np.testing.assert_array_equal(views[4][1][0, 0], [[5, 6, 7, 6], [9, 10, 11, 10], [5, 6, 7, 6]])
    np.testing.assert_array_equal(views[5][1], views[4][1][..., ::-1])
    assert [w for w, _ in tta_views(image, "none")] == [1.0]
    with pytest.raises(ValueError, match="unknown test-time augmentation 'rotate'"):
        tta_views(image, "rotate")
    with pytest.raises(ValueError, match=r"needs image batches \(N, C, H, W\), got shape \(3, 4\)"):
        tta_views(image[0, 0], "flip-translate")


def test_flip_translate_tta_probabilities_are_the_weighted_softmax_mean():
    from tinygrad_edu.training.loop import evaluate, tta_views
    model, x, y, W, b = _linear_classifier_and_images(seed=1, image_shape=(1, 3, 4), n=30, classes=4)
    softmax = _softmax
    probs = sum(w * softmax(v.reshape(30, 12) @ W.T + b) for w, v in tta_views(x, "flip-translate"))
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)
    acc, loss, predictions = evaluate(model, x, y, batch_size=7, tta="flip-translate")
    np.testing.assert_array_equal(predictions, probs.argmax(1))
    assert loss == pytest.approx(-np.log(probs[np.arange(30), y]).mean(), rel=1e-5)
    with pytest.raises(ValueError, match="unknown test-time augmentation 'mirror'"):
        evaluate(model, x, y, tta="mirror")


@needs_mnist
def test_init_from_starts_a_fresh_schedule_from_another_runs_weights(tmp_path, capsys):
    common = ["--model", "mlp", "--epochs", "1", "--limit-train", "512", "--batch-size", "64",
              "--optimizer", "adam", "--lr", "0.003"]
    rc, first = _train(tmp_path, "first", *common)
    assert rc == 0
    first_ckpt = load(str(first / "checkpoint.safetensors"))
    # the loaded weights are exactly the first run's
    from tinygrad_edu.training.loop import load_model_weights
    from tinygrad_edu.training.restore import build_image_model
    fresh = build_image_model("mlp", (1, 28, 28), 10)
    load_model_weights(fresh, str(first / "checkpoint.safetensors"))
    for key, value in first_ckpt["model"].items():
        np.testing.assert_array_equal(np.asarray(value), fresh.state_dict()[key].numpy(), err_msg=key)
    # one epoch from the loaded weights: a new run (epoch 1, step 8) that starts better than chance
    rc, second = _train(tmp_path, "second", *common, "--seed", "1",
                        "--init-from", str(first / "checkpoint.safetensors"))
    assert rc == 0 and "initialised the model from" in capsys.readouterr().out
    ckpt = load(str(second / "checkpoint.safetensors"))
    assert ckpt["progress"] == {"epoch": 1, "step": 8}
    assert ckpt["history"]["train_loss"][0] < first_ckpt["history"]["train_loss"][0]
    assert ckpt["config"]["init_from"] == str(first / "checkpoint.safetensors")
    # errors: a missing file, --resume together with --init-from, weights of another model
    capsys.readouterr()
    rc, _ = _train(tmp_path, "x", *common, "--init-from", str(tmp_path / "nope.safetensors"))
    assert rc == 2 and "--init-from: there is no checkpoint" in capsys.readouterr().err
    rc, _ = _train(tmp_path, "second", *common, "--resume",
                   "--init-from", str(first / "checkpoint.safetensors"))
    assert rc == 2 and "pass only one of them" in capsys.readouterr().err
    rc, _ = _train(tmp_path, "y", "--model", "lenet5", "--epochs", "1", "--max-steps", "1",
                   "--init-from", str(first / "checkpoint.safetensors"))
    err = capsys.readouterr().err
    assert rc == 2 and "--init-from: cannot initialise the model from" in err and "does not fit" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
