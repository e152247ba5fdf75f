#!/usr/bin/env python
"""Feature-extraction benchmark: `xrayood.embed` against a bare timm loop, and its cache. Prints figures; asserts nothing.

Both sides decode the same image files and run the same model (EfficientNet-Lite0 with its offline ImageNet weights, or
`--arch`, eval mode) over the same batches:

- bare: what a user writes with timm alone — for each batch of paths: PIL open → gray → RGB → resize (bilinear, the same
  filter as `embed`'s squish) → `to_tensor` → `torch.stack` → ImageNet `normalize` → under `torch.inference_mode()`:
  `model.forward_head(model.forward_features(x), pre_logits=True)`;
- embed: `embed(model, paths, size=size, bs=bs, cache=False, progress=False)`.

One warm-up batch on each side, then `--repeats` interleaved timings (best and median reported); the two feature arrays
are compared (max abs diff). Throughput ratio embed/bare: goal >= 0.9x. Then, in a fresh temporary cache folder, a first
`embed(..., cache=folder)` (computes and writes) and a second one (reads): cached speed-up first/second, goal >= 20x.
Images: `--n` files from `kermany224/` (224 px Kaggle chest X-rays, a seeded sample) when found, else PneumoniaMNIST
`test` rows written as PNG files into a temporary folder (`--source` picks).

    python benchmarks/embed.py [--n 512] [--size 224] [--bs 64] [--threads T] [--repeats 1] [--arch efficientnet_lite0]
                               [--source auto|kermany|mnist] [--device cpu|cuda] [--json PATH]
"""
import argparse, json, os, platform, statistics, tempfile, time, warnings
warnings.filterwarnings('ignore', category=FutureWarning)
from pathlib import Path
import numpy as np, torch
import torchvision.transforms.functional as TF
from PIL import Image

from xrayood.data import find_data, kaggle_manifest, load_manifest, medmnist_manifest, load_image
from xrayood.models import create_model
from xrayood.embed import embed, items_key, weights_key

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # ImageNet (fastai's `imagenet_stats`, which `embed` uses)

def image_paths(n, source, seed, tmp):
    "`n` image file paths and a description of where they come from"
    km = find_data('kermany224') if source in ('auto', 'kermany') else None
    if km is not None:
        df = load_manifest(km/'manifest.csv') if (km/'manifest.csv').exists() else kaggle_manifest(km, verify=False)
        paths = sorted(df.path.sample(min(n, len(df)), random_state=seed))
        return paths, f'kermany224 ({km}), {len(paths)} of {len(df)} files, seeded sample'
    if source == 'kermany': raise SystemExit('No kermany224 folder found (find_data); use --source mnist')
    df = medmnist_manifest()
    rows = df[df.split == 'test'].head(n)
    folder = Path(tmp)/'mnist_png'; folder.mkdir()
    paths = []
    for _, r in rows.iterrows():
        p = folder/f"{r['split']}_{int(r['idx']):05d}.png"
        load_image(r).save(p); paths.append(str(p))
    return paths, f'PneumoniaMNIST test rows written as {len(paths)} PNG files (28 px) in a temp folder'

def load_rgb(path, size):
    "The bare loop's preprocessing of one file: gray, 3 channels, bilinear resize"
    with Image.open(path) as im:
        return im.convert('L').convert('RGB').resize((size, size), Image.BILINEAR)

def bare(model, paths, size, bs, device):
    "Pooled pre-logit features of `paths` with timm and torchvision only"
    out = []
    for i in range(0, len(paths), bs):
        x = torch.stack([TF.to_tensor(load_rgb(p, size)) for p in paths[i:i+bs]])
        x = TF.normalize(x, MEAN, STD).to(device)
        with torch.inference_mode(): out.append(model.forward_head(model.forward_features(x), pre_logits=True).float().cpu())
    return torch.cat(out).numpy()

def timed(f, *args, **kwargs):
    if torch.cuda.is_available(): torch.cuda.synchronize()
    t0 = time.perf_counter(); r = f(*args, **kwargs)
    if torch.cuda.is_available(): torch.cuda.synchronize()
    return time.perf_counter() - t0, r

def parts(model, paths, size, bs, device):
    "Seconds the bare loop spends decoding/preprocessing, and running the model on ready batches"
    t_dec, xs = timed(lambda: [TF.normalize(torch.stack([TF.to_tensor(load_rgb(p, size)) for p in paths[i:i+bs]]), MEAN, STD)
                               for i in range(0, len(paths), bs)])
    def fwd():
        with torch.inference_mode():
            for x in xs: model.forward_head(model.forward_features(x.to(device)), pre_logits=True).cpu()
    t_fwd, _ = timed(fwd)
    return t_dec, t_fwd

def main(a):
    if a.threads: torch.set_num_threads(a.threads)
    device = torch.device(a.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    pretrained = a.arch == 'efficientnet_lite0' or a.pretrained
    model = create_model(a.arch, n_out=0, pretrained=pretrained).eval().to(device)
    res = dict(arch=a.arch, pretrained=pretrained, n=None, size=a.size, bs=a.bs, repeats=a.repeats, device=str(device),
               torch_threads=torch.get_num_threads(), cpu_count=os.cpu_count(), torch=torch.__version__,
               python=platform.python_version(), load_avg=round(os.getloadavg()[0], 1) if hasattr(os, 'getloadavg') else None)
    with tempfile.TemporaryDirectory() as tmp:
        paths, desc = image_paths(a.n, a.source, a.seed, tmp)
        res.update(n=len(paths), images=desc)
        print(f'{a.arch} ({"ImageNet weights" if pretrained else "random weights"}), {desc}; size {a.size}, bs {a.bs}, '
              f'device {device}, torch {torch.__version__}, {torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs, '
              f'load average {res["load_avg"]}', flush=True)

        # warm-up: one batch each side
        bare(model, paths[:a.bs], a.size, a.bs, device)
        embed(model, paths[:a.bs], size=a.size, bs=a.bs, cache=False, progress=False)

        tb, te = [], []
        for r in range(a.repeats):  # interleaved, so both sides see the same background load
            t, fb = timed(bare, model, paths, a.size, a.bs, device); tb.append(t)
            t, fe = timed(embed, model, paths, size=a.size, bs=a.bs, cache=False, progress=False); te.append(t)
            print(f'  repeat {r+1}: bare {tb[-1]:.2f} s, embed {te[-1]:.2f} s', flush=True)
        diff = float(np.abs(fb - fe).max())
        rel = diff / float(np.abs(fb).max())
        n = len(paths)
        res.update(bare_s=tb, embed_s=te, bare_ips_best=n/min(tb), embed_ips_best=n/min(te),
                   bare_ips_median=n/statistics.median(tb), embed_ips_median=n/statistics.median(te),
                   ratio_best=min(tb)/min(te), ratio_median=statistics.median(tb)/statistics.median(te),
                   feature_dim=int(fb.shape[1]), max_abs_diff=diff, max_rel_diff=rel)

        if not a.no_parts:
            t_dec, t_fwd = parts(model, paths, a.size, a.bs, device)
            res.update(bare_decode_s=t_dec, forward_s=t_fwd)

        # cache: fresh folder, first call computes and writes, second reads
        cache = Path(tmp)/'cache'
        t1, f1 = timed(embed, model, paths, size=a.size, bs=a.bs, cache=cache, progress=False)
        t2, f2 = timed(embed, model, paths, size=a.size, bs=a.bs, cache=cache, progress=False)
        tk_items, _ = timed(items_key, paths)
        tk_weights, _ = timed(weights_key, model)
        res.update(cache_first_s=t1, cache_second_s=t2, cache_speedup=t1/t2, cache_identical=bool(np.array_equal(f1, f2)),
                   items_key_s=tk_items, weights_key_s=tk_weights,
                   cache_bytes=sum(p.stat().st_size for p in cache.rglob('*.npz')))

    best = 'best' if a.repeats > 1 else 'one run'
    rows = [('images/s, bare timm loop', f"{res['bare_ips_best']:.1f}", best),
            ('images/s, embed(cache=False)', f"{res['embed_ips_best']:.1f}", best),
            ('throughput ratio embed/bare', f"{res['ratio_best']:.2f}x", 'goal >= 0.9x'
                + (f"; median {res['ratio_median']:.2f}x" if a.repeats > 1 else '')),
            ('max |bare - embed| features', f"{diff:.2e}", f'relative {rel:.1e}, d={res["feature_dim"]}'),
            ('cache: first call (compute+write)', f"{t1:.2f} s", ''),
            ('cache: second call (read)', f"{t2:.3f} s", f"keys: items {tk_items*1e3:.0f} ms, weights {tk_weights*1e3:.0f} ms"),
            ('cached re-run speed-up', f"{res['cache_speedup']:.0f}x", 'goal >= 20x; same array: ' + str(res['cache_identical']))]
    if 'forward_s' in res:
        rows[2:2] = [('  bare: decode+preprocess only', f"{res['bare_decode_s']:.2f} s", f"{n/res['bare_decode_s']:.0f} images/s"),
                     ('  bare: model forward only', f"{res['forward_s']:.2f} s", f"{n/res['forward_s']:.1f} images/s")]
    w = max(len(r[0]) for r in rows)
    print(f"\nFeature extraction, n={n}, {a.size} px, bs {a.bs}, {res['torch_threads']} torch threads, {device}")
    for k, v, note in rows: print(f'  {k:<{w}}  {v:>9}  {note}')
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(res, indent=1))
        print(f'figures written to {a.json}')
    return res

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=512, help='number of images')
    ap.add_argument('--size', type=int, default=224); ap.add_argument('--bs', type=int, default=64)
    ap.add_argument('--threads', type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument('--repeats', type=int, default=1, help='interleaved timings of each side; best and median reported')
    ap.add_argument('--arch', default='efficientnet_lite0', help='xrayood name or timm name (random weights unless --pretrained)')
    ap.add_argument('--pretrained', action='store_true', help='hub weights for --arch (needs them cached or internet)')
    ap.add_argument('--source', choices=['auto', 'kermany', 'mnist'], default='auto')
    ap.add_argument('--seed', type=int, default=42, help='seed of the kermany224 sample')
    ap.add_argument('--device', default=None, help='default: cuda if available, else cpu')
    ap.add_argument('--no-parts', action='store_true', help='skip the decode-only / forward-only breakdown of the bare loop')
    ap.add_argument('--json', default=None, help='write the figures to this JSON file')
    main(ap.parse_args())
