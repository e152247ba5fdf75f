#!/usr/bin/env python
"""Classification quality benchmark: prints figures, asserts nothing.

`recipe` (default): the recipe of `xrayood train` on the Kermany images (`kermany224/`, found like the lessons find it,
or --kermany PATH), one rung per recipe change kept. Each rung trains EfficientNet-Lite0 from its offline ImageNet weights
(--size px, --epochs epochs, the CLI's batch size and learning rate) on `train` with a patient-grouped `valid`, and the same
model is measured side by side on
  valid     the patient-grouped validation split: the same collection as train
  valid@28  those images shrunk to 28 px: what resolution alone costs
  test@28   the official Kaggle test split (624 X-rays, collected apart from train) at 28 px: the bundled PneumoniaMNIST
            test arrays. The closest this repository has to the held-out test; 28 px and another collection at once
  val16     the 16 official val X-rays at full resolution
  shenzhen  11 normal adult X-rays from another hospital: how many are called NORMAL
Decisions are the model's own (the most probable class, as `xrayood predict` answers); ROC AUC is NORMAL against the rest.
With several seeds each figure is the median and range over them. Each run is saved to
benchmarks/results/quality/RUNG-seedN-SIZEpx-Eep.json, and the tables of all saved runs (one per size and number of epochs) are written to benchmarks/results/quality.md (the comparison lesson shows them).

`mnist`: a small CNN on the bundled PneumoniaMNIST (28 px), candidates selected on `val`, `test` reported.

    python benchmarks/quality.py [recipe|table|mnist] [--rungs baseline augment default 3class] [--seeds 42 ...] [--size 128] [--epochs 3]
"""
import argparse, json, time, warnings
warnings.filterwarnings('ignore', category=FutureWarning)
from pathlib import Path
import numpy as np, pandas as pd, sklearn.metrics as skm
from PIL import Image

from xrayood.data import medmnist_manifest, find_data, load_data, kaggle_manifest, read_xray
from xrayood.loaders import RunSpec, test_dl
from xrayood.train import train_spec, evaluate, preds
from xrayood.compare import run_config

RESULTS = Path(__file__).parent/'results'
# Each rung: (what changed, RunSpec settings). `default` is what `xrayood train` does on image folders.
RUNGS = {
    'baseline': ('the first recipe: oversampling, chest-safe affine and lighting augmentation', dict(gamma=1., degrade=0., label_smoothing=0.)),
    'augment':  ('+ a random gamma (1/1.5–1.5) and resolution degradation (half of the images shrunk to 28–80 px and back)', dict(label_smoothing=0.)),
    'default':  ('+ label smoothing 0.1: the default of `xrayood train`', dict()),
    '3class':   ('the default, NORMAL / BACTERIA / VIRUS', dict(task='3class')),
    '3class-sharp': ('3class without the resolution degradation (keeps the fine detail that might separate BACTERIA from VIRUS)', dict(task='3class', degrade=0.)),
    '3class-plain': ('3class without degradation and without label smoothing', dict(task='3class', degrade=0., label_smoothing=0.)),
    'lite1':    ('the default with EfficientNet-Lite1 (ImageNet weights, offline) instead of Lite0', dict(arch='efficientnet_lite1')),
}
CANDIDATES = [dict(arch='cnn', epochs=10, seed=42), dict(arch='cnn', epochs=10, seed=7), dict(arch='cnn', epochs=14, seed=42)]

def _binary(p, y, ni):
    "Accuracy, balanced accuracy and ROC AUC of NORMAL (index `ni`) against the rest, deciding by the most probable class"
    yy, pred = (y != ni).astype(int), (p.argmax(1) != ni).astype(int)
    return dict(accuracy=skm.accuracy_score(yy, pred), balanced_accuracy=skm.balanced_accuracy_score(yy, pred), roc_auc=skm.roc_auc_score(yy, 1 - p[:, ni]))

def _probs(learn, items, labels=True):
    dl = learn.dls.test_dl(items, with_labels=labels)
    p, y = preds(learn, dl)
    return p.numpy(), (y.numpy() if labels else None)

def measure(learn, km:Path, gate:bool=True):
    "The figures of one trained model on every evaluation set"
    df, vocab = learn.manifest, list(learn.dls.vocab)
    ni, va = vocab.index('NORMAL'), df[df.split == learn.spec.splits['valid']].reset_index(drop=True)
    r = dict(valid=evaluate(learn, learn.dls.valid))
    pv, yv = _probs(learn, va)                       # valid predicted once: the binary figures and the threshold lever below
    r['valid'].update({f'binary_{k}': v for k, v in _binary(pv, yv, ni).items()})
    small = va.assign(path=[read_xray(p).resize((28, 28), Image.BOX) for p in va.path])   # in memory: source data never written
    r['valid@28'] = _binary(*_probs(learn, small), ni)
    mn = medmnist_manifest(); te = mn[mn.split == 'test'].reset_index(drop=True)
    p, _ = _probs(learn, te, labels=False)
    r['test@28'] = _binary(p, np.where(te.label == 'NORMAL', ni, -1), ni)
    r['test@28']['normal_called_pneumonia'] = int(((p.argmax(1) != ni) & (te.label == 'NORMAL').values).sum())
    # the lever of the decision threshold: the one best for balanced accuracy on valid
    ths = np.unique(1 - pv[:, ni]); yb = (yv != ni).astype(int)
    th = ths[np.argmax([skm.balanced_accuracy_score(yb, (1 - pv[:, ni]) >= t) for t in ths])]
    yt, pt = (te.label != 'NORMAL').values.astype(int), (1 - p[:, ni]) >= th
    r['test@28'].update(valid_threshold=float(th), accuracy_at_valid_threshold=skm.accuracy_score(yt, pt),
                        balanced_accuracy_at_valid_threshold=skm.balanced_accuracy_score(yt, pt))
    val16 = km.parent/'kermany-val'
    if val16.exists(): r['val16'] = _binary(*_probs(learn, kaggle_manifest(val16).reset_index(drop=True)), ni)
    sz = sorted((km.parent/'shenzhen').glob('*.png'))
    if sz: r['shenzhen_normal'] = [int((_probs(learn, pd.DataFrame(dict(path=list(map(str, sz)))), labels=False)[0].argmax(1) == ni).sum()), len(sz)]
    if gate:   # the gate `xrayood train` saves with the model: the fraction of each set it refuses as out of classes
        from xrayood.gate import GatedPredictor
        tr = df[df.split == learn.spec.splits['train']]
        g = GatedPredictor(learn).fit(tr.sample(min(1000, len(tr)), random_state=learn.spec.seed), va, seed=learn.spec.seed)
        sets = dict(valid=va, **{'valid@28': small, 'test@28': te}, **({'val16': kaggle_manifest(val16)} if val16.exists() else {}), **({'shenzhen': sz} if sz else {}))
        r['refused'] = {k: float(g.predict(v).out_of_classes.mean()) for k, v in sets.items()}
    return r

def tables(res:dict) -> str:
    "One table per image size and number of epochs among the runs, the defaults (128 px, 3 epochs) first"
    keys = sorted({(r['size'], r['epochs']) for r in res.values()}, key=lambda k: (k != (128, 3), k))
    return '\n'.join(table(res, s, e) for s, e in keys)

def write_table():
    "quality.md: the tables of every run saved in benchmarks/results/quality/"
    res = {f.stem: json.loads(f.read_text()) for f in sorted((RESULTS/'quality').glob('*.json'))}
    (RESULTS/'quality.md').write_text(tables(res))
    print(f'\n{tables(res)}')

def recipe(km:Path, rungs, seeds, size, epochs, threads, gate=True, sample=None):
    import torch; torch.set_num_threads(threads)
    store = RESULTS/'quality'; store.mkdir(parents=True, exist_ok=True)   # one file per run: runs side by side never clash
    for rung in rungs:
        for seed in seeds:
            kw = dict(RUNGS[rung][1]); task = kw.pop('task', 'binary')
            spec = RunSpec(**dict(data=str(km), task=task, arch='efficientnet_lite0', pretrained=True, size=size, epochs=epochs, seed=seed, sample=sample) | kw)
            t0 = time.time()
            learn = train_spec(spec, load_data(km, seed=seed, task=task), progress=False, log=False)
            r = dict(rung=rung, seed=seed, size=size, epochs=epochs, train_seconds=round(time.time() - t0), spec={**learn.spec.to_dict(), 'data': km.name}, **measure(learn, km, gate))
            if sample is None: (store/f'{rung}-seed{seed}-{size}px-{epochs}ep.json').write_text(json.dumps(r, indent=1))   # a sampled run is a smoke test
            v, t = r['valid'], r['test@28']
            print(f"{rung:9s} seed {seed}: valid acc {v['accuracy']:.4f} bal {v['balanced_accuracy']:.4f} AUC {v['roc_auc']:.4f} | "
                  f"valid@28 AUC {r['valid@28']['roc_auc']:.4f} | test@28 acc {t['accuracy']:.4f} bal {t['balanced_accuracy']:.4f} "
                  f"AUC {t['roc_auc']:.4f} | val16 acc {r.get('val16', {}).get('accuracy', float('nan')):.3f} | "
                  f"shenzhen NORMAL {r.get('shenzhen_normal', ['-', '-'])[0]}/{r.get('shenzhen_normal', ['-', '-'])[1]} | "
                  f"gate refuses {', '.join(f'{k} {v:.1%}' for k, v in r.get('refused', {}).items())} | {r['train_seconds']} s", flush=True)
    write_table()

def _fig(vals, d=3):
    "One figure, or the median and range of several"
    vals = [v for v in vals if v is not None]
    if not vals: return '–'
    if len(vals) == 1: return f'{vals[0]:.{d}f}'
    return f'{np.median(vals):.{d}f} ({min(vals):.{d}f}–{max(vals):.{d}f})'

def table(res:dict, size:int, epochs:int) -> str:
    "Markdown table: one row per rung, median (range) over the seeds run"
    rows = ['| rung | what changed | seeds | valid acc | valid bal. acc | valid AUC | valid@28 AUC | test@28 acc | test@28 bal. acc | '
            'test@28 AUC | val16 acc | Shenzhen called NORMAL | gate refuses valid@28 | gate refuses test@28 |',
            '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for rung, (what, _) in RUNGS.items():
        rs = [r for k, r in res.items() if r['rung'] == rung and r['size'] == size and r['epochs'] == epochs]
        if not rs: continue
        g = lambda s, k: [r.get(s, {}).get(k) for r in rs]
        pct = lambda k: _fig([None if k not in r.get('refused', {}) else 100*r['refused'][k] for r in rs], 1) + ('%' if any(k in r.get('refused', {}) for r in rs) else '')
        sz = [r['shenzhen_normal'][0] for r in rs if 'shenzhen_normal' in r]
        rows.append(f"| {rung} | {what} | {len(rs)} | {_fig(g('valid', 'accuracy'))} | {_fig(g('valid', 'balanced_accuracy'))} | "
                    f"{_fig(g('valid', 'binary_roc_auc'))} | {_fig(g('valid@28', 'roc_auc'))} | {_fig(g('test@28', 'accuracy'))} | "
                    f"{_fig(g('test@28', 'balanced_accuracy'))} | {_fig(g('test@28', 'roc_auc'))} | {_fig(g('val16', 'accuracy'), 2)} | "
                    f"{(_fig(sz, 0) + '/' + str(rs[0]['shenzhen_normal'][1])) if sz else '–'} | {pct('valid@28')} | {pct('test@28')} |")
    return (f'EfficientNet-Lite0 (ImageNet weights) unless the rung says otherwise, {size} px, {epochs} epochs, trained on the Kermany train split (kermany224) with a '
            f'patient-grouped valid. Accuracy decides by the most probable class; AUC is NORMAL against the rest. The 3class row: '
            f'valid accuracy and balanced accuracy over the three classes, NORMAL against the rest everywhere else.\n\n'
            + '\n'.join(rows) + '\n')

def mnist():
    t0, df, rows = time.time(), load_data(), []
    for cfg in CANDIDATES:
        val, learn = run_config(df, cfg, learner=True)
        rows.append((val['roc_auc'], cfg, evaluate(learn, test_dl(learn.dls, df))))
        print(f"  candidate {cfg}: val AUC {val['roc_auc']:.4f}  (test, not used to select: acc {rows[-1][2]['accuracy']:.4f} auc {rows[-1][2]['roc_auc']:.4f})", flush=True)
    v, cfg, t = max(rows, key=lambda r: r[0])
    print(f"PneumoniaMNIST 28px, selected on val (AUC {v:.4f}): {cfg}")
    print(f"  test ACC {t['accuracy']:.4f}  AUC {t['roc_auc']:.4f}  balanced ACC {t['balanced_accuracy']:.4f}  "
          f"wall {time.time()-t0:.0f} s for {len(CANDIDATES)} candidates", flush=True)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('part', nargs='?', default='recipe', choices=['recipe', 'table', 'mnist'],
                    help='recipe: train and measure the rungs; table: rewrite quality.md from the saved runs; mnist: the small CNN')
    ap.add_argument('--rungs', nargs='+', default=['baseline', 'augment', 'default', '3class'], choices=list(RUNGS))
    ap.add_argument('--seeds', nargs='+', type=int, default=[42])
    ap.add_argument('--kermany', type=Path, default=None); ap.add_argument('--epochs', type=int, default=3); ap.add_argument('--size', type=int, default=128)
    ap.add_argument('--sample', type=int, default=None, help='train on this many images: a quick check of the script, not saved')
    ap.add_argument('--no-gate', action='store_true', help='skip fitting the OOD gate and measuring what it refuses')
    ap.add_argument('--threads', type=int, default=2, help='torch threads (two runs side by side on 2 cores: 1 each)')
    a = ap.parse_args()
    if a.part == 'mnist': mnist()
    elif a.part == 'table': write_table()
    else:
        km = a.kermany or find_data('kermany224')
        if km is None: raise SystemExit('No kermany224 folder found: pass --kermany PATH')
        recipe(Path(km), a.rungs, a.seeds, a.size, a.epochs, a.threads, not a.no_gate, a.sample)
