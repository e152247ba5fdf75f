#!/usr/bin/env python
"""Channels-last on the CPU: prints figures, asserts nothing.

`xray_learner` adds fastai's `ChannelsLast` callback, which puts the model's weights in channels-last layout before
training. On a GPU that is the layout cuDNN prefers under mixed precision; this script measures what it does on the
CPU, for the two models the course trains most: EfficientNet-Lite0 (ImageNet weights, 3 × 128 px, batch 64: the
Kaggle recipe of `xrayood train`) and the small CNN (1 × 28 px, batch 128: the demo). Each training step is a forward
pass, a backward pass and an Adam step on one fixed random batch; one warm-up step, then the mean of `--steps`, the
two layouts interleaved over `--rounds` rounds, the best round kept. The figure is the ratio of the two times, in one run.

    python benchmarks/channels_last.py [--steps 5] [--rounds 2] [--threads 2]
"""
import argparse, time, warnings
warnings.filterwarnings('ignore', category=FutureWarning)
import torch, torch.nn.functional as F
from xrayood.models import create_model

def step_time(model, x, y, steps):
    "Mean seconds of one training step, after one warm-up step"
    opt = torch.optim.Adam(model.parameters(), 1e-3); model.train()
    for i in range(steps + 1):
        if i == 1: t0 = time.perf_counter()
        F.cross_entropy(model(x), y).backward(); opt.step(); opt.zero_grad()
    return (time.perf_counter() - t0)/steps

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--steps', type=int, default=5); ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads); torch.manual_seed(0)
    for name, shape, kw in [('efficientnet_lite0', (64, 3, 128, 128), dict(pretrained=True)), ('cnn', (128, 1, 28, 28), dict(n_in=1))]:
        x, y = torch.randn(*shape), torch.randint(0, 2, (shape[0],))
        plain, cl = create_model(name, **kw), create_model(name, **kw).to(memory_format=torch.channels_last)
        t = {'plain': [], 'channels_last': []}
        for _ in range(a.rounds):
            t['plain'].append(step_time(plain, x, y, a.steps)); t['channels_last'].append(step_time(cl, x, y, a.steps))
        p, c = min(t['plain']), min(t['channels_last'])
        print(f'{name} {tuple(shape)}: {p:.3f} s/step contiguous, {c:.3f} s/step channels-last: {p/c:.2f}x faster '
              f'({torch.get_num_threads()} threads)', flush=True)
