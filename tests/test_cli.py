"The `xrayood` command, run as a user runs it. The demo is the project's main job: it must meet its quality target."
import json, subprocess, sys, time
from pathlib import Path
from conftest import tree_digest

def xrayood(*args, **kw):
    return subprocess.run([sys.executable, '-m', 'xrayood.cli', *args], capture_output=True, text=True, **kw)

def test_help():
    r = xrayood('--help')
    assert r.returncode == 0 and 'demo' in r.stdout
    r = xrayood('demo', '--help')
    assert r.returncode == 0 and '--epochs' in r.stdout and '--out' in r.stdout

def test_bad_usage_exits_2_with_one_line(tmp_path):
    r = xrayood('demo', '--npz', str(tmp_path/'missing.npz'), '--out', str(tmp_path/'o'))
    assert r.returncode == 2
    assert r.stderr.strip().count('\n') == 0 and 'Traceback' not in r.stderr, r.stderr
    assert xrayood('nonsense').returncode == 2

def test_demo_meets_target(tmp_path):
    "`xrayood demo` on the bundled data: test ACC >= 0.88 and AUC >= 0.95, with its artefacts (about 2 min on 2 cores)"
    t0 = time.time()
    r = xrayood('demo', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((tmp_path/'metrics.json').read_text())
    print(f"demo: {time.time()-t0:.0f} s wall; test acc {m['test']['accuracy']:.4f} auc {m['test']['roc_auc']:.4f}")
    assert m['test']['n'] == 624 and m['valid']['n'] == 524
    assert m['test']['accuracy'] >= 0.88 and m['test']['roc_auc'] >= 0.95, m['test']
    assert (tmp_path/'confusion.png').stat().st_size > 10_000 and (tmp_path/'model.safetensors').exists()
    assert 'test accuracy' in r.stdout
    check_predict(tmp_path/'model.safetensors', tmp_path/'images')

def check_predict(model, folder):
    """`xrayood predict` with the demo's gate on real X-rays it never saw at this size, and on images to refuse:
    Kaggle X-rays (224 px copies; the 16 official val JPEGs at full size, ×0.5 and ×2) labelled >= 95%, the Shenzhen
    adults (another hospital; checked, never fitted on) labelled >= 80%, every image of the OOD sets refused"""
    import pandas as pd
    from PIL import Image
    from xrayood.data import find_data, read_xray, load_manifest
    from xrayood.oodsets import ood_manifest
    kdir, vdir, sdir = find_data('kermany224'), find_data('kermany-val'), find_data('shenzhen')
    assert kdir and vdir and sdir, 'the course data (../shared/data) is needed: CI has it'
    k = load_manifest(kdir/'manifest.csv').sample(150, random_state=0)
    (folder/'kaggle').mkdir(parents=True)
    for i, pth in enumerate(k.path): Image.open(pth).save(folder/'kaggle'/f'k{i:03d}.jpeg')
    for f in sorted(vdir.rglob('*.jpeg')):
        im = read_xray(f)
        for s in (0.5, 1, 2): im.resize((round(im.width*s), round(im.height*s)), Image.BILINEAR).save(folder/'kaggle'/f'{f.stem}_x{s:g}.jpeg', quality=92)
    ood = ood_manifest()
    ood_dirs = sorted({str(Path(pth).parent) for pth in ood.path})
    before = tree_digest(folder), tree_digest(sdir)
    r = xrayood('predict', str(model), str(folder/'kaggle'), str(sdir), *ood_dirs, '-q')
    assert r.returncode == 0, r.stderr[-2000:]
    lines = pd.DataFrame([json.loads(l) for l in r.stdout.splitlines()])
    assert (tree_digest(folder), tree_digest(sdir)) == before      # source data is never written
    assert 'error' not in lines
    kag, shz = lines[lines.path.str.contains('/kaggle/')], lines[lines.path.str.startswith(str(sdir))]
    oo = lines[~lines.index.isin(kag.index) & ~lines.index.isin(shz.index)]
    assert len(kag) == 150 + 48 and len(shz) == 11 and len(oo) >= len(ood)   # the OOD folders may also hold views at other sizes
    rate = lambda d: 1 - d.out_of_classes.mean()
    print(f'predict: Kaggle X-rays labelled {rate(kag):.3f} (known {(kag.verdict == "known").mean():.3f}); '
          f'Shenzhen labelled {rate(shz):.3f}; OOD images refused {oo.out_of_classes.mean():.3f} of {len(oo)}')
    assert rate(kag) >= 0.95 and rate(shz) >= 0.8 and oo.out_of_classes.all(), (rate(kag), rate(shz), oo[~oo.out_of_classes].path.tolist())
    v = kag[kag.path.str.contains('_x')].assign(stem=lambda d: d.path.str.extract(r'/([^/]+)_x[0-9.]+\.jpeg$')[0])
    assert (v.groupby('stem').label.nunique() == 1).mean() >= 0.9   # the same X-ray at three sizes: the same answer
    for l in lines.itertuples():
        assert set(l.probabilities) == {'NORMAL', 'PNEUMONIA'} and l.verdict in ('known', 'shifted', 'out_of_classes')
        assert l.out_of_classes == (l.verdict == 'out_of_classes') and (isinstance(l.warning, str)) == (l.verdict == 'shifted')
        if l.out_of_classes: assert l.label == 'out of classes' and sum(l.probabilities.values()) == 0
        else: assert l.label in ('NORMAL', 'PNEUMONIA') and abs(sum(l.probabilities.values()) - 1) < 1e-4

def test_three_class_gate(tmp_path):
    "`xrayood train --task 3class` with its default gate on the Kaggle images: exit 0, and a gated model that answers in NORMAL / BACTERIA / VIRUS"
    from xrayood.data import find_data
    kdir, vdir = find_data('kermany224'), find_data('kermany-val')
    assert kdir and vdir, 'the course data (../shared/data) is needed: CI has it'
    r = xrayood('train', str(kdir), '--task', '3class', '--epochs', '1', '--sample', '300', '--size', '64', '--out', str(tmp_path/'r3'), '-q')
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((tmp_path/'r3'/'metrics.json').read_text())
    assert m['gate']['n_cal'] == m['valid']['n'] and 0 < m['gate']['expected_refusal'] <= 0.05
    r = xrayood('predict', str(tmp_path/'r3'/'model.safetensors'), str(vdir), '-q')
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(lines) == 16 and all(set(l['probabilities']) == {'NORMAL', 'BACTERIA', 'VIRUS'} for l in lines)
    labelled = [l for l in lines if not l['out_of_classes']]
    assert len(labelled) >= 12 and all(l['label'] in ('NORMAL', 'BACTERIA', 'VIRUS') for l in labelled)
    assert all(abs(sum(l['probabilities'].values()) - 1) < 1e-4 for l in labelled)
    r = xrayood('predict', str(tmp_path/'r3'/'model.safetensors'), '--help')
    assert r.returncode == 0 and 'alpha=0.05' in r.stdout and 'NORMAL, BACTERIA, VIRUS' in r.stdout, r.stdout[-1500:]

# --- the command line on awkward input (tests/corpus.py); in-process `main` for speed, the demo test above covers the subprocess ---
import os
from unittest.mock import patch
import pytest
from corpus import make_bad_layouts, checksums
from xrayood.data import IMAGE_EXTS

from conftest import run_cli as run

def test_every_subcommand_has_help(capsys):
    for cmd, opt in [('demo', '--epochs'), ('train', '--task'), ('evaluate', '--split'), ('predict', '--bs'), ('ood-bench', '--full'),
                     ('predict', '--trust-pickle'), ('train', '--no-gate')]:
        code, out, _ = run(capsys, cmd, '--help')
        assert code == 0 and opt in out, (cmd, out)

@pytest.mark.parametrize('name', ['flat', 'swapped', 'lowercase', 'no_split', 'empty', 'all_unreadable', 'missing'])
def test_wrong_layout_exits_2_with_one_line(tmp_path, capsys, name):
    case = make_bad_layouts(tmp_path/'layouts')[name]
    before = checksums(tmp_path/'layouts')
    code, _, err = run(capsys, 'train', case['path'], '--epochs', '1', '--out', tmp_path/'out', '-q')
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err, err
    match = 'No such file or folder' if name == 'missing' else case['match']   # the CLI checks DATA exists before reading it
    assert match in err, (match, err)
    assert checksums(tmp_path/'layouts') == before

def test_train_evaluate_predict_on_a_tree_with_bad_files(bad_kaggle_tree, tmp_path, capsys):
    "Bad files are left out of training and reported; predict answers every image file with a label or an error; the tree is untouched"
    root, out = bad_kaggle_tree['root'], tmp_path/'run'
    before = checksums(root)
    code, stdout, err = run(capsys, 'train', root, '--epochs', '1', '--size', '32', '--bs', '16', '--no-gate', '--out', out, '-q')
    assert code == 0, err
    assert 'Left out' in stdout and 'valid:' in stdout and 'test:' in stdout, stdout
    m = json.loads((out/'metrics.json').read_text())
    assert m['n_train'] + m['valid']['n'] + m['test']['n'] == sum(bad_kaggle_tree['counts'].values())
    code, stdout, err = run(capsys, 'evaluate', out/'model.safetensors', '--out', tmp_path/'eval')
    assert code == 0 and json.loads((tmp_path/'eval'/'metrics.json').read_text())['n'] == m['test']['n'], err
    code, stdout, err = run(capsys, 'predict', out/'model.safetensors', root, '-q')
    assert code == 0, err
    lines = {os.fsencode(d['path']): d for d in map(json.loads, stdout.splitlines())}
    for rel, c in bad_kaggle_tree['cases'].items():
        if c.path.suffix.lower() not in IMAGE_EXTS: assert os.fsencode(c.path) not in lines; continue   # Thumbs.db: not an image file
        d = lines[os.fsencode(c.path)]                              # the non-UTF-8 name survives JSON: same bytes back
        if c.expect == 'read': assert d['label'] in ('NORMAL', 'PNEUMONIA') and 'error' not in d, (rel, d)
        else: assert c.reason in d['error'], (rel, d)
    assert 'could not be read' in err
    assert checksums(root) == before

def test_predict_dicom_without_pydicom(corpus, tmp_path, capsys):
    root, cases = corpus
    run(capsys, 'train', '--epochs', '1', '--sample', '200', '--no-gate', '--out', tmp_path/'run', '-q')
    with patch.dict('sys.modules', {'pydicom': None}):
        code, stdout, _ = run(capsys, 'predict', tmp_path/'run'/'model.safetensors', cases['dicom'].path, cases['png16'].path, '-q')
    assert code == 0
    d = [json.loads(l) for l in stdout.splitlines()]
    assert 'pip install pydicom' in d[0]['error'] and d[1]['label'] in ('NORMAL', 'PNEUMONIA'), d

def test_same_seed_same_metrics(small_npz, tmp_path, capsys):
    ms = []
    for k in range(2):
        code, _, err = run(capsys, 'train', small_npz, '--epochs', '1', '--seed', '7', '--no-gate', '--out', tmp_path/f'r{k}', '-q')
        assert code == 0, err
        m = json.loads((tmp_path/f'r{k}'/'metrics.json').read_text())
        ms.append({k: v for k, v in m.items() if not k.endswith('seconds')})
    assert ms[0] == ms[1]
    code, _, err = run(capsys, 'train', small_npz, '--task', '3class', '--epochs', '1', '--out', tmp_path/'r3', '-q')
    assert code == 2 and 'BACTERIA' in err and err.count('\n') == 1, err
