"""A tiny causal Transformer language model (nn.TransformerEncoder + a square subsequent mask),
written the way a PyTorch user writes it.

Run it: ``python tests/ports/transformer_lm.py``.  tests/ports/test_ports.py runs it with torch and
with only its import lines switched to tinygrad_edu, and compares the two runs.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TEXT = "the quick brown fox jumps over the lazy dog; the lazy dog sleeps under the quick brown fox. "
BLOCK = 10


class TinyTransformerLM(nn.Module):
    def __init__(self, vocab_size, d_model=16, nhead=2, num_layers=2, block_size=BLOCK):
        super().__init__()
        self.d_model = d_model
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Parameter(torch.zeros(1, block_size, d_model))
        layer = nn.TransformerEncoderLayer(d_model=d_model, nhead=nhead, dim_feedforward=32,
                                           dropout=0.0, activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        nn.init.normal_(self.pos, mean=0.0, std=0.02)

    def forward(self, idx):
        T = idx.size(1)
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        x = self.tok(idx) * math.sqrt(self.d_model) + self.pos[:, :T]
        x = self.encoder(x, mask=mask)
        return self.head(self.norm(x))


def make_data(block=BLOCK, n_windows=16):
    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in TEXT], dtype=np.int64)
    starts = np.arange(n_windows) * 5
    x = np.stack([ids[s:s + block] for s in starts])
    y = np.stack([ids[s + 1:s + block + 1] for s in starts])
    return {"x": torch.tensor(x), "y": torch.tensor(y), "chars": chars}


def build_model():
    torch.manual_seed(0)
    return TinyTransformerLM(vocab_size=len(set(TEXT)))


def train_steps(model, data, steps=4, batch_size=8):
    # SGD, not Adam: the gradient of attention's key bias is exactly zero in exact arithmetic (softmax
    # ignores a constant added to every score), so Adam would turn round-off noise into lr-sized steps
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    model.train()
    losses = []
    n = data["x"].shape[0]
    for step in range(steps):
        lo = (step * batch_size) % n
        xb, yb = data["x"][lo:lo + batch_size], data["y"][lo:lo + batch_size]
        logits = model(xb)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), yb.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@torch.no_grad()
def generate(model, data, prompt="the ", length=12):
    stoi = {c: i for i, c in enumerate(data["chars"])}
    model.eval()
    idx = torch.tensor([[stoi[c] for c in prompt]])
    for _ in range(length):
        logits = model(idx[:, -BLOCK:])
        nxt = logits[:, -1].argmax(dim=-1, keepdim=True)
        idx = torch.cat([idx, nxt], dim=1)
    return "".join(data["chars"][i] for i in idx[0].tolist())


if __name__ == "__main__":
    data = make_data()
    model = build_model()
    print("losses", train_steps(model, data, steps=80))
    print(generate(model, data))
