# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tutorial 10 — Explaining models: what they learned, and why they decide what they decide
#
# A trained network is millions of numbers.  *Explaining* a prediction means answering one
# question: **which parts of this input made the model say this?**  An **attribution** gives one
# number per input feature (pixel, token) saying how much it pushed the explained output — one class
# score F(x) — up or down.  Every method of `tinygrad_edu.explain` is a few lines of gradients and
# forward passes on the engine's own autograd, with Captum's names, so what you learn here carries
# over.
#
# 1. two hand cases that pin the methods down: a linear model, and the saturating network of the
#    integrated-gradients paper (why the plain gradient is not enough);
# 2. a CNN on MNIST explained by each family: **gradients** (saliency, input × gradient,
#    SmoothGrad, guided backprop), **path integrals** (integrated gradients, DeepLift, GradientShap)
#    with their *completeness* checked, **perturbation** (occlusion, feature ablation, permutation
#    importance), **layers and neurons** (Grad-CAM, conductance, a neuron's gradient);
# 3. the **sanity check** of Adebayo et al.: randomise the top layers — does the map change?
# 4. a BERT sentiment classifier: token attributions through the embedding layer, occlusion of
#    tokens, and the attention maps — and why attention is not an explanation by itself;
# 5. **activation statistics** while training: how dead ReLUs and saturated tanh units look.

# %%
import os
import time
from pathlib import Path

import matplotlib
if "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
from tinygrad_edu import explain, optim
from tinygrad_edu.explain.render import image_map, tokens_html, tokens_terminal, write_text

QUICK = os.environ.get("TUTORIAL_QUICK") == "1"  # CI sets this: fewer steps, smaller samples
try:
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
except ImportError:
    pass
try:
    HERE = Path(__file__).resolve().parent
except NameError:  # inside a notebook the working directory is the notebook's folder
    HERE = Path.cwd()
OUTPUT = HERE / "output"
OUTPUT.mkdir(exist_ok=True)
START = time.perf_counter()

from tinygrad_edu.viz import show  # noqa: E402

# %% [markdown]
# ## 1. Two hand cases
#
# **A linear model** F(x) = w·x + c.  Its gradient is w everywhere, so *saliency* (the size of the
# gradient, |∂F/∂x|) is |w|: it says how sensitive F is to each feature, not how much each feature
# contributed.  **Integrated gradients** (IG, Sundararajan et al. 2017) answer the second question.
# Pick a *baseline* x′ that means "no information" (a black image, an empty sentence) and walk the
# straight path from x′ to x; add up the gradient along the way, times the step:
#
#     IGᵢ(x) = (xᵢ − x′ᵢ) · ∫₀¹ ∂F/∂xᵢ (x′ + α(x − x′)) dα.
#
# For a linear model the integrand is the constant wᵢ, so IG = w ⊙ (x − x′) exactly.

# %%
w = np.array([[2.0, -3.0, 0.5]])
linear = nn.Linear(3, 1).double()
with tg.no_grad():
    linear.weight.array[...] = w
    linear.bias.array[...] = 0.25
x = tg.tensor(np.array([[1.0, 2.0, -4.0]]))
saliency = explain.Saliency(linear).attribute(x, target=0).numpy()
ig = explain.IntegratedGradients(linear).attribute(x, baselines=0.0, target=0, n_steps=4).numpy()
print("saliency |w|:", saliency, "  IG w*(x - 0):", ig)
np.testing.assert_allclose(saliency, np.abs(w), atol=1e-12)
np.testing.assert_allclose(ig, w * x.numpy(), atol=1e-12)

# %% [markdown]
# **Why not just the gradient?**  The paper's example: F(x) = 1 − ReLU(1 − x).  For x ≥ 1 the
# output is stuck at 1 — the function *saturates* — so its gradient at x = 2 is 0, although
# moving x from the baseline 0 to 2 raised F from 0 to 1.  The gradient says "x does not matter";
# integrated gradients say x is responsible for all of the change: the integrand is 1 for α < ½
# (on the path x = 2α < 1) and 0 after, so IG = (2 − 0) · ½ = 1 = F(2) − F(0).
#
# That equality is the **completeness** axiom: Σᵢ IGᵢ(x) = F(x) − F(x′).  It holds for every
# path method because it is the fundamental theorem of calculus along the path; in practice the
# integral is a quadrature and the gap, the *convergence delta*, measures its error.

# %%


class Saturating(nn.Module):
    def forward(self, x):
        return 1 - F.relu(1 - x)


x2 = tg.tensor(np.array([[2.0]]))
grad_at_x = explain.Saliency(Saturating()).attribute(x2, abs=False).numpy()
ig2, delta = explain.IntegratedGradients(Saturating()).attribute(x2, baselines=0.0, n_steps=64,
                                                                 return_convergence_delta=True)
print(f"gradient at x = 2: {grad_at_x.item():g};  IG: {ig2.numpy().item():.4f};  "
      f"delta {delta.numpy().item():+.1e}")
assert grad_at_x.item() == 0.0 and abs(ig2.numpy().item() - 1.0) < 0.02

# %% [markdown]
# ## 2. A CNN on MNIST, explained by every family
#
# LeNet-5 (tutorial 04) trained briefly with Adam: it is right about 97 % of the time, enough for
# its reasons to be worth looking at.

# %%
from tinygrad_edu.models.lenet import LeNet5  # noqa: E402
from tinygrad_edu.training.datasets import load_image_data  # noqa: E402

tg.manual_seed(0)
n_train, steps = (3000, 150) if QUICK else (20000, 1500)
mnist = load_image_data("mnist", limit_train=n_train)
cnn = LeNet5()
opt = optim.Adam(cnn.parameters(), lr=2e-3)
rng = np.random.default_rng(0)
for step in range(steps):
    rows = rng.integers(0, n_train, 64)
    loss = F.cross_entropy(cnn(tg.tensor(mnist.x_train[rows])), tg.tensor(mnist.y_train[rows]))
    opt.zero_grad()
    loss.backward()
    opt.step()
cnn.eval()
x_test, y_test = mnist.x_test[:500], mnist.y_test[:500]
with tg.no_grad():
    accuracy = float((cnn(tg.tensor(x_test)).numpy().argmax(1) == y_test).mean())
print(f"LeNet-5 after {steps} steps: test accuracy {100 * accuracy:.1f}% on 500 digits")
assert accuracy > 0.9

digits = tg.tensor(x_test[:4])
labels = [int(t) for t in y_test[:4]]

# %% [markdown]
# ### Gradients
#
# * **saliency** |∂F/∂x|: which pixels F is most sensitive to;
# * **input × gradient** x ⊙ ∂F/∂x: the first-order Taylor contribution of each pixel (exact for a
#   linear model with a zero baseline);
# * **SmoothGrad**: the gradient is noisy from pixel to pixel (ReLU networks are piecewise linear,
#   so it jumps), so average it over copies of x with Gaussian noise added — `NoiseTunnel`;
# * **guided backprop**: on the way back, every ReLU lets through only positive gradients where its
#   input was positive.  Sharp pictures — but see section 3.

# %%
maps = {
    "saliency": explain.Saliency(cnn).attribute(digits, target=labels),
    "input x gradient": explain.InputXGradient(cnn).attribute(digits, target=labels),
    "SmoothGrad": explain.NoiseTunnel(explain.Saliency(cnn)).attribute(
        digits, nt_type="smoothgrad", nt_samples=8 if QUICK else 32, stdevs=0.3, target=labels),
    "guided backprop": explain.GuidedBackprop(cnn).attribute(digits, target=labels),
}

# %% [markdown]
# ### Path integrals, and completeness
#
# Integrated gradients from a black image (after normalisation, MNIST's black is
# (0 − 0.1307)/0.3081; we use the normalised zero, a grey image, for simplicity of the sum), with
# Gauss–Legendre quadrature: n points placed where a polynomial of degree 2n − 1 is integrated
# exactly.  The convergence delta shows how many steps the quadrature needs — compared with the
# Riemann sums most code uses:

# %%
deltas = {}
for method in ("riemann_left", "riemann_middle", "gausslegendre"):
    deltas[method] = []
    for n in (4, 8, 16, 32, 64):
        _, d = explain.IntegratedGradients(cnn).attribute(digits, target=labels, n_steps=n, method=method,
                                                          return_convergence_delta=True)
        deltas[method].append(float(np.abs(d.numpy()).max()))
    print(f"{method:15s} max |delta| for n = 4..64: " + ", ".join(f"{v:.1e}" for v in deltas[method]))
fig, ax = plt.subplots(figsize=(5, 3.2))
for method, values in deltas.items():
    ax.loglog([4, 8, 16, 32, 64], values, "o-", label=method)
ax.set_xlabel("n_steps")
ax.set_ylabel("max |Σ attributions − (F(x) − F(x′))|")
ax.legend()
ax.set_title("completeness error of integrated gradients")
fig.tight_layout()
fig.savefig(OUTPUT / "10_ig_convergence.png", dpi=110)
plt.close(fig)
show(OUTPUT / "10_ig_convergence.png")
assert deltas["gausslegendre"][-1] < deltas["riemann_left"][-1]

# %% [markdown]
# **DeepLift** (rescale rule) replaces each nonlinearity's derivative by the ratio of differences
# (f(x) − f(x′)) / (x − x′) between the input and the baseline: one backward pass, complete by
# construction.  **GradientShap** averages input × gradient at random points between x and
# baselines drawn from a distribution (here: a few training digits) — an estimate of SHAP values.

# %%
ig_map, ig_delta = explain.IntegratedGradients(cnn).attribute(digits, target=labels, n_steps=64,
                                                              return_convergence_delta=True)
dl_map, dl_delta = explain.DeepLift(cnn).attribute(digits, target=labels, return_convergence_delta=True)
print(f"completeness: IG (64 Gauss-Legendre points) max |delta| {np.abs(ig_delta.numpy()).max():.1e}; "
      f"DeepLift {np.abs(dl_delta.numpy()).max():.1e}")
assert np.abs(dl_delta.numpy()).max() < 1e-3
maps["integrated gradients"] = ig_map
maps["DeepLift"] = dl_map
maps["GradientShap"] = explain.GradientShap(cnn).attribute(digits, baselines=tg.tensor(mnist.x_train[:16]),
                                                           n_samples=16, stdevs=0.1, target=labels)

# %% [markdown]
# ### Perturbation
#
# No gradients at all: change part of the input and watch the score.  **Occlusion** slides a grey
# square over the image; each pixel's attribution is the average drop of F over the squares that
# covered it.  Slow (one forward pass per position) but model-agnostic.

# %%
maps["occlusion"] = explain.Occlusion(cnn).attribute(digits, sliding_window_shapes=(1, 4, 4),
                                                     strides=(1, 2, 2), target=labels,
                                                     perturbations_per_eval=16)

# %% [markdown]
# ### Layers and neurons
#
# **Grad-CAM** looks at the last convolution's maps A_c and weighs each channel by the mean of
# the gradient on it, αc = mean(∂F/∂A_c): map = ReLU(Σ_c αc A_c), at the layer's resolution
# (10 × 10 here), upsampled to the image.

# %%
cam = explain.LayerGradCam(cnn, cnn.features[3]).attribute(digits, target=labels, relu_attributions=True)
maps["Grad-CAM"] = explain.LayerAttribution.interpolate(cam, (28, 28), interpolate_mode="bilinear")
print("Grad-CAM at", tuple(cam.shape), "upsampled to", tuple(maps["Grad-CAM"].shape))

fig, axes = plt.subplots(len(labels), len(maps) + 1, figsize=(1.6 * (len(maps) + 1), 1.7 * len(labels)))
for row in range(len(labels)):
    axes[row, 0].imshow(x_test[row, 0], cmap="gray")
    axes[row, 0].set_title(f"label {labels[row]}", fontsize=8)
    for col, (name, attribution) in enumerate(maps.items(), start=1):
        heat = image_map(attribution.numpy()[row])
        scale = np.abs(heat).max() or 1.0
        axes[row, col].imshow(heat, cmap="bwr", vmin=-scale, vmax=scale)
        if row == 0:
            axes[row, col].set_title(name, fontsize=8)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
fig.savefig(OUTPUT / "10_cnn_methods.png", dpi=100)
plt.close(fig)
show(OUTPUT / "10_cnn_methods.png")

# %% [markdown]
# **Layer conductance** spreads IG's total over one layer's units: how much of F(x) − F(x′) flowed
# through each channel of the first convolution.  Summed over the units it gives the same total
# (completeness again).  **NeuronGradient** asks the inverse question: which pixels drive one
# unit — here the most active channel of `features.3` at the centre.

# %%
conductance = explain.LayerConductance(cnn, cnn.features[0]).attribute(digits, target=labels, n_steps=32)
per_channel = conductance.numpy().sum(axis=(2, 3))
with tg.no_grad():
    f_x = cnn(digits).numpy()[np.arange(4), labels]
    f_0 = cnn(tg.zeros_like(digits)).numpy()[np.arange(4), labels]
print("conductance of conv1's 6 channels, digit 0:", np.round(per_channel[0], 3),
      f" sum {per_channel[0].sum():.3f} vs F(x) - F(x') = {f_x[0] - f_0[0]:.3f}")
assert np.allclose(per_channel.sum(1), f_x - f_0, rtol=0.05, atol=0.05)
activation = explain.LayerActivation(cnn, cnn.features[3]).attribute(digits).numpy()
channel = int(activation[0, :, 5, 5].argmax())                   # the most active channel at the centre
neuron = explain.NeuronGradient(cnn, cnn.features[3]).attribute(
    digits, neuron_selector=(channel, 5, 5)).numpy()
rows_hit, cols_hit = np.nonzero(neuron[0, 0])
print(f"unit ({channel}, 5, 5) of conv2 sees pixels rows {rows_hit.min()}-{rows_hit.max()}, "
      f"cols {cols_hit.min()}-{cols_hit.max()} of digit 0: its receptive field")
assert rows_hit.max() - rows_hit.min() < 14                        # local: a 14 x 14 field at most

# %% [markdown]
# ### Permutation importance on a data set
#
# `FeaturePermutation` measures a feature's importance for the model as a whole: shuffle that
# feature across the examples of a batch and see how much F drops.  With 7 × 7 patches as features
# (a `feature_mask` numbering the 16 patches), the centre of the image matters, the corners do not.

# %%
patch = (np.arange(28)[:, None] // 7) * 4 + (np.arange(28)[None, :] // 7)
mask = tg.tensor(patch[None, None].astype(np.int64))
batch = tg.tensor(x_test[:64])
importance = explain.FeaturePermutation(cnn).attribute(batch, target=[int(t) for t in y_test[:64]],
                                                       feature_mask=mask).numpy()
per_patch = np.array([importance[:, 0][:, patch == k].mean() for k in range(16)]).reshape(4, 4)
print("mean score drop when each 7x7 patch is shuffled:\n", np.round(per_patch, 2))
assert per_patch[1:3, 1:3].mean() > per_patch[[0, 0, 3, 3], [0, 3, 0, 3]].mean()

# %% [markdown]
# ## 3. The sanity check: randomise the model, does the map change?
#
# Adebayo et al. (2018) asked whether these pictures explain the *model* at all.  Re-initialise the
# top layers (now the network computes nonsense) and compare the maps by **rank correlation**
# (Spearman's ρ: 1 = same order of pixels, 0 = unrelated).  A faithful method must change.

# %%
sanity = {}
top = ["classifier.4"]
all_top = ["classifier.4", "classifier.2", "classifier.0", "features.3"]
checks = [("gradient (signed)",
           lambda m: explain.Saliency(m).attribute(digits, target=labels, abs=False), top),
          ("|gradient|, logit layer random",
           lambda m: explain.Saliency(m).attribute(digits, target=labels), top),
          ("|gradient|, top 4 layers random", lambda m: explain.Saliency(m).attribute(digits, target=labels),
           all_top),
          ("guided backprop, top 4 random",
           lambda m: explain.GuidedBackprop(m).attribute(digits, target=labels), all_top),
          ("Grad-CAM, classifier random",
           lambda m: explain.LayerGradCam(m, m.features[3]).attribute(digits, target=labels), all_top[:3])]
for name, method, layers in checks:
    sanity[name] = float(explain.model_randomisation(method, cnn, layers).mean())
    print(f"{name:34s} rank correlation trained vs random: {sanity[name]:+.2f}")
assert sanity["gradient (signed)"] < 0.5 and sanity["Grad-CAM, classifier random"] < 0.5

# %% [markdown]
# The signed gradient and Grad-CAM pass.  The absolute gradient keeps part of its picture until
# deeper layers are random too: |∂F/∂x| is large along the strokes of the digit for almost any
# weights, so part of what it shows is the input, not the model.  Guided backprop is the method
# Adebayo et al. found failing: its ReLU rule throws away the part of the signal that depends on the
# top layers' weights, leaving an edge detector.  A beautiful map is not evidence by itself.
#
# ## 4. A BERT sentiment classifier: tokens, occlusion, attention
#
# MiniLM-L6 (a pretrained BERT, tutorial 07) stays frozen; a logistic-regression head on its mean-
# pooled sentence vector is trained on SST-2.  The classifier F(ids) = head(mean(BERT(ids))) is
# differentiable end to end, so every method applies.  Token ids are integers, so attributions are
# taken at the output of the **embedding layer**: `LayerIntegratedGradients` integrates along the
# path from the embeddings of a baseline sentence ([CLS] [PAD] … [PAD] [SEP]) to those of the real
# one, and a token's score is the sum over its embedding's coordinates.  With one right-Riemann step
# the same call is the gradient family's input × gradient at the embeddings, (e(x) − e(x′)) ⊙ ∂F/∂e(x):
# no path, so no completeness.

# %%
from tinygrad_edu.data import text_datasets as td  # noqa: E402
from tinygrad_edu.models import bert  # noqa: E402
from tinygrad_edu.text import WordPieceTokenizer  # noqa: E402
from tinygrad_edu.training.finetune import minilm_folder  # noqa: E402

tokenizer = WordPieceTokenizer.from_pretrained(minilm_folder())
minilm = bert.BertModel.from_pretrained(minilm_folder())
train = td.SST2(split="train")
n_sentences = 256 if QUICK else 4000
pick = np.random.default_rng(0).choice(len(train), n_sentences, replace=False)
texts, sentiment = [train[int(i)][0] for i in pick], np.asarray([train[int(i)][1] for i in pick])


def sentence_vectors(texts, batch_size=64):
    out = []
    with tg.no_grad():
        for i in range(0, len(texts), batch_size):
            e = tokenizer(texts[i:i + batch_size], padding=True, truncation=True, max_length=48,
                          return_tensors="np")
            out.append(bert.sentence_embeddings(minilm, e["input_ids"], e["attention_mask"]).numpy())
    return np.concatenate(out)


vectors = sentence_vectors(texts)
tg.manual_seed(0)
head = nn.Linear(vectors.shape[1], 2)
head_opt = optim.AdamW(head.parameters(), lr=3e-2, weight_decay=0.01)
split = int(0.8 * n_sentences)
for _ in range(300):
    loss = F.cross_entropy(head(tg.tensor(vectors[:split] * 10)), tg.tensor(sentiment[:split]))
    head_opt.zero_grad()
    loss.backward()
    head_opt.step()
with tg.no_grad():
    held_out = float((head(tg.tensor(vectors[split:] * 10)).numpy().argmax(1) == sentiment[split:]).mean())
print(f"frozen MiniLM + logistic head: {100 * held_out:.1f}% on {n_sentences - split} "
      "held-out SST-2 sentences")
assert held_out > 0.6


def classify(input_ids, attention_mask):
    """F(ids): the two sentiment logits of the frozen MiniLM + the trained head."""
    pooled = bert.sentence_embeddings(minilm, input_ids, attention_mask)
    return head(pooled * 10)


sentences = ["a gorgeous , witty , seductive movie .", "the plot is dull and the acting is worse ."]
enc = tokenizer(sentences, padding=True, return_tensors="np")
ids, attention = np.asarray(enc["input_ids"], np.int64), np.asarray(enc["attention_mask"], np.int64)
with tg.no_grad():
    predicted = classify(tg.tensor(ids), tg.tensor(attention)).numpy().argmax(1)
keep = np.isin(ids, [tokenizer.cls_token_id, tokenizer.sep_token_id]) | (attention == 0)
baseline = np.where(keep, ids, tokenizer.pad_token_id)
lig = explain.LayerIntegratedGradients(classify, minilm.embeddings)
token_ig, token_delta = lig.attribute(tg.tensor(ids), baselines=tg.tensor(baseline),
                                      target=[int(p) for p in predicted],
                                      additional_forward_args=(tg.tensor(attention),), n_steps=32,
                                      return_convergence_delta=True)
token_scores = token_ig.numpy().sum(-1)
# the gradient family at the embedding layer: one right-Riemann step of the same integral is
# (e(x) - e(baseline)) * dF/de at x — input x gradient, no path
one_step = lig.attribute(tg.tensor(ids), baselines=tg.tensor(baseline), target=[int(p) for p in predicted],
                         additional_forward_args=(tg.tensor(attention),), n_steps=1, method="riemann_right")
gradient_scores = one_step.numpy().sum(-1)
print(f"layer IG completeness through the embeddings: max |delta| {np.abs(token_delta.numpy()).max():.1e}")
occluded = explain.FeatureAblation(classify).attribute(
    tg.tensor(ids), baselines=tg.tensor(np.where(attention == 1, tokenizer.mask_token_id, ids)),
    target=[int(p) for p in predicted], additional_forward_args=(tg.tensor(attention),)).numpy()

# %% [markdown]
# **Attention** maps (one per layer and head, (S, S): how much each token's new vector takes from
# each other token) are often shown as explanations.  They are not one by themselves: attention says
# where information was *mixed*, not what the output *depends on* — the value vectors, the MLPs and
# the residual stream do the rest, and Jain & Wallace (2019) built attention maps that differ
# completely yet give the same predictions.  *Attention rollout* (Abnar & Zuidema 2020) multiplies
# the layers' head-averaged maps (with the residual added) to follow the flow from input tokens to
# the [CLS] position; compare it, token by token, with the gradient method.

# %%
att = explain.attention_maps(minilm, tg.tensor(ids), attention_mask=tg.tensor(attention))
rollout = np.asarray(explain.attention_rollout(att))
print("attention maps:", tuple(np.asarray(att).shape), "(layers, sentences, heads, S, S)")
rows = []
for i, sentence in enumerate(sentences):
    n = int(attention[i].sum())
    tokens = tokenizer.convert_ids_to_tokens([int(t) for t in ids[i][:n]])
    label = "positive" if predicted[i] == 1 else "negative"
    rows += [(f"{label}: integrated gradients", tokens, token_scores[i][:n]),
             (f"{label}: embedding x gradient (one step, no path)", tokens, gradient_scores[i][:n]),
             (f"{label}: occlusion ([MASK] each token)", tokens, occluded[i][:n]),
             (f"{label}: attention rollout from [CLS] (not an explanation by itself)", tokens,
              rollout[i, 0, :n])]
    print(f"{label:8s} IG        ", tokens_terminal(tokens, token_scores[i][:n], colour=False))
    print(f"{'':8s} x gradient", tokens_terminal(tokens, gradient_scores[i][:n], colour=False))
    print(f"{'':8s} occlusion ", tokens_terminal(tokens, occluded[i][:n], colour=False))
    best = tokens[int(np.argmax(np.abs(token_scores[i][1:n - 1]))) + 1]
    print(f"{'':8s} the token IG finds most important: {best!r}")
write_text(OUTPUT / "10_bert_tokens.html", tokens_html(rows, title="SST-2: four views of two sentences"))
print("token-highlighted page:", OUTPUT / "10_bert_tokens.html")
scores_positive = dict(zip(tokenizer.convert_ids_to_tokens([int(t) for t in ids[0]]), token_scores[0]))
assert max(scores_positive.get("gorgeous", 0), scores_positive.get("witty", 0)) > 0

# %% [markdown]
# **Head importance** (Michel et al. 2019): mask one head at a time and measure how much the loss
# on held-out sentences changes.  The answer is about what the computation needs, not about where a
# head looks: masking a head can raise the loss, barely move it, or even lower it — and a head whose
# map looks meaningful is not necessarily one the prediction depends on.

# %%
# `explain.head_importance(model, input_ids, labels)` does this for the models of `models.bert` and
# `models.gpt` (with their own losses); our classifier is a function of MiniLM, so here it is by hand:
# the `head_mask` (layers, heads) multiplies each head's output, 0 removes it.
layers, heads = minilm.config.num_hidden_layers, minilm.config.num_attention_heads


held = tokenizer(texts[split:split + 32], padding=True, truncation=True, max_length=48, return_tensors="np")
held_ids, held_mask = tg.tensor(np.asarray(held["input_ids"])), tg.tensor(np.asarray(held["attention_mask"]))
held_labels = tg.tensor(sentiment[split:split + 32])


def sst_loss(head_mask=None):
    """The classifier's loss on 32 held-out sentences (their true labels), with some heads masked."""
    with tg.no_grad():
        out = minilm(held_ids, attention_mask=held_mask, head_mask=head_mask)
        pooled = bert.sentence.l2_normalize(bert.sentence.mean_pooling(out.last_hidden_state, held_mask))
        return F.cross_entropy(head(pooled * 10), held_labels).item()


base_loss = sst_loss()
importance = np.zeros((layers, heads))
for layer in range(layers):
    for h in range(heads):
        gate = np.ones((layers, heads), np.float32)
        gate[layer, h] = 0.0
        importance[layer, h] = sst_loss(tg.tensor(gate)) - base_loss
print(f"held-out loss {base_loss:.3f}; its change when one head is masked (layers x heads):\n",
      np.round(importance, 3))
print(f"{(np.abs(importance) < 0.01 * base_loss).mean():.0%} of the {layers * heads} heads "
      f"change the loss by less than 1%; the most important one, "
      f"layer {np.unravel_index(importance.argmax(), importance.shape)[0]}, "
      f"adds {importance.max():.3f}")
fig, ax = plt.subplots(figsize=(5, 3))
shown = ax.imshow(importance, cmap="viridis")
ax.set_xlabel("head")
ax.set_ylabel("layer")
ax.set_title("head importance: loss increase when masked")
fig.colorbar(shown, ax=ax)
fig.tight_layout()
fig.savefig(OUTPUT / "10_head_importance.png", dpi=110)
plt.close(fig)
show(OUTPUT / "10_head_importance.png")
export = explain.bertviz_export(minilm, tokenizer, tg.tensor(ids[:1]), path=OUTPUT / "10_bertviz.json")
print("BertViz export:", OUTPUT / "10_bertviz.json", "- layers", len(export["attention"]))

# %% [markdown]
# ## 5. Activation statistics while training
#
# When a network does not learn, look inside.  `ActivationStatistics` records, per layer and per
# step (call `stats.step(optimizer)` after each `optimizer.step()`), the mean and spread of the
# activations, the fraction of **dead ReLUs** (units that output 0
# for every example of the batch: no gradient flows through them again), the **saturation** of tanh
# (|y| > 0.97, where its gradient 1 − y² is below 0.06), each parameter's gradient norm and the
# **update-to-weight ratio** ‖Δw‖ / ‖w‖ of the optimizer step (around 1e-3 is healthy; 1e-1 means
# the weights are being overwritten).  `train --log-activations` does the same in a run folder.
#
# Two MLPs on the same digits: one with PyTorch's default initialisation, one whose first layer's
# biases were set to −3 (most of its ReLUs start dead).

# %%


def mlp(dead_bias=None):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.Tanh(),
                          nn.Linear(64, 10))
    if dead_bias is not None:
        with tg.no_grad():
            model[1].bias.array[...] = dead_bias
    return model


recorded = {}
for name, model in (("healthy", mlp()), ("dead", mlp(dead_bias=-3.0))):
    opt = optim.SGD(model.parameters(), lr=0.1)
    with explain.ActivationStatistics(model) as stats:
        for step in range(40 if QUICK else 300):
            rows = rng.integers(0, n_train, 64)
            loss = F.cross_entropy(model(tg.tensor(mnist.x_train[rows])), tg.tensor(mnist.y_train[rows]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            stats.step(opt)
    recorded[name] = stats
    explain.plot_activation_statistics(stats, OUTPUT / f"10_activations_{name}.png")
    last = stats.records[-1]
    print(f"{name:8s} final loss {loss.item():.3f}; dead ReLUs {last['activations']['2']['dead']:.0%}, "
          f"tanh saturated {last['activations']['4']['saturation']:.0%}, update/weight of layer 1 "
          f"{last['parameters']['1.weight']['update_ratio']:.1e}")
show(OUTPUT / "10_activations_dead.png")
dead = [r["activations"]["2"]["dead"] for r in recorded["dead"].records]
healthy = [r["activations"]["2"]["dead"] for r in recorded["healthy"].records]
assert dead[-1] > healthy[-1] + 0.3

print(f"tutorial 10 finished in {time.perf_counter() - START:.1f} s")
