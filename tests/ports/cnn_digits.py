"""A small CNN classifier on scikit-learn's 8x8 digits, written the way a PyTorch user writes it.

Run it: ``python tests/ports/cnn_digits.py``.  tests/ports/test_ports.py runs it as written (with
torch) and with only its import lines switched to tinygrad_edu, and compares the two runs.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from sklearn.datasets import load_digits


class SmallCNN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.dropout = nn.Dropout(p=0.0)
        self.fc = nn.Linear(16 * 2 * 2, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)            # (N, 8, 4, 4)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)  # (N, 16, 2, 2)
        x = torch.flatten(x, 1)
        return self.fc(self.dropout(x))


def make_data(n=192):
    digits = load_digits()
    images = digits.images[:n].astype(np.float32) / 16.0
    labels = digits.target[:n].astype(np.int64)
    return TensorDataset(torch.tensor(images).unsqueeze(1), torch.tensor(labels))


def build_model():
    torch.manual_seed(0)
    return SmallCNN()


def make_optimizer(model):
    return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)


def train_steps(model, data, steps=4, batch_size=48):
    loader = DataLoader(data, batch_size=batch_size, shuffle=False)
    optimizer = make_optimizer(model)
    model.train()
    losses = []
    while len(losses) < steps:
        for images, labels in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if len(losses) == steps:
                break
    return losses


def evaluate(model, data):
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in DataLoader(data, batch_size=64):
            correct += (model(images).argmax(dim=1) == labels).sum().item()
    return correct / len(data)


if __name__ == "__main__":
    data = make_data()
    model = build_model()
    print("losses", train_steps(model, data, steps=40))
    print("train accuracy", evaluate(model, data))
