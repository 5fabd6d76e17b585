"""PyTorch peer of the categorical MNIST-VAE 10x30 training step, for the `efficiency` command of DiscreteGrad.Bench.

Same architecture as DiscreteGrad.Experiments.Vae.CategoricalVae: encoder 784-512-256-300 (ReLU) -> logits [B, 30, 10],
decoder 300-256-512-784 (ReLU) -> pixel logits; loss = mean_B(BCE summed over pixels + KL(q || uniform)); Adam 1e-3;
estimator ST (one-hot sample of softmax(theta), gradient of softmax(theta)) or STGS (Gumbel-max sample, gradient of
softmax(theta + g), tau = 1). A fixed batch x ~ U(0, 1) [B, 784] (timing does not depend on the pixel values).

Protocol (so the caller can interleave rounds with its own timing): after warm-up it prints "ready", then for each line
"N" read from stdin it runs N training steps and prints the elapsed wall and CPU seconds of the N steps
(time.perf_counter and time.process_time, the latter over all threads of the process); an empty line or EOF ends it.
Threads: --threads sets torch.set_num_threads; the caller also sets OPENBLAS_NUM_THREADS and OMP_NUM_THREADS in this
process's environment (they must be set before the BLAS library loads), and reads which BLAS it mapped from
/proc/PID/maps.
"""
import argparse
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class Vae(nn.Module):
    def __init__(self, latents=30, categories=10):
        super().__init__()
        self.latents, self.categories = latents, categories
        self.encoder = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                                     nn.Linear(256, latents * categories))
        self.decoder = nn.Sequential(nn.Linear(latents * categories, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(),
                                     nn.Linear(512, 784))


def sample(theta, estimator, generator):
    if estimator == "stgs":
        u = torch.rand(theta.shape, generator=generator).clamp_(1e-10, 1 - 1e-7)
        g = -torch.log(-torch.log(u))
        soft = torch.softmax(theta + g, -1)
        index = (theta + g).argmax(-1)
    else:  # st
        soft = torch.softmax(theta, -1)
        index = torch.multinomial(soft.detach().reshape(-1, theta.shape[-1]), 1, generator=generator).view(theta.shape[:-1])
    hard = F.one_hot(index, theta.shape[-1]).to(theta.dtype)
    return hard - soft.detach() + soft


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--estimator", choices=["st", "stgs"], default="stgs")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--warmup", type=int, default=20)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    model = Vae()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand((a.batch, 784), generator=gen)

    def step():
        theta = model.encoder(x).view(a.batch, model.latents, model.categories)
        z = sample(theta, a.estimator, gen)
        logits = model.decoder(z.view(a.batch, -1))
        bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
        q = torch.softmax(theta, -1)
        kl = (q * torch.log_softmax(theta, -1)).sum((-1, -2)) + model.latents * torch.log(torch.tensor(float(model.categories)))
        loss = (bce + kl).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    print(f"ready torch {torch.__version__} threads {torch.get_num_threads()}", flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            break
        n = int(line)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            step()
        print(f"{time.perf_counter() - t0:.6f} {time.process_time() - c0:.6f}", flush=True)


if __name__ == "__main__":
    main()
