#!/usr/bin/env python
"""How much the demo's figures move with the seed: prints figures, asserts nothing.

Runs the demo's recipe (`xrayood.train.demo_spec`: the small CNN on the bundled PneumoniaMNIST, 10 epochs) once per
seed and prints each run's test accuracy, ROC AUC and balanced accuracy on the official test split (the Kaggle test
X-rays at 28 px), then the median and range. A seed fixes a run on one machine; another CPU or thread count moves the
last digits, so the README quotes the median and range, not one run.

    python benchmarks/seeds.py [--seeds 1 2 3 4 5] [--json PATH]
"""
import argparse, json, time, warnings
warnings.filterwarnings('ignore', category=FutureWarning)
from pathlib import Path
import numpy as np
from xrayood.data import load_data
from xrayood.loaders import test_dl
from xrayood.train import demo_spec, train_spec, evaluate

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', nargs='+', type=int, default=[1, 2, 3, 4, 5]); ap.add_argument('--json', type=Path, default=None)
    a = ap.parse_args()
    df, runs = load_data(), []
    for s in a.seeds:
        t0 = time.time()
        learn = train_spec(demo_spec(seed=s), df, progress=False, log=False)
        m = evaluate(learn, test_dl(learn.dls, df))
        runs.append(dict(seed=s, seconds=round(time.time() - t0), **{k: m[k] for k in ('accuracy', 'roc_auc', 'balanced_accuracy')}))
        print(f"seed {s}: test accuracy {m['accuracy']:.4f} · ROC AUC {m['roc_auc']:.4f} · balanced accuracy {m['balanced_accuracy']:.4f} ({runs[-1]['seconds']} s)", flush=True)
    fig = lambda k: f"{np.median([r[k] for r in runs]):.3f} (range {min(r[k] for r in runs):.3f}–{max(r[k] for r in runs):.3f})"
    print(f"demo over {len(runs)} seeds, median (range): test accuracy {fig('accuracy')} · ROC AUC {fig('roc_auc')} · "
          f"balanced accuracy {fig('balanced_accuracy')}")
    if a.json: a.json.write_text(json.dumps(runs, indent=1))
