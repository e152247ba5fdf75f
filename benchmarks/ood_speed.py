"""Fit + score time of every feature-based OOD detector, from 1,000 to 100,000 items of 1280 features (EfficientNet-Lite0's
embedding size), on this machine. Goal: fit plus score of 100,000 × 1280 in ≤ 2 s on CPU for each detector.

    python benchmarks/ood_speed.py                      # 1k, 10k, 100k; one line per detector and size
    python benchmarks/ood_speed.py --sizes 1000 100000 --json out/ood_speed.json

Figures are wall-clock seconds measured in this one run (features are random non-negative vectors; the cost of these
detectors does not depend on the values). The last column is the ratio to the 1,000-item time: linear scaling gives 100×.
"""
import argparse, json, os, platform, time
import numpy as np, pandas as pd, torch
from xrayood.ood import CosineSim, Discriminator, MSP, Energy, Mahalanobis, MahalanobisPP, KNN, ViM, speed

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--sizes', type=int, nargs='+', default=[1_000, 10_000, 100_000])
    p.add_argument('--dim', type=int, default=1280)
    p.add_argument('--outliers', type=int, default=10_000, help='outlier features for the Discriminator')
    p.add_argument('--json', default=None)
    a = p.parse_args()
    rng = np.random.default_rng(1)
    outl = np.maximum(rng.standard_normal((a.outliers, a.dim), dtype=np.float32) + 0.5, 0)
    make = {'CosineSim': CosineSim, 'Discriminator': Discriminator, 'MSP': MSP, 'Energy': Energy,
            'Mahalanobis': Mahalanobis, 'Mahalanobis++': MahalanobisPP, 'KNN': KNN, 'ViM': ViM}
    speed(KNN(), n=2000, d=a.dim)  # warm-up (BLAS, LAPACK, torch)
    rows = [speed(f(), n=n, d=a.dim) for n in a.sizes for f in make.values()]
    df = pd.DataFrame(rows)
    df['vs_first'] = df.total_s / df.groupby('detector').total_s.transform('first')
    print(f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}')
    print(df.round(3).to_string(index=False))
    big = df[df.n == max(a.sizes)]
    print(f'\nat n = {max(a.sizes):,}: slowest {big.total_s.max():.2f} s ({big.loc[big.total_s.idxmax(), "detector"]}); '
          f'goal ≤ 2 s: {"met" if big.total_s.max() <= 2 else "NOT met"}')
    if a.json: os.makedirs(os.path.dirname(a.json) or '.', exist_ok=True); df.to_json(a.json, orient='records', indent=1)

if __name__ == '__main__': main()
