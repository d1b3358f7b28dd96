"""Part 9 — generative adversarial networks (seed 2.2: "GAN: 能够生成逼真的图像和数据").

A generator G turns noise z into samples; a discriminator D gives a logit: "is this sample real?".
With σ the sigmoid and the logits l = D(x):

    discriminator:  L_D = −mean log σ(D(x_real)) − mean log(1 − σ(D(G(z))))
    generator:      L_G = −mean log σ(D(G(z)))          (the *non-saturating* loss)

The first two exercises use numpy logits; the last two use torch.  ``make_generator`` and
``make_discriminator`` are given: the grader loads your trained weights into exactly these.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LATENT_DIM = 4
HIDDEN = 32


def make_generator(latent_dim=LATENT_DIM, hidden=HIDDEN, out_dim=1):
    """Given: G(z), a small MLP from noise of size ``latent_dim`` to a sample of size ``out_dim``."""
    return nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, out_dim))


def make_discriminator(in_dim=1, hidden=HIDDEN):
    """Given: D(x), a small MLP from a sample to one logit per sample, shape (N, 1)."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                         nn.LeakyReLU(0.2), nn.Linear(hidden, 1))


def discriminator_loss(real_logits, fake_logits):
    """Exercise gan.losses — L_D = −mean log σ(r) − mean log(1 − σ(f)) for logits r = D(x), f = D(G(z)).

    real_logits: (N,), fake_logits: (M,), float64.  Returns (loss, d_real, d_fake) with
    d_real = ∂L_D/∂r = (σ(r) − 1)/N and d_fake = ∂L_D/∂f = σ(f)/M.  Stable for logits of ±1000:
    −log σ(r) = log(1 + e^(−r)) = np.logaddexp(0, −r).
    """
    ### BEGIN SOLUTION
    r = np.asarray(real_logits, dtype=np.float64)
    f = np.asarray(fake_logits, dtype=np.float64)
    loss = np.mean(np.logaddexp(0.0, -r)) + np.mean(np.logaddexp(0.0, f))
    d_real = -0.5 * (1.0 + np.tanh(-0.5 * r)) / r.size     # σ(r) − 1 = −σ(−r)
    d_fake = 0.5 * (1.0 + np.tanh(0.5 * f)) / f.size       # σ(f)
    return float(loss), d_real, d_fake
    ### END SOLUTION


def generator_loss(fake_logits):
    """Exercise gan.losses — the non-saturating generator loss L_G = −mean log σ(f), f = D(G(z)).

    Not the saturating minimax form mean log(1 − σ(f)), whose gradient vanishes while D still wins.
    fake_logits: (M,).  Returns (loss, d_fake) with d_fake = ∂L_G/∂f = (σ(f) − 1)/M.
    """
    ### BEGIN SOLUTION
    f = np.asarray(fake_logits, dtype=np.float64)
    loss = np.mean(np.logaddexp(0.0, -f))
    d_fake = -0.5 * (1.0 + np.tanh(-0.5 * f)) / f.size
    return float(loss), d_fake
    ### END SOLUTION


def train_step(G, D, opt_g, opt_d, real, z):
    """Exercise gan.step — one adversarial step in torch: first D, then G.

    1. D step: zero D's gradients; L_D on D(real) (label 1) and D(G(z)) (label 0) with G(z) *detached*;
       backward; opt_d.step().
    2. G step: zero G's gradients; L_G = non-saturating loss on D(G(z)) with label 1, using the D just
       updated; backward; opt_g.step().
    Use F.binary_cross_entropy_with_logits (mean over the batch).  Returns (d_loss, g_loss) as floats.
    """
    ### BEGIN SOLUTION
    opt_d.zero_grad()
    fake = G(z)
    real_logits, fake_logits = D(real), D(fake.detach())
    d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
              + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    d_loss.backward()
    opt_d.step()

    opt_g.zero_grad()
    fake_logits = D(fake)
    g_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()
    ### END SOLUTION


def train_gan(data, steps=600, batch_size=128, lr=2e-3, seed=0, device="cpu"):
    """Exercise gan.train — train a GAN on the samples ``data`` (a float array of shape (N, 1)).

    torch.manual_seed(seed); G = make_generator(), D = make_discriminator(), both on ``device``;
    Adam(lr, betas=(0.5, 0.999)) for each.  Every step: a random batch of real samples and noise
    z ~ N(0, I) of shape (batch_size, LATENT_DIM), *both on device*, then train_step.
    Returns (G, losses) where losses is a list of (d_loss, g_loss) per step.
    """
    ### BEGIN SOLUTION
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
    return G, losses
    ### END SOLUTION
