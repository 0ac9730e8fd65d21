"""A character-level language model with nn.LSTM, written the way a PyTorch user writes it.

Run it: ``python tests/ports/char_lstm.py``.  tests/ports/test_ports.py runs it with torch and with
only its import lines switched to tinygrad_edu, and compares the two runs.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TEXT = ("to be, or not to be, that is the question: whether 'tis nobler in the mind to suffer "
        "the slings and arrows of outrageous fortune, or to take arms against a sea of troubles")
SEQ_LEN = 12


class CharLSTM(nn.Module):
    def __init__(self, vocab_size, embed_dim=8, hidden_size=16, num_layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.embed(idx), state)
        return self.head(out), state


def make_data(seq_len=SEQ_LEN, n_windows=24):
    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in TEXT], dtype=np.int64)
    starts = np.arange(n_windows) * 5
    x = np.stack([ids[s:s + seq_len] for s in starts])
    y = np.stack([ids[s + 1:s + seq_len + 1] for s in starts])
    return {"x": torch.tensor(x), "y": torch.tensor(y), "chars": chars}


def build_model():
    torch.manual_seed(0)
    return CharLSTM(vocab_size=len(set(TEXT)))


def train_steps(model, data, steps=4, batch_size=8):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    n = data["x"].shape[0]
    for step in range(steps):
        lo = (step * batch_size) % n
        xb, yb = data["x"][lo:lo + batch_size], data["y"][lo:lo + batch_size]
        logits, _ = model(xb)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), yb.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        losses.append(loss.item())
    return losses


def generate(model, data, prompt="to be", length=20):
    """Greedy decoding, carrying the LSTM state from step to step."""
    stoi = {c: i for i, c in enumerate(data["chars"])}
    model.eval()
    out = list(prompt)
    with torch.no_grad():
        idx = torch.tensor([[stoi[c] for c in prompt]])
        logits, state = model(idx)
        for _ in range(length):
            nxt = int(logits[0, -1].argmax())
            out.append(data["chars"][nxt])
            logits, state = model(torch.tensor([[nxt]]), state)
    return "".join(out)


if __name__ == "__main__":
    data = make_data()
    model = build_model()
    print("losses", train_steps(model, data, steps=60))
    print(generate(model, data))
