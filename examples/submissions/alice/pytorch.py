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
    """Exercise pytorch.net — fc1 = Linear(784, 128), fc2 = Linear(128, 10); forward(x) = fc2(relu(fc1(x))).

    forward returns the raw scores (logits): nn.CrossEntropyLoss applies log-softmax itself.
    """

    def __init__(self):
        super(Net, self).__init__()
        ### BEGIN SOLUTION
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = torch.relu(self.fc1(x))
        x = self.fc2(x)
        return x
        ### END SOLUTION


def make_loader(X, y, batch_size=64, shuffle=True, seed=0):
    """Exercise pytorch.train — a DataLoader over (float32 images (N, 784), int64 labels (N,)).

    With shuffle, use a torch.Generator seeded with ``seed`` so the order is reproducible.
    """
    ### BEGIN SOLUTION
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(np.asarray(X), dtype=torch.float32),
                                             torch.as_tensor(np.asarray(y), dtype=torch.int64))
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)
    ### END SOLUTION


def train(model, loader, epochs=5, device="cpu", lr=1e-3):
    """Exercise pytorch.train — the seed's loop: CrossEntropyLoss, Adam(model.parameters(), lr).

    Move the model to ``device``, put it in training mode, and for every batch: move it to ``device``,
    zero the gradients, forward, loss, backward, step.  Returns the mean loss of each epoch (floats).
    """
    ### BEGIN SOLUTION
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
    ### END SOLUTION


def evaluate(model, loader, device="cpu"):
    """Exercise pytorch.evaluate — the fraction of samples whose arg-max logit is the label.

    Evaluation mode (model.eval()) and no autograd (torch.no_grad()); everything on ``device``.
    """
    ### BEGIN SOLUTION
    model.to(device)
    model.eval()
    correct, count = 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            correct += (model(xb).argmax(dim=1) == yb).sum().item()
            count += len(yb)
    return correct / max(count, 1)
    ### END SOLUTION
