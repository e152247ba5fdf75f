#!/usr/bin/env python
"""Classification quality benchmark. Prints figures; asserts nothing.

1. PneumoniaMNIST (bundled, 28 px, 2 CPU cores): a few configurations are trained on `train`, the best is selected on
   `val` ROC AUC, and its `test` accuracy and ROC AUC are reported with the wall time of the whole selection.
2. Kermany / Kaggle chest X-rays (`kermany224/`, found like the lessons find it, or --kermany PATH): EfficientNet-Lite0
   with its offline ImageNet weights, fine-tuned (full, discriminative learning rates) at 96 px, binary and 3-class, on a patient-grouped validation split
   of `train`: accuracy, ROC AUC, and recall of PNEUMONIA at precision >= 0.90 (threshold chosen on that split).

    python benchmarks/quality.py [--skip-mnist] [--skip-kermany] [--kermany PATH] [--epochs N] [--size PX]
"""
import argparse, json, time, warnings
warnings.filterwarnings('ignore', category=FutureWarning)
from pathlib import Path
import numpy as np

from xrayood.data import medmnist_manifest, find_data, load_manifest, kaggle_manifest, patient_split
from xrayood.loaders import xray_dls, test_dl
from xrayood.train import xray_learner, fit_best, evaluate, set_strategy
from xrayood.compare import run_config
from xrayood.evaluate import predict_dl, operating_point

CANDIDATES = [dict(arch='cnn', epochs=10, seed=42), dict(arch='cnn', epochs=10, seed=7), dict(arch='cnn', epochs=14, seed=42)]

def mnist():
    t0, df, rows = time.time(), medmnist_manifest(), []
    for cfg in CANDIDATES:
        val, learn = run_config(df, cfg, learner=True)
        rows.append((val['roc_auc'], cfg, evaluate(learn, test_dl(learn.dls, df))))
        print(f"  candidate {cfg}: val AUC {val['roc_auc']:.4f}  (test, not used to select: acc {rows[-1][2]['accuracy']:.4f} auc {rows[-1][2]['roc_auc']:.4f})", flush=True)
    v, cfg, t = max(rows, key=lambda r: r[0])
    print(f"PneumoniaMNIST 28px, selected on val (AUC {v:.4f}): {cfg}")
    print(f"  test ACC {t['accuracy']:.4f}  AUC {t['roc_auc']:.4f}  balanced ACC {t['balanced_accuracy']:.4f}  "
          f"wall {time.time()-t0:.0f} s for {len(CANDIDATES)} candidates", flush=True)

def kermany(path, epochs, size):
    km = patient_split(load_manifest(path/'manifest.csv') if (path/'manifest.csv').exists() else kaggle_manifest(path))
    for task in ('binary', '3class'):
        t0 = time.time()
        dls = xray_dls(km, task=task, size=size, presize=round(size*1.15), channels=3, bs=32, oversample=True, stats=([0.5]*3, [0.5]*3))
        learn = xray_learner(dls, 'efficientnet_lite0', pretrained=True)
        with learn.no_bar(), learn.no_logging(): fit_best(learn, epochs, set_strategy(learn, 'full', lr=2e-3))
        m = evaluate(learn, dls.valid)
        p, y = predict_dl(learn, dls.valid)
        normal = list(dls.vocab).index('NORMAL')
        op = operating_point((y != normal).astype(int), 1 - p[:, normal], 0.90)
        print(f"Kermany224 {task} (EfficientNet-Lite0 ImageNet, {size}px, {epochs} epochs, patient-grouped valid n={m['n']}): "
              f"ACC {m['accuracy']:.4f}  AUC {m['roc_auc']:.4f}  recall(PNEUMONIA) {op['recall']:.4f} at precision "
              f"{op['precision']:.4f} (>= 0.90)  wall {time.time()-t0:.0f} s", flush=True)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--skip-mnist', action='store_true'); ap.add_argument('--skip-kermany', action='store_true')
    ap.add_argument('--kermany', type=Path, default=None); ap.add_argument('--epochs', type=int, default=2); ap.add_argument('--size', type=int, default=96)
    a = ap.parse_args()
    if not a.skip_mnist: mnist()
    if not a.skip_kermany:
        path = a.kermany or find_data('kermany224')
        if path is None: print('Kermany: no kermany224 folder found (pass --kermany PATH); skipped')
        else: kermany(path, a.epochs, a.size)
