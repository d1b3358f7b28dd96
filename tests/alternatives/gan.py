"""Correct implementations of part 9 that differ from the reference: they must get full marks."""

from tests.corpus import Alternative

ALTERNATIVES = [
    Alternative(
        "gan.losses",
        "log-sigmoid by cases, sigmoid via np.where",
        """
        def _log_sigmoid(x):
            return np.where(x >= 0, -np.log1p(np.exp(-np.abs(x))), x - np.log1p(np.exp(-np.abs(x))))
        def _sigmoid(x):
            e = np.exp(-np.abs(x))
            return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        def discriminator_loss(real_logits, fake_logits):
            r, f = real_logits, fake_logits
            loss = -_log_sigmoid(r).mean() - _log_sigmoid(-f).mean()
            return loss, (_sigmoid(r) - 1) / len(r), _sigmoid(f) / len(f)
        def generator_loss(fake_logits):
            f = fake_logits
            return -_log_sigmoid(f).mean(), -_sigmoid(-f) / len(f)
    """,
    ),
    Alternative(
        "gan.step",
        "logsigmoid losses, labels on real.device, zero_grad after step",
        """
        def train_step(G, D, opt_g, opt_d, real, z):
            fake = G(z)
            d_loss = -F.logsigmoid(D(real)).mean() - F.logsigmoid(-D(fake.detach())).mean()
            opt_d.zero_grad(set_to_none=False)
            d_loss.backward()
            opt_d.step()
            g_loss = -F.logsigmoid(D(fake)).mean()
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            opt_d.zero_grad()
            return float(d_loss), float(g_loss)
    """,
    ),
    Alternative(
        "gan.train",
        "randperm batches and noise on the data's device",
        """
        def train_gan(data, steps=600, batch_size=128, lr=2e-3, seed=0, device="cpu"):
            torch.manual_seed(seed)
            real_all = torch.tensor(np.asarray(data, dtype=np.float32).reshape(-1, 1), device=device)
            G = make_generator().to(real_all.device)
            D = make_discriminator().to(real_all.device)
            opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
            opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
            losses, order, pos = [], torch.randperm(len(real_all), device=device), 0
            for _ in range(steps):
                if pos + batch_size > len(order):
                    order, pos = torch.randperm(len(real_all), device=device), 0
                batch = real_all[order[pos:pos + batch_size]]
                pos += batch_size
                z = torch.randn(batch_size, LATENT_DIM, device=real_all.device)
                losses.append(train_step(G, D, opt_g, opt_d, batch, z))
            return G, losses
    """,
    ),
    Alternative(
        "gan.train",
        "numpy default_rng for the real batch, optimizers from a loop, z via .to(device), keyword arguments",
        """
        def train_gan(data, steps=600, batch_size=128, lr=2e-3, seed=0, device="cpu"):
            torch.manual_seed(seed)
            rng = np.random.default_rng(seed)
            samples = np.asarray(data, dtype=np.float32).reshape(-1, 1)
            G, D = make_generator(), make_discriminator()
            G.to(device)
            D.to(device)
            opt_g, opt_d = (torch.optim.Adam([{"params": list(m.parameters())}], lr=lr, betas=(0.5, 0.999))
                            for m in (G, D))
            history = []
            for step in range(steps):
                real = torch.from_numpy(samples[rng.integers(0, len(samples), size=batch_size)]).to(device)
                z = torch.randn(batch_size, LATENT_DIM).to(device)
                d_loss, g_loss = train_step(G, D, opt_g, opt_d, real=real, z=z)
                history.append((d_loss, g_loss))
            return G, history
    """,
    ),
]
