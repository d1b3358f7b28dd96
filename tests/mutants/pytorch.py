"""Realistic wrong implementations of part 10 (the seed's PyTorch program)."""

from tests.corpus import Mutant

_NET = '''
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        {body}
'''
_TRAIN = '''
def train(model, loader, epochs=5, device="cpu", lr=1e-3):
    model.to(device)
    {train}
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for epoch in range(epochs):
        total, count = 0.0, 0
        for xb, yb in loader:
            {move}
            {zero}
            loss = criterion({logits}, yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
            count += len(yb)
        history.append(total / count)
    return history
'''
_OK = dict(
    train="model.train()",
    move="xb, yb = xb.to(device), yb.to(device)",
    zero="optimizer.zero_grad()",
    logits="model(xb)",
)
_EVAL = '''
def evaluate(model, loader, device="cpu"):
    model.to(device)
    {eval}
    correct, count, batches = 0, 0, 0
    with {ctx}:
        for xb, yb in loader:
            {move}
            correct += (model(xb).argmax(dim=1) == yb).sum().item()
            count += len(yb)
            batches += 1
    return correct / {denominator}
'''
_EVAL_OK = dict(
    eval="model.eval()", ctx="torch.no_grad()", move="xb, yb = xb.to(device), yb.to(device)", denominator="count"
)


def _net(body: str) -> str:
    return _NET.format(body=body)


def _train(**change: str) -> str:
    return _TRAIN.format(**{**_OK, **change})


def _eval(**change: str) -> str:
    return _EVAL.format(**{**_EVAL_OK, **change})


MUTANTS = [
    Mutant(
        "pytorch.net",
        "softmax before CrossEntropyLoss",
        _net("return torch.softmax(self.fc2(torch.relu(self.fc1(x))), dim=1)"),
        catches="Net.forward matches the reference",
    ),
    Mutant(
        "pytorch.net",
        "sigmoid instead of ReLU",
        _net("return self.fc2(torch.sigmoid(self.fc1(x)))"),
        catches="Net.forward matches the reference",
    ),
    Mutant(
        "pytorch.net",
        "layers not named as in the seed",
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.hidden = nn.Linear(784, 128)
                self.out = nn.Linear(128, 10)

            def forward(self, x):
                return self.out(torch.relu(self.hidden(x)))
    """,
        catches="Net has the seed's layers",
    ),
    Mutant(
        "pytorch.net",
        "ReLU against zeros created on the CPU",
        _net("return self.fc2(torch.maximum(self.fc1(x), torch.zeros(x.shape[0], 128)))"),
        catches="Net.forward stays on the input's device",
    ),
    Mutant(
        "pytorch.net",
        "ReLU in numpy in the middle of the forward pass",
        _net("return self.fc2(torch.from_numpy(np.maximum(self.fc1(x).detach().cpu().numpy(), 0)))"),
        catches="Net.forward stays on the input's device",
    ),
    Mutant("pytorch.train", "zero_grad forgotten", _train(zero="pass"), catches="train matches the reference"),
    Mutant(
        "pytorch.train",
        "softmax before CrossEntropyLoss",
        _train(logits="torch.softmax(model(xb), dim=1)"),
        catches="train matches the reference",
    ),
    Mutant(
        "pytorch.train",
        "model.train() forgotten",
        _train(train="pass"),
        catches="train puts the model in training mode",
    ),
    Mutant(
        "pytorch.train",
        "a monitoring pass leaves the model in eval mode for the next epoch",
        """
        def train(model, loader, epochs=5, device="cpu", lr=1e-3):
            model.to(device)
            model.train()
            criterion = nn.CrossEntropyLoss()
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
            history = []
            for epoch in range(epochs):
                for xb, yb in loader:
                    xb, yb = xb.to(device), yb.to(device)
                    optimizer.zero_grad()
                    loss = criterion(model(xb), yb)
                    loss.backward()
                    optimizer.step()
                model.eval()
                with torch.no_grad():
                    losses = [criterion(model(xb.to(device)), yb.to(device)).item() for xb, yb in loader]
                history.append(sum(losses) / len(losses))
            return history
    """,
        catches="train puts the model in training mode",
    ),
    Mutant(
        "pytorch.train",
        "labels left on the CPU",
        _train(move="xb = xb.to(device)"),
        catches="train stays on the given device",
    ),
    Mutant(
        "pytorch.train",
        "the model never moved to the device",
        _train(move="xb, yb = xb.to(device), yb.to(device)").replace("    model.to(device)\n", ""),
        catches="train stays on the given device",
    ),
    Mutant(
        "pytorch.evaluate",
        "model.eval() forgotten",
        _eval(eval="pass"),
        catches="evaluate runs in eval mode without autograd",
    ),
    Mutant(
        "pytorch.evaluate",
        "autograd left on",
        _eval(ctx="torch.enable_grad()"),
        catches="evaluate runs in eval mode without autograd",
    ),
    Mutant(
        "pytorch.evaluate",
        "divides by the number of batches",
        _eval(denominator="(batches * 16)"),
        catches="evaluate matches the reference",
    ),
    Mutant(
        "pytorch.evaluate",
        "images left on the CPU",
        _eval(move="yb = yb.to(device)"),
        catches="evaluate stays on the given device",
    ),
    Mutant(
        "pytorch.train",
        "make_loader always shuffles",
        """
        def make_loader(X, y, batch_size=64, shuffle=True, seed=0):
            dataset = torch.utils.data.TensorDataset(torch.as_tensor(np.asarray(X), dtype=torch.float32),
                                                     torch.as_tensor(np.asarray(y), dtype=torch.int64))
            return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True,
                                               generator=torch.Generator().manual_seed(seed))
    """,
        catches="make_loader batches every sample once",
    ),
    Mutant(
        "pytorch.net",
        ".detach() on the hidden layer cuts the gradient to fc1",
        _net("return self.fc2(torch.relu(self.fc1(x)).detach())"),
        catches="Net's parameter gradients",
    ),
    Mutant(
        "pytorch.net",
        "fc1(x).data in forward",
        _net("h = self.fc1(x).data\n        return self.fc2(torch.relu(h))"),
        catches="Net's parameter gradients",
    ),
    Mutant(
        "pytorch.train",
        "optimizer re-created every epoch (Adam's moments lost)",
        _train()
        .replace("    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n", "")
        .replace(
            "        total, count = 0.0, 0\n",
            "        total, count = 0.0, 0\n        optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n",
        ),
        catches="train builds one optimizer",
    ),
    Mutant(
        "pytorch.train",
        "optimizer re-created every step",
        _train(zero="optimizer = torch.optim.Adam(model.parameters(), lr=lr); optimizer.zero_grad()"),
        catches="train builds one optimizer",
    ),
    Mutant(
        "pytorch.train",
        "Adam with its default lr, the lr argument ignored",
        _train().replace("Adam(model.parameters(), lr=lr)", "Adam(model.parameters())"),
        catches="train builds one optimizer",
    ),
    Mutant(
        "pytorch.train",
        "only fc2 given to the optimizer",
        _train().replace("Adam(model.parameters(), lr=lr)", "Adam(model.fc2.parameters(), lr=lr)"),
        catches="train builds one optimizer",
    ),
    Mutant(
        "pytorch.train",
        "epochs ignored: one pass over the loader",
        _train().replace("for epoch in range(epochs):", "for epoch in range(1):"),
        catches="train takes one optimizer step per minibatch",
    ),
    Mutant(
        "pytorch.train",
        "one step per epoch on the whole dataset",
        """
        def train(model, loader, epochs=5, device="cpu", lr=1e-3):
            model.to(device)
            model.train()
            criterion = nn.CrossEntropyLoss()
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
            X = torch.cat([xb for xb, _ in loader]).to(device)
            y = torch.cat([yb for _, yb in loader]).to(device)
            history = []
            for epoch in range(epochs):
                optimizer.zero_grad()
                loss = criterion(model(X), y)
                loss.backward()
                optimizer.step()
                history.append(loss.item())
            return history
    """,
        catches="train takes one optimizer step per minibatch",
    ),
    Mutant(
        "pytorch.train",
        "batch losses summed, one step per epoch",
        """
        def train(model, loader, epochs=5, device="cpu", lr=1e-3):
            model.to(device)
            model.train()
            criterion = nn.CrossEntropyLoss()
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
            history = []
            for epoch in range(epochs):
                optimizer.zero_grad()
                losses = [criterion(model(xb.to(device)), yb.to(device)) for xb, yb in loader]
                loss = torch.stack(losses).mean()
                loss.backward()
                optimizer.step()
                history.append(loss.item())
            return history
    """,
        catches="train takes one optimizer step per minibatch",
    ),
    Mutant(
        "pytorch.evaluate",
        "argmin instead of argmax",
        _EVAL.replace("argmax(dim=1)", "argmin(dim=1)").format(**_EVAL_OK),
        catches="evaluate matches the reference",
    ),
]
