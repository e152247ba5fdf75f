#!/usr/bin/env python
"""OOD benchmark: every detector of `xrayood.ood` on every OOD set of `xrayood.oodsets`. Prints figures; asserts nothing.

In-distribution: chest X-rays in three disjoint roles — fit (detectors and the linear probe behind MSP/energy), cal
(threshold at 95% TPR) and test — patient-grouped within `train` of the Kaggle (Kermany) X-rays (`kermany224/`, found
like the lessons find it, or --data PATH), or PneumoniaMNIST's train/val/test (--data mnist). Far OOD: photos and
drawings bundled in scikit-image, scikit-learn and matplotlib; half of the source pictures (per kind) are the
discriminator's outliers, the other half are tested. Near OOD: medical non-chest images (scikit-image, matplotlib,
pydicom) and the test X-rays inverted, rotated 90°, noised and cropped. Features: EfficientNet-Lite0 (ImageNet,
offline), cached by `xrayood.embed`. Everything runs through `xrayood.oodbench.run_benchmark`.

Full mode by default (128 px, 2000 fit / 400 cal / 500 test X-rays, 200 of them transformed 4 ways, 8 views per
picture); --fast runs the lesson's small configuration. Goals for the best detector: far-OOD AUROC >= 0.999 and
near-OOD AUROC >= 0.98 (pooled groups). --knobs also runs variants of the detectors that matter for near OOD on the
same (cached) features.

    python benchmarks/ood.py [--fast] [--data PATH|mnist] [--size PX] [--n-fit N] [--n-cal N] [--n-test N]
                             [--n-near N] [--per-image N] [--seed S] [--no-cache] [--knobs] [--json PATH]
"""
import argparse, json, platform, time, warnings
warnings.filterwarnings('ignore', category=FutureWarning)
warnings.filterwarnings('ignore', category=UserWarning)
import pandas as pd, torch

from xrayood.ood import Mahalanobis, MahalanobisPP, KNN, Discriminator, CosineSim, ViM
from xrayood.oodbench import run_benchmark, auroc_table, auroc_ci

pd.set_option('display.width', 200); pd.set_option('display.max_columns', 20)
FAR, NEAR = 0.999, 0.98

def knobs():
    "Variants of the detectors that can move the near-OOD AUROC"
    return {'Mahalanobis r32': Mahalanobis(rank=32), 'Mahalanobis r64': Mahalanobis(rank=64),
            'Mahalanobis r128': Mahalanobis(rank=128), 'Mahalanobis r256': Mahalanobis(rank=256),
            'Mahalanobis r512': Mahalanobis(rank=512), 'Mahalanobis full': Mahalanobis(rank=1280),
            'KNN k1': KNN(k=1), 'KNN k5': KNN(k=5), 'KNN k10': KNN(k=10), 'KNN k50': KNN(k=50),
            'KNN k10 bank 1024': KNN(k=10, max_ref=1024), 'KNN k10 dim1280': KNN(k=10, dim=1280),
            'discriminator C=0.1': Discriminator(C=0.1), 'discriminator C=1': Discriminator(),
            'cosine': CosineSim(), 'Mahalanobis++': MahalanobisPP(), 'ViM': ViM()}

def report(b, title):
    print(f'\n== {title}: {b.data}')
    print('   config:', {k: b.config[k] for k in ('model', 'size', 'n_fit', 'n_cal', 'n_test', 'n_near', 'per_image', 'seed')})
    print('   sizes:', b.xrays.role.value_counts().to_dict(), '| OOD test images:',
          b.ood[b.ood.role == 'test'].groupby('kind').size().to_dict(), '| outliers:', int((b.ood.role == 'outlier').sum()),
          f"from {b.ood.source[b.ood.role == 'outlier'].nunique()} source pictures")
    print('   times:', {k: round(v, 1) for k, v in b.times.items()}, '| linear probe on test X-rays:',
          {k: round(v, 4) for k, v in b.probe.items()})
    print('\nAUROC (higher is better)'); print(b.table.round(4).to_string())
    print('\nFPR at 95% TPR (lower is better)'); print(b.fpr95.round(3).to_string())
    acc = auroc_table(b.res, 'accepted')[['far/all', 'near/all']].assign(tpr_test=b.res.groupby('detector', sort=False).tpr_test.first())
    print('\nAt the threshold calibrated on the cal X-rays: share accepted'); print(acc.round(3).to_string())
    g = b.goals; best = g.index[0]
    print(f'\nGoals (far >= {FAR}, near >= {NEAR}, pooled):'); print(g.round(4).to_string())
    print(f"best detector: {best}  far {g.loc[best, 'far_auroc']:.4f} ({'met' if g.loc[best, 'far_ok'] else 'NOT met'})  "
          f"near {g.loc[best, 'near_auroc']:.4f} ({'met' if g.loc[best, 'near_ok'] else 'NOT met'})  -> goals "
          f"{'MET' if g.met.any() else 'NOT MET'} (detectors meeting both: {list(g.index[g.met]) or 'none'})", flush=True)
    s = b.scores[best]
    ci = {k: tuple(round(v, 4) for v in auroc_ci(s['test'], s['sets'][k])) for k in ('far/all', 'near/all')}
    print(f"   95% bootstrap intervals of {best}'s AUROC: far {ci['far/all']}  near {ci['near/all']}", flush=True)
    return ci

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--fast', action='store_true', help="the lesson's small configuration (the Kermany X-rays when found, else PneumoniaMNIST; 128 px, 400 fit X-rays)")
    ap.add_argument('--data', default=None, help="kermany224-like folder, or 'mnist' (default: kermany224 if found, else mnist)")
    for a in ('size', 'n-fit', 'n-cal', 'n-test', 'n-near', 'per-image'): ap.add_argument(f'--{a}', type=int, default=None)
    ap.add_argument('--seed', type=int, default=42); ap.add_argument('--no-cache', action='store_true')
    ap.add_argument('--knobs', action='store_true', help='also run detector variants on the same features')
    ap.add_argument('--json', default=None, help='write the long result tables here')
    a = ap.parse_args()
    kw = dict(data=a.data, size=a.size, n_fit=a.n_fit, n_cal=a.n_cal, n_test=a.n_test, n_near=a.n_near, per_image=a.per_image,
              full=not a.fast, seed=a.seed, cache=not a.no_cache)
    print(f'machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}', flush=True)
    t0 = time.time()
    b = run_benchmark(**kw)
    ci = report(b, 'default detectors')
    out = dict(config=b.config, data=b.data, times=b.times, probe=b.probe, results=b.res.to_dict('records'),
               goals=b.goals.reset_index().to_dict('records'), best=b.goals.index[0], best_ci=ci, goals_met=bool(b.goals.met.any()))
    if a.knobs:
        k = run_benchmark(**kw, detectors=knobs())
        print('\n== detector variants (same features, cached)'); print(k.goals.round(4).to_string())
        print(k.table.round(4).to_string())
        out['knobs'] = k.res.to_dict('records')
    print(f'\nwall time {time.time() - t0:.0f} s (embedding {b.times["embed_s"]:.0f} s; cached runs skip it)')
    if a.json:
        with open(a.json, 'w') as f: json.dump(out, f, indent=1, default=str)
        print('wrote', a.json)
