"""A small variational autoencoder on scikit-learn's 8x8 digits, written the way a PyTorch user
writes it.

The reparameterisation noise is not drawn with ``torch.randn_like`` inside the model: it comes
from a fixed NumPy seed through ``torch.tensor`` and is passed in, so two runs (or two
frameworks) see the same noise.  tests/ports/test_ports.py runs this script with torch and with
only its import lines switched to tinygrad_edu, and compares the two runs.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from sklearn.datasets import load_digits

LATENT = 4


class VAE(nn.Module):
    def __init__(self, in_dim=64, hidden=32, latent=LATENT):
        super().__init__()
        self.enc = nn.Linear(in_dim, hidden)
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, in_dim))

    def encode(self, x):
        h = F.relu(self.enc(x))
        return self.mu(h), self.logvar(h)

    def forward(self, x, eps):
        mu, logvar = self.encode(x)
        z = mu + eps * torch.exp(0.5 * logvar)   # reparameterisation: z ~ N(mu, sigma^2)
        return self.dec(z), mu, logvar


def vae_loss(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (recon + kld) / x.size(0)


def make_data(n=128):
    images = load_digits().images[:n].reshape(n, -1).astype(np.float32) / 16.0
    return TensorDataset(torch.tensor(images))


def make_noise(steps, batch_size, latent=LATENT, seed=0):
    rng = np.random.default_rng(seed)
    return torch.tensor(rng.standard_normal((steps, batch_size, latent)).astype(np.float32))


def build_model():
    torch.manual_seed(0)
    return VAE()


def train_steps(model, data, steps=4, batch_size=32):
    loader = DataLoader(data, batch_size=batch_size, shuffle=False, drop_last=True)
    noise = make_noise(steps, batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=1e-2)
    model.train()
    losses = []
    while len(losses) < steps:
        for (x,) in loader:
            logits, mu, logvar = model(x, noise[len(losses)])
            loss = vae_loss(logits, x, mu, logvar)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if len(losses) == steps:
                break
    return losses


if __name__ == "__main__":
    data = make_data()
    model = build_model()
    print("losses", train_steps(model, data, steps=50))
