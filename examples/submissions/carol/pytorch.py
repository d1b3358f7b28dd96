"""Part 10 — a neural network in PyTorch (seed 5.2).

The seed defines ``Net`` (784 → 128 ReLU → 10) and leaves the training loop as "# ... 训练代码 ...".
Here you write both, plus ``evaluate``.  The grader feeds 8×8 digits upsampled to 28×28 = 784 pixels.
Every function takes a ``device`` ("cpu", "cuda", ...): keep the model, the data and every tensor you
create on it, so the same code runs on a GPU.
"""
import numpy as np
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return torch.softmax(self.fc2(torch.relu(self.fc1(x))), dim=1)


def make_loader(X, y, batch_size=64, shuffle=True, seed=0):
    """Exercise pytorch.train — a DataLoader over (float32 images (N, 784), int64 labels (N,)).

    With shuffle, use a torch.Generator seeded with ``seed`` so the order is reproducible.
    """
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(np.asarray(X), dtype=torch.float32),
                                             torch.as_tensor(np.asarray(y), dtype=torch.int64))
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)


def train(model, loader, epochs=5, device="cpu", lr=1e-3):
    """Exercise pytorch.train — the seed's loop: CrossEntropyLoss, Adam(model.parameters(), lr).

    Move the model to ``device``, put it in training mode, and for every batch: move it to ``device``,
    zero the gradients, forward, loss, backward, step.  Returns the mean loss of each epoch (floats).
    """
    model.to(device)
    model.train()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for epoch in range(epochs):
        total, count = 0.0, 0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
            count += len(yb)
        history.append(total / max(count, 1))
    return history


def evaluate(model, loader, device="cpu"):
    model.to(device)
    pass
    correct, count, batches = 0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            correct += (model(xb).argmax(dim=1) == yb).sum().item()
            count += len(yb)
            batches += 1
    return correct / count
