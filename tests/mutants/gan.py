"""Realistic wrong implementations of part 9 (GANs)."""

from tests.corpus import Mutant

_TRAIN_GAN = """
def train_gan(data, steps=600, batch_size=128, lr=2e-3, seed=0, device="cpu"):
    torch.manual_seed(seed)
    G, D = make_generator().to(device), make_discriminator().to(device)
    {optimizers}
    real_all = torch.as_tensor(np.asarray(data), dtype=torch.float32).reshape(-1, 1).to(device)
    losses = []
    {before}
    for _ in range(steps):
        {inside}
        losses.append(train_step(G, D, opt_g, opt_d, real_all[idx], z))
    return G, losses
"""
_OPTIMIZERS = (
    "opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999)); "
    "opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))"
)
_IDX = "idx = torch.randint(0, real_all.shape[0], (batch_size,), device=device)"
_Z = "z = torch.randn(batch_size, LATENT_DIM, device=device)"


def _train_gan(optimizers: str = _OPTIMIZERS, before: str = "pass", inside: str = f"{_IDX}; {_Z}") -> str:
    return _TRAIN_GAN.format(optimizers=optimizers, before=before, inside=inside)


MUTANTS = [
    Mutant(
        "gan.losses",
        "saturating generator loss mean log(1 - sigma(f))",
        """
        def generator_loss(fake_logits):
            f = np.asarray(fake_logits, dtype=np.float64)
            loss = -np.mean(np.logaddexp(0.0, f))
            return float(loss), -0.5 * (1.0 + np.tanh(0.5 * f)) / f.size
    """,
        catches="generator_loss is non-saturating",
    ),
    Mutant(
        "gan.losses",
        "generator loss with the wrong sign (G pushes D towards 'fake')",
        """
        def generator_loss(fake_logits):
            f = np.asarray(fake_logits, dtype=np.float64)
            return float(np.mean(np.logaddexp(0.0, f))), 0.5 * (1.0 + np.tanh(0.5 * f)) / f.size
    """,
        catches="generator_loss matches torch",
    ),
    Mutant(
        "gan.losses",
        "discriminator gradients not divided by the batch size",
        """
        def discriminator_loss(real_logits, fake_logits):
            r, f = np.asarray(real_logits), np.asarray(fake_logits)
            loss = np.mean(np.logaddexp(0.0, -r)) + np.mean(np.logaddexp(0.0, f))
            return float(loss), -0.5 * (1.0 + np.tanh(-0.5 * r)), 0.5 * (1.0 + np.tanh(0.5 * f))
    """,
        catches="discriminator_loss passes the gradient check",
    ),
    Mutant(
        "gan.losses",
        "log of the sigmoid overflows",
        """
        def discriminator_loss(real_logits, fake_logits):
            r, f = np.asarray(real_logits), np.asarray(fake_logits)
            sr, sf = 1 / (1 + np.exp(-r)), 1 / (1 + np.exp(-f))
            loss = -np.mean(np.log(sr)) - np.mean(np.log(1 - sf))
            return float(loss), (sr - 1) / r.size, sf / f.size
    """,
        catches="discriminator_loss is finite on extreme logits",
    ),
    Mutant(
        "gan.losses",
        "real and fake labels swapped",
        """
        def discriminator_loss(real_logits, fake_logits):
            r, f = np.asarray(real_logits), np.asarray(fake_logits)
            loss = np.mean(np.logaddexp(0.0, r)) + np.mean(np.logaddexp(0.0, -f))
            return float(loss), 0.5 * (1.0 + np.tanh(0.5 * r)) / r.size, -0.5 * (1.0 + np.tanh(-0.5 * f)) / f.size
    """,
        catches="discriminator_loss matches the reference",
    ),
    Mutant(
        "gan.step",
        "saturating generator loss in torch",
        """
        def train_step(G, D, opt_g, opt_d, real, z):
            opt_d.zero_grad()
            fake = G(z)
            rl, fl = D(real), D(fake.detach())
            d_loss = (F.binary_cross_entropy_with_logits(rl, torch.ones_like(rl))
                      + F.binary_cross_entropy_with_logits(fl, torch.zeros_like(fl)))
            d_loss.backward()
            opt_d.step()
            opt_g.zero_grad()
            fl = D(fake)
            g_loss = -F.binary_cross_entropy_with_logits(fl, torch.zeros_like(fl))
            g_loss.backward()
            opt_g.step()
            return d_loss.item(), g_loss.item()
    """,
        catches="train_step matches the reference",
    ),
    Mutant(
        "gan.step",
        "D's gradients never zeroed",
        """
        def train_step(G, D, opt_g, opt_d, real, z):
            fake = G(z)
            rl, fl = D(real), D(fake.detach())
            d_loss = (F.binary_cross_entropy_with_logits(rl, torch.ones_like(rl))
                      + F.binary_cross_entropy_with_logits(fl, torch.zeros_like(fl)))
            d_loss.backward()
            opt_d.step()
            opt_g.zero_grad()
            fl = D(fake)
            g_loss = F.binary_cross_entropy_with_logits(fl, torch.ones_like(fl))
            g_loss.backward()
            opt_g.step()
            return d_loss.item(), g_loss.item()
    """,
        catches="train_step matches the reference",
    ),
    Mutant(
        "gan.step",
        "G's gradients never zeroed",
        """
        def train_step(G, D, opt_g, opt_d, real, z):
            opt_d.zero_grad()
            fake = G(z)
            rl, fl = D(real), D(fake.detach())
            d_loss = (F.binary_cross_entropy_with_logits(rl, torch.ones_like(rl))
                      + F.binary_cross_entropy_with_logits(fl, torch.zeros_like(fl)))
            d_loss.backward()
            opt_d.step()
            fl = D(fake)
            g_loss = F.binary_cross_entropy_with_logits(fl, torch.ones_like(fl))
            g_loss.backward()
            opt_g.step()
            return d_loss.item(), g_loss.item()
    """,
        catches="train_step matches the reference",
    ),
    Mutant(
        "gan.step",
        "labels created on the CPU (wrong device)",
        """
        def train_step(G, D, opt_g, opt_d, real, z):
            n = real.shape[0]
            ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
            opt_d.zero_grad()
            fake = G(z)
            d_loss = (F.binary_cross_entropy_with_logits(D(real), ones)
                      + F.binary_cross_entropy_with_logits(D(fake.detach()), zeros))
            d_loss.backward()
            opt_d.step()
            opt_g.zero_grad()
            g_loss = F.binary_cross_entropy_with_logits(D(fake), ones)
            g_loss.backward()
            opt_g.step()
            return d_loss.item(), g_loss.item()
    """,
        catches="train_step stays on the given device",
    ),
    Mutant(
        "gan.train",
        "returns the discriminator",
        """
        def train_gan(data, steps=600, batch_size=128, lr=2e-3, seed=0, device="cpu"):
            torch.manual_seed(seed)
            G, D = make_generator().to(device), make_discriminator().to(device)
            opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
            opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
            real_all = torch.as_tensor(np.asarray(data), dtype=torch.float32).reshape(-1, 1).to(device)
            losses = []
            for _ in range(steps):
                idx = torch.randint(0, real_all.shape[0], (batch_size,), device=device)
                z = torch.randn(batch_size, LATENT_DIM, device=device)
                losses.append(train_step(G, D, opt_g, opt_d, real_all[idx], z))
            return D, losses
    """,
        catches="generated samples match",
    ),
    Mutant(
        "gan.train",
        "G's optimizer holds D's parameters (copy-paste)",
        """
        def train_gan(data, steps=600, batch_size=128, lr=2e-3, seed=0, device="cpu"):
            torch.manual_seed(seed)
            G, D = make_generator().to(device), make_discriminator().to(device)
            opt_g = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
            opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
            real_all = torch.as_tensor(np.asarray(data), dtype=torch.float32).reshape(-1, 1).to(device)
            losses = []
            for _ in range(steps):
                idx = torch.randint(0, real_all.shape[0], (batch_size,), device=device)
                z = torch.randn(batch_size, LATENT_DIM, device=device)
                losses.append(train_step(G, D, opt_g, opt_d, real_all[idx], z))
            return G, losses
    """,
        catches="generated samples match",
    ),
    Mutant(
        "gan.train",
        "noise created without device=",
        """
        def train_gan(data, steps=600, batch_size=128, lr=2e-3, seed=0, device="cpu"):
            torch.manual_seed(seed)
            G, D = make_generator().to(device), make_discriminator().to(device)
            opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
            opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
            real_all = torch.as_tensor(np.asarray(data), dtype=torch.float32).reshape(-1, 1).to(device)
            losses = []
            for _ in range(steps):
                idx = torch.randint(0, real_all.shape[0], (batch_size,), device=device)
                z = torch.randn(batch_size, LATENT_DIM)
                losses.append(train_step(G, D, opt_g, opt_d, real_all[idx], z))
            return G, losses
    """,
        catches="train_gan stays on the given device",
    ),
    Mutant(
        "gan.train",
        "real samples left on the CPU",
        """
        def train_gan(data, steps=600, batch_size=128, lr=2e-3, seed=0, device="cpu"):
            torch.manual_seed(seed)
            G, D = make_generator().to(device), make_discriminator().to(device)
            opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
            opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
            real_all = torch.as_tensor(np.asarray(data), dtype=torch.float32).reshape(-1, 1)
            losses = []
            for _ in range(steps):
                idx = torch.randint(0, real_all.shape[0], (batch_size,))
                z = torch.randn(batch_size, LATENT_DIM, device=device)
                losses.append(train_step(G, D, opt_g, opt_d, real_all[idx], z))
            return G, losses
    """,
        catches="train_gan stays on the given device",
    ),
    Mutant(
        "gan.train",
        "one noise batch drawn before the loop, reused every step",
        _train_gan(before=_Z, inside=_IDX),
        catches="train_gan draws fresh noise and real samples every step",
    ),
    Mutant(
        "gan.train",
        "one real batch drawn before the loop, reused every step",
        _train_gan(before=_IDX, inside=_Z),
        catches="train_gan draws fresh noise and real samples every step",
    ),
    Mutant(
        "gan.train",
        "uniform noise torch.rand instead of torch.randn",
        _train_gan(inside=f"{_IDX}; {_Z}".replace("torch.randn", "torch.rand")),
        catches="train_gan draws fresh noise and real samples every step",
    ),
    Mutant(
        "gan.train",
        "optimizers re-created every step",
        _train_gan(optimizers="pass", inside=f"{_IDX}; {_Z}; {_OPTIMIZERS}"),
        catches="train_gan keeps one Adam per network",
    ),
    Mutant(
        "gan.train",
        "G's optimizer holds only its first layer",
        _train_gan(optimizers=_OPTIMIZERS.replace("Adam(G.parameters()", "Adam(list(G.parameters())[:2]")),
        catches="train_gan keeps one Adam per network",
    ),
    Mutant(
        "gan.train",
        "Adam's default betas",
        _train_gan(optimizers=_OPTIMIZERS.replace(", betas=(0.5, 0.999)", "")),
        catches="train_gan keeps one Adam per network",
    ),
]
