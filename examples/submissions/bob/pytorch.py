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
        # YOUR CODE HERE (pytorch.net)
        raise NotImplementedError("pytorch.net: write __init__")

    def forward(self, x):
        # YOUR CODE HERE (pytorch.net)
        raise NotImplementedError("pytorch.net: write forward")


def make_loader(X, y, batch_size=64, shuffle=True, seed=0):
    """Exercise pytorch.train — a DataLoader over (float32 images (N, 784), int64 labels (N,)).

    With shuffle, use a torch.Generator seeded with ``seed`` so the order is reproducible.
    """
    # YOUR CODE HERE (pytorch.train)
    raise NotImplementedError("pytorch.train: write make_loader")


def train(model, loader, epochs=5, device="cpu", lr=1e-3):
    """Exercise pytorch.train — the seed's loop: CrossEntropyLoss, Adam(model.parameters(), lr).

    Move the model to ``device``, put it in training mode, and for every batch: move it to ``device``,
    zero the gradients, forward, loss, backward, step.  Returns the mean loss of each epoch (floats).
    """
    # YOUR CODE HERE (pytorch.train)
    raise NotImplementedError("pytorch.train: write train")


def evaluate(model, loader, device="cpu"):
    """Exercise pytorch.evaluate — the fraction of samples whose arg-max logit is the label.

    Evaluation mode (model.eval()) and no autograd (torch.no_grad()); everything on ``device``.
    """
    # YOUR CODE HERE (pytorch.evaluate)
    raise NotImplementedError("pytorch.evaluate: write evaluate")
