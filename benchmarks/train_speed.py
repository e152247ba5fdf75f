#!/usr/bin/env python
"""Training throughput per architecture, through the library's own path. Prints figures; asserts nothing.

For each architecture (the course's `create_model` names: the small 'cnn', 'resnet50', 'vgg16', 'vit_tiny',
'efficientnet_lite0'; random weights) and each image size (64 and 224 px by default), on the CPU: `xray_dls` (the
course's DataLoaders: decode, squish-resize, chest-safe augmentation, normalisation; one channel for 'cnn' as the course
trains it, three for the ImageNet architectures) → `xray_learner` (fastai `Learner`, Adam, weighted cross-entropy off,
no mixed precision) → `learn.fit`, stopped after `--warmup` + `--batches` training batches (validation skipped). Only the
`--batches` after the warm-up are timed, data loading included (its share is reported: the time from the end of one
batch to the start of the next, i.e. waiting for the DataLoader), and so is the optimizer step's (fastai's Adam: with
few images per batch, a large model's per-step cost weighs). Figures: training images/s, and the ratio to the
small 'cnn' at the same size, measured in the same run; with each model's forward cost (GMACs per image, torch's
`FlopCounterMode`) and trainable parameters, which explain most of the ratios. `--repeats` interleaves whole rounds
(every size × arch) and keeps each configuration's best, so background load on a shared machine hits all of them alike.

Images: `--bs` × (`--warmup` + `--batches`) training rows of `kermany224/` (224 px Kaggle chest X-rays, a seeded
sample) when found (`find_data`), else the bundled PneumoniaMNIST (28 px, upsampled by the loader); `--source` picks.

    python benchmarks/train_speed.py [--archs cnn resnet50 vgg16 vit_tiny efficientnet_lite0] [--sizes 64 224]
                                     [--bs 16] [--batches 2] [--warmup 1] [--repeats 2] [--threads T]
                                     [--source auto|kermany|mnist] [--json PATH]
"""
import argparse, json, os, platform, time, warnings
warnings.filterwarnings('ignore', category=FutureWarning)
warnings.filterwarnings('ignore', category=UserWarning)
from pathlib import Path
import pandas as pd, torch
from torch.utils.flop_counter import FlopCounterMode
from fastai.callback.core import Callback, CancelFitException, CancelValidException

from xrayood.data import find_data, kaggle_manifest, load_manifest, medmnist_manifest
from xrayood.loaders import xray_dls
from xrayood.train import xray_learner, trainable_params

ARCHS = ['cnn', 'resnet50', 'vgg16', 'vit_tiny', 'efficientnet_lite0']

class BatchTimer(Callback):
    """Times `batches` training batches after `warmup` ones, and the part spent waiting for data; then stops the fit.
    `sync` (a clock that waits for the device) is read only at both ends of the timed span, so a GPU keeps its queue."""
    order = 100  # after every other callback's `after_batch`
    def __init__(self, warmup, batches, sync=time.perf_counter): self.warmup, self.batches, self.sync = warmup, batches, sync
    def before_fit(self): self.done, self.data_s, self.step_s, self.prev, self.t0 = 0, 0., 0., time.perf_counter(), None
    def before_batch(self):
        if self.done >= self.warmup: self.data_s += time.perf_counter() - self.prev  # the DataLoader produced this batch
    def before_step(self): self.t_step = time.perf_counter()
    def after_step(self):  # the optimizer's step (on a GPU: the time to queue it)
        if self.done >= self.warmup: self.step_s += time.perf_counter() - self.t_step
    def after_batch(self):
        if not self.training: return
        self.done += 1
        last = self.done == self.warmup + self.batches
        self.prev = self.sync() if self.done == self.warmup or last else time.perf_counter()
        if self.done == self.warmup: self.t0 = self.prev
        if last:
            self.seconds = self.prev - self.t0
            raise CancelFitException()
    def before_validate(self): raise CancelValidException()

def manifest(source, n, seed):
    "A manifest with `n` training rows (and a few validation rows, which `xray_dls` needs) and its description"
    km = find_data('kermany224') if source in ('auto', 'kermany') else None
    if km is not None:
        df = load_manifest(km/'manifest.csv') if (km/'manifest.csv').exists() else kaggle_manifest(km, verify=False)
        desc = f'kermany224 ({km}), 224 px JPEGs'
    elif source == 'kermany': raise SystemExit('No kermany224 folder found (find_data); use --source mnist')
    else: df, desc = medmnist_manifest(), 'PneumoniaMNIST (bundled, 28 px arrays)'
    tr = df[df.split == 'train']
    if len(tr) < n: raise SystemExit(f'{n} training images needed (bs × (warmup + batches)), {len(tr)} available')
    va = df[df.split.isin(['val', 'valid'])].head(8)
    return pd.concat([tr.sample(n, random_state=seed), va], ignore_index=True), desc

def measure(df, arch, size, a):
    "Images/s of `a.batches` training batches of `arch` at `size` px, and the share of that time spent waiting for data"
    channels = 1 if arch == 'cnn' else 3  # as the course trains them
    dls = xray_dls(df, size=size, channels=channels, bs=a.bs, seed=a.seed, device='cpu')
    learn = xray_learner(dls, arch, fp16=False)
    with torch.no_grad(), FlopCounterMode(display=False) as fc: learn.model.eval()(torch.zeros(1, channels, size, size))
    timer = BatchTimer(a.warmup, a.batches)
    with learn.no_bar(), learn.no_logging(): learn.fit(10, 1e-3, cbs=timer)
    n = a.batches * a.bs
    return dict(arch=arch, size=size, channels=channels, params_M=round(trainable_params(learn.model) / 1e6, 2),
                gmacs=round(fc.get_total_flops() / 2e9, 2),
                seconds=timer.seconds, ips=n / timer.seconds, data_share=timer.data_s / timer.seconds,
                step_share=timer.step_s / timer.seconds)

def main(a):
    if a.threads: torch.set_num_threads(a.threads)
    load = lambda: round(os.getloadavg()[0], 2) if hasattr(os, 'getloadavg') else None
    df, desc = manifest(a.source, a.bs * (a.warmup + a.batches), a.seed)
    print(f'{desc}; bs {a.bs}, {a.warmup} warm-up + {a.batches} timed batches per configuration, CPU, '
          f'torch {torch.__version__}, {torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs, '
          f'load average {load()}', flush=True)
    t_all, best = time.time(), {}
    for r in range(a.repeats):
        for size in a.sizes:
            for arch in a.archs:
                m = measure(df, arch, size, a)
                key = (arch, size)
                if key not in best or m['ips'] > best[key]['ips']: best[key] = m
                print(f'  round {r+1}: {arch:<18} {size:>3} px  {m["ips"]:8.1f} images/s  '
                      f'({m["seconds"]:.1f} s; data {m["data_share"]:.0%}, optimizer step {m["step_share"]:.0%})', flush=True)
    res = pd.DataFrame(best.values())
    ref = res[res.arch == 'cnn'].set_index('size').ips
    res['vs_cnn'] = res.apply(lambda r: r.ips / ref[r['size']] if r['size'] in ref else float('nan'), axis=1)
    print(f'\nTraining images/s on CPU ({torch.get_num_threads()} threads, {os.cpu_count()} cores, load average now '
          f'{load()}), bs {a.bs}, {a.batches} timed batches' + (f', best of {a.repeats} rounds' if a.repeats > 1 else '')
          + f'; whole run {time.time() - t_all:.0f} s')
    out = res.assign(ips=res.ips.round(1), seconds=res.seconds.round(2), data_share=(100*res.data_share).round(0),
                     step_share=(100*res.step_share).round(0), vs_cnn=res.vs_cnn.round(2))
    out = out.rename(columns={'gmacs': 'GMACs', 'ips': 'images/s', 'data_share': 'data %', 'step_share': 'opt step %', 'vs_cnn': 'x cnn'})
    print(out.to_string(index=False))
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(dict(
            rows=res.to_dict('records'), images=desc, bs=a.bs, batches=a.batches, warmup=a.warmup, repeats=a.repeats,
            torch=torch.__version__, torch_threads=torch.get_num_threads(), cpu_count=os.cpu_count(),
            python=platform.python_version(), load_avg_end=load()), indent=1))
        print(f'figures written to {a.json}')
    return res

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--archs', nargs='+', default=ARCHS, help="create_model names; 'cnn' is the reference of the ratios")
    ap.add_argument('--sizes', type=int, nargs='+', default=[64, 224])
    ap.add_argument('--bs', type=int, default=16)
    ap.add_argument('--batches', type=int, default=2, help='timed training batches per configuration')
    ap.add_argument('--warmup', type=int, default=1, help='untimed training batches first')
    ap.add_argument('--repeats', type=int, default=2, help='interleaved rounds; the best of each configuration is kept')
    ap.add_argument('--threads', type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument('--source', choices=['auto', 'kermany', 'mnist'], default='auto')
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--json', default=None, help='write the figures to this JSON file')
    main(ap.parse_args())
