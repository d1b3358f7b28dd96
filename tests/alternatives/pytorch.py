"""Correct implementations of part 10 that differ from the reference: they must get full marks."""

from tests.corpus import Alternative

ALTERNATIVES = [
    Alternative(
        "pytorch.net",
        "F.relu and a flatten",
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(28 * 28, 128)
                self.fc2 = nn.Linear(128, 10)

            def forward(self, x):
                return self.fc2(torch.nn.functional.relu(self.fc1(x.reshape(x.shape[0], -1))))
    """,
    ),
    Alternative(
        "pytorch.train",
        "zero_grad after step, mean of batch losses, loader from a list",
        """
        def make_loader(X, y, batch_size=64, shuffle=True, seed=0):
            pairs = list(zip(torch.tensor(np.asarray(X), dtype=torch.float32), torch.tensor(np.asarray(y)).long()))
            g = torch.Generator()
            g.manual_seed(seed)
            return torch.utils.data.DataLoader(pairs, batch_size=batch_size, shuffle=shuffle, generator=g)

        def train(model, loader, epochs=5, device="cpu", lr=1e-3):
            model = model.to(device)
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
            loss_fn = nn.CrossEntropyLoss()
            optimizer.zero_grad()
            curve = []
            for _ in range(epochs):
                model.train()
                batch_losses = []
                for xb, yb in loader:
                    loss = loss_fn(model(xb.to(device)), yb.to(device))
                    loss.backward()
                    optimizer.step()
                    optimizer.zero_grad()
                    batch_losses.append(loss.detach())
                curve.append(torch.stack(batch_losses).mean().item())
            return curve
    """,
    ),
    Alternative(
        "pytorch.train",
        "model.train() each epoch and a monitoring pass in eval mode under no_grad",
        """
        def train(model, loader, epochs=5, device="cpu", lr=1e-3):
            model.to(device)
            criterion = nn.CrossEntropyLoss()
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
            history = []
            for epoch in range(epochs):
                model.train()
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
                model.eval()
                with torch.no_grad():
                    correct = sum((model(xb.to(device)).argmax(dim=1) == yb.to(device)).sum().item()
                                  for xb, yb in loader)
                print(f"epoch {epoch}: loss {history[-1]:.3f}, train accuracy {correct / max(count, 1):.3f}")
            return history
    """,
    ),
    Alternative(
        "pytorch.train",
        "enumerate(loader), zero_grad(set_to_none=True), one param group per layer",
        """
        def train(model, loader, epochs=5, device="cpu", lr=1e-3):
            model.to(device).train()
            optimizer = torch.optim.Adam([{"params": model.fc1.parameters()}, {"params": model.fc2.parameters()}],
                                         lr=lr)
            criterion = torch.nn.CrossEntropyLoss(reduction="sum")
            history = []
            for epoch in range(epochs):
                running, seen = 0.0, 0
                for i, (xb, yb) in enumerate(loader):
                    xb, yb = xb.to(device), yb.to(device)
                    optimizer.zero_grad(set_to_none=True)
                    out = model(xb)
                    batch_loss = criterion(out, yb)
                    (batch_loss / yb.shape[0]).backward()
                    optimizer.step()
                    running += batch_loss.item()
                    seen += yb.shape[0]
                with torch.no_grad():  # a check on the first batch, without autograd
                    model(next(iter(loader))[0].to(device))
                history.append(running / seen)
            return history
    """,
    ),
    Alternative(
        "pytorch.evaluate",
        "inference_mode and concatenated predictions",
        """
        def evaluate(model, loader, device="cpu"):
            model.eval().to(device)
            preds, labels = [], []
            with torch.inference_mode():
                for xb, yb in loader:
                    preds.append(model(xb.to(device)).argmax(1))
                    labels.append(yb.to(device))
            return (torch.cat(preds) == torch.cat(labels)).float().mean().item()
    """,
    ),
]
