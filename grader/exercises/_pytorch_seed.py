"""The seed's ``Net`` and an unshuffled loader, written from the exercises' public specification (the hints of
pytorch.net and pytorch.train), not from the reference.

The drivers of pytorch.train and pytorch.evaluate ``exec`` this file's text in the worker and grade the
student's ``train`` and ``evaluate`` with this ``Net``, so no reference code is sent to the worker; the grader
loads trained weights into the same ``Net``.  Only torch and numpy here, no grader imports.
"""
import numpy as np
import torch


class Net(torch.nn.Module):
    """fc1 = Linear(784, 128), fc2 = Linear(128, 10); forward(x) = fc2(relu(fc1(x))), the logits."""

    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 128)
        self.fc2 = torch.nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def loader(X, y, batch_size=16):
    """A DataLoader over (float32 image, int64 label) pairs, in order (batches are stacked by its collate)."""
    images = torch.tensor(np.asarray(X, dtype=np.float32))
    labels = torch.tensor(np.asarray(y, dtype=np.int64))
    return torch.utils.data.DataLoader(list(zip(images, labels)), batch_size=batch_size)

