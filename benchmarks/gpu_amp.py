#!/usr/bin/env python
"""Training throughput: fastai with mixed precision and channels-last against a plain PyTorch loop. Prints figures; asserts nothing.

The same model (`create_model(--arch)`, random weights, one initialisation copied to every variant) is trained on the
same batches (one seeded draw, with replacement, from `--n-images` X-rays decoded once, resized to `--size` and
normalised with ImageNet statistics, held as tensors on the device — so the figure is the training step and the loop
around it, not JPEG decoding, which `train_speed.py` includes). Variants:

- plain: a plain PyTorch loop, fp32 — `model(x)`, `nn.CrossEntropyLoss`, `backward()`, `torch.optim.AdamW` (fastai
  Adam's hyper-parameters: lr 1e-3, betas (0.9, 0.99), eps 1e-5, decoupled weight decay 0.01), `zero_grad()`;
  no per-batch `loss.item()` (no synchronisation inside the timed span);
- plain_amp_cl: the same loop with `torch.autocast(float16)` + `GradScaler` and model and inputs in
  `torch.channels_last` (what the fastai variant does, written by hand: it separates fastai from AMP);
- fastai: a fastai `Learner` (its own Adam, the same hyper-parameters; `CrossEntropyLossFlat`; the default callbacks,
  progress bar off) fitting over the same batches, fp32. Its `Recorder` copies the smoothed loss to the CPU after every
  batch (`AvgSmoothLoss` → `to_detach`): on a GPU, one synchronisation per batch that the plain loop does not make;
- fastai_torchopt: the same with `torch.optim.AdamW` wrapped in fastai's `OptimWrapper` (separates fastai's optimizer);
- fastai_amp: the `Learner` + `learn.to_fp16()` only (separates mixed precision from channels-last);
- fastai_amp_cl: the `Learner` + `learn.to_fp16()` (fastai's `MixedPrecision`: autocast float16 + `GradScaler`) +
  fastai's `ChannelsLast` callback (which puts the model, not the inputs, in channels-last; cuDNN then runs the
  convolutions channels-last). This is what `xray_learner` gives on a GPU (it calls `to_fp16()` there), plus
  channels-last.

Headline on a GPU: images/s of fastai_amp_cl / plain. fp32 means PyTorch's defaults (`cudnn.allow_tf32` is on, so
convolutions may use TF32 on Ampere and later GPUs; `cudnn.benchmark` is turned on for every variant). fastai's `MixedPrecision` is CUDA-only (`autocast('cuda')`), so
without a GPU the script says so in one line and runs the CPU comparison that still makes sense — plain vs fastai vs
fastai_torchopt, all fp32: fastai's overhead ratio (`--variants` picks; the amp ones need CUDA). Each variant trains
`--warmup` untimed batches, then `--batches` timed ones (CUDA synchronised at both ends of the timed span only);
`--repeats` interleaved rounds, best kept.
Defaults: resnet50; on a GPU 224 px, bs 64, 10 + 50 batches, 3 rounds; on CPU 64 px, bs 16, 1 + 3 batches, 5 rounds (a
shared CPU's load comes and goes: the best of many short rounds is the steadiest figure).

    python benchmarks/gpu_amp.py [--arch resnet50] [--size PX] [--channels 3] [--bs N] [--batches N] [--warmup N]
                                 [--repeats N] [--variants ...] [--n-images 256] [--device cuda|cpu]
                                 [--source auto|kermany|mnist] [--threads T] [--json PATH]
"""
import argparse, copy, json, os, platform, sys, time, warnings
warnings.filterwarnings('ignore', category=FutureWarning)
warnings.filterwarnings('ignore', category=UserWarning)
from functools import partial
from pathlib import Path
import numpy as np, pandas as pd, torch
from torch import nn
import torchvision.transforms.functional as TF
from fastai.learner import Learner
from fastai.data.core import DataLoaders
from fastai.optimizer import Adam, OptimWrapper
from fastai.losses import CrossEntropyLossFlat
from fastai.callback.fp16 import MixedPrecision  # noqa: F401 (patches `Learner.to_fp16`)
from fastai.callback.channelslast import ChannelsLast

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import BatchTimer, manifest  # noqa: E402
from xrayood.data import load_image, LABELS
from xrayood.models import create_model

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # ImageNet (fastai's `imagenet_stats`)
GPU_VARIANTS = ['plain', 'plain_amp_cl', 'fastai', 'fastai_torchopt', 'fastai_amp', 'fastai_amp_cl']
CPU_VARIANTS = ['plain', 'fastai', 'fastai_torchopt']
HYPERS = dict(lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01)  # fastai's Adam defaults, for torch's AdamW

def images(df, size, channels):
    "Every row of `df` decoded, squish-resized (bilinear) to `size`, normalised: float tensor (n, channels, size, size)"
    mean, std = (MEAN, STD) if channels == 3 else ([0.449], [0.226])  # as `xray_tfms` picks them
    xs = [TF.to_tensor(load_image(r).resize((size, size), 2)) for _, r in df.iterrows()]  # 2: PIL bilinear
    x = torch.stack(xs).expand(-1, channels, -1, -1).contiguous()
    return TF.normalize(x, mean, std), torch.tensor([LABELS.index(l) for l in df.label])

class Batches:
    "`n` batches of `bs` drawn (seeded, with replacement) from tensors `x`, `y`: a loader both loops and fastai can use"
    def __init__(self, x, y, bs, n, seed):
        self.x, self.y, self.bs, self.n = x, y, bs, n
        g = torch.Generator().manual_seed(seed)
        self.idx = torch.randint(len(x), (n, bs), generator=g).to(x.device)
        self.device = x.device
    def __len__(self): return self.n
    def __iter__(self): return ((self.x[i], self.y[i]) for i in self.idx)
    def to(self, device): self.device = device; return self  # fastai's `DataLoaders(device=)` calls it

def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize(device)
    return time.perf_counter()

def plain(model, batches, warmup, device, amp=False, cl=False):
    "Seconds of the batches after `warmup`, with a hand-written training loop"
    mf = torch.channels_last if cl else torch.contiguous_format
    model = model.to(device, memory_format=mf).train()
    opt = torch.optim.AdamW(model.parameters(), **HYPERS)
    loss_fn = nn.CrossEntropyLoss()
    scaler = torch.amp.GradScaler('cuda', enabled=amp)
    t0 = sync(device)
    for i, (x, y) in enumerate(batches):
        if i == warmup: t0 = sync(device)
        x = x.to(device, memory_format=mf, non_blocking=True); y = y.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
            loss = loss_fn(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt); scaler.update()
        opt.zero_grad()
    t1 = sync(device)
    return t1 - t0

def fastai(model, batches, warmup, device, amp=False, cl=False, torchopt=False):
    "Seconds of the batches after `warmup`, with a fastai `Learner`"
    dls = DataLoaders(batches, batches, device=device)  # the second is never used: validation is cancelled
    opt_func = partial(OptimWrapper, opt=partial(torch.optim.AdamW, **HYPERS)) if torchopt else Adam
    learn = Learner(dls, model.to(device), loss_func=CrossEntropyLossFlat(), opt_func=opt_func, lr=1e-3, wd=0.01)
    if amp: learn.to_fp16()
    if cl: learn.add_cb(ChannelsLast())
    timer = BatchTimer(warmup, len(batches) - warmup, sync=lambda: sync(device))
    with learn.no_bar(), learn.no_logging(): learn.fit(1, cbs=timer)
    return timer.seconds

RUN = dict(plain=lambda m, b, w, d: plain(m, b, w, d),
           plain_amp_cl=lambda m, b, w, d: plain(m, b, w, d, amp=True, cl=True),
           fastai=lambda m, b, w, d: fastai(m, b, w, d),
           fastai_torchopt=lambda m, b, w, d: fastai(m, b, w, d, torchopt=True),
           fastai_amp=lambda m, b, w, d: fastai(m, b, w, d, amp=True),
           fastai_amp_cl=lambda m, b, w, d: fastai(m, b, w, d, amp=True, cl=True))

def main(a):
    cuda = torch.cuda.is_available()
    device = torch.device(a.device or ('cuda' if cuda else 'cpu'))
    if device.type == 'cuda' and not cuda: raise SystemExit('--device cuda, but torch sees no CUDA device')
    gpu = device.type == 'cuda'
    if not gpu:
        print('GPU figure not measured: no CUDA device here. On a GPU this script measures training images/s of fastai '
              '(Learner + to_fp16 + ChannelsLast) against a plain PyTorch fp32 loop (run: python benchmarks/gpu_amp.py on '
              'a machine with CUDA). Measuring the CPU comparison instead: fastai fp32 against a plain PyTorch fp32 loop.',
              flush=True)
    d = dict(size=224, bs=64, batches=50, warmup=10, repeats=3) if gpu else dict(size=64, bs=16, batches=3, warmup=1, repeats=5)
    for k, v in d.items():
        if getattr(a, k) is None: setattr(a, k, v)
    variants = a.variants or (GPU_VARIANTS if gpu else CPU_VARIANTS)
    bad = [v for v in variants if v not in RUN or (not gpu and 'amp' in v)]
    if bad: raise SystemExit(f'unknown variants {bad}' + ('' if gpu else ' (the amp ones need a GPU)') + f'; choose from {list(RUN)}')
    if a.threads: torch.set_num_threads(a.threads)
    if gpu: torch.backends.cudnn.benchmark = True

    df, desc = manifest(a.source, a.n_images, a.seed)
    df = df[df.split == 'train']
    x, y = images(df, a.size, a.channels)
    x, y = x.to(device), y.to(device)
    torch.manual_seed(a.seed)
    base = create_model(a.arch, n_out=2, n_in=a.channels, size=a.size)
    hw = torch.cuda.get_device_name(device) if gpu else f'CPU, {torch.get_num_threads()} torch threads, {os.cpu_count()} cores'
    load = lambda: round(os.getloadavg()[0], 2) if hasattr(os, 'getloadavg') else None
    print(f'{a.arch}, {a.size} px, {a.channels} channel(s), bs {a.bs}, {a.warmup} warm-up + {a.batches} timed batches, '
          f'{a.repeats} interleaved round(s); {len(df)} images in memory from {desc}; {hw}; torch {torch.__version__}; '
          f'load average {load()}', flush=True)

    best = {}
    for r in range(a.repeats):
        for v in variants:
            batches = Batches(x, y, a.bs, a.warmup + a.batches, a.seed)
            secs = RUN[v](copy.deepcopy(base), batches, a.warmup, device)
            ips = a.batches * a.bs / secs
            best[v] = max(best.get(v, 0), ips)
            print(f'  round {r+1}: {v:<16} {ips:9.1f} images/s  ({secs:.2f} s)', flush=True)
            if gpu: torch.cuda.empty_cache()

    res = pd.DataFrame(dict(variant=list(best), ips=list(best.values())))
    res['vs_plain'] = res.ips / best['plain'] if 'plain' in best else np.nan
    print(f'\nTraining images/s, {a.arch} {a.size} px bs {a.bs}, {hw}' + (f', best of {a.repeats} rounds' if a.repeats > 1 else '')
          + f'; load average now {load()}')
    print(res.assign(ips=res.ips.round(1), vs_plain=res.vs_plain.round(2))
             .rename(columns={'ips': 'images/s', 'vs_plain': 'x plain'}).to_string(index=False))
    head = 'fastai_amp_cl' if gpu else 'fastai'
    if head in best and 'plain' in best:
        print(f"\n{'fastai + to_fp16 + ChannelsLast' if gpu else 'fastai fp32 (CPU)'} / plain PyTorch fp32: "
              f"{best[head] / best['plain']:.2f}x")
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(dict(
            rows=res.to_dict('records'), headline=head, arch=a.arch, size=a.size, channels=a.channels, bs=a.bs,
            batches=a.batches, warmup=a.warmup, repeats=a.repeats, device=str(device), hardware=hw, images=desc,
            n_images=len(df), torch=torch.__version__, python=platform.python_version(), load_avg_end=load()), indent=1))
        print(f'figures written to {a.json}')
    return res

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--arch', default='resnet50', help='create_model name')
    ap.add_argument('--size', type=int, default=None, help='default: 224 on a GPU, 64 on CPU')
    ap.add_argument('--channels', type=int, default=3, choices=[1, 3])
    ap.add_argument('--bs', type=int, default=None, help='default: 64 on a GPU, 16 on CPU')
    ap.add_argument('--batches', type=int, default=None, help='timed batches per variant (default: 50 GPU, 3 CPU)')
    ap.add_argument('--warmup', type=int, default=None, help='untimed batches first (default: 10 GPU, 1 CPU)')
    ap.add_argument('--repeats', type=int, default=None, help='interleaved rounds, best kept (default: 3 GPU, 5 CPU)')
    ap.add_argument('--variants', nargs='+', default=None, help=f'from {list(RUN)}')
    ap.add_argument('--n-images', type=int, default=256, help='distinct images held in memory')
    ap.add_argument('--device', default=None, help='default: cuda if available, else cpu')
    ap.add_argument('--source', choices=['auto', 'kermany', 'mnist'], default='auto')
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--threads', type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument('--json', default=None, help='write the figures to this JSON file')
    main(ap.parse_args())
