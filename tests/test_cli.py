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
    assert m['test']['n'] == 624 and m['val']['n'] == 524
    assert m['test']['accuracy'] >= 0.88 and m['test']['roc_auc'] >= 0.95, m['test']
    assert (tmp_path/'confusion.png').stat().st_size > 10_000 and (tmp_path/'model.pkl').exists()
    assert 'test accuracy' in r.stdout
    check_predict(tmp_path/'gated.pkl', tmp_path/'images')

def check_predict(model, folder):
    "`xrayood predict` with the demo's gate: test X-rays get labels, natural images are refused with all-zero probabilities"
    import skimage.data
    from PIL import Image
    from xrayood.data import medmnist_manifest, load_image
    df = medmnist_manifest()
    test = df[df.split == 'test'].sample(100, random_state=0)
    (folder/'xrays').mkdir(parents=True); (folder/'natural').mkdir()
    for i, (_, row) in enumerate(test.iterrows()): load_image(row).save(folder/'xrays'/f'{i:03d}.png')
    names = ['astronaut', 'camera', 'chelsea', 'coffee', 'coins', 'rocket', 'horse', 'moon', 'page', 'text', 'clock', 'brick']
    for n in names: Image.fromarray(getattr(skimage.data, n)()).save(folder/'natural'/f'{n}.png')
    before = tree_digest(folder)
    r = xrayood('predict', str(model), str(folder))
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(lines) == 100 + len(names) and tree_digest(folder) == before
    xr = [l for l in lines if '/xrays/' in l['path']]; nat = [l for l in lines if '/natural/' in l['path']]
    accepted = sum(not l['out_of_classes'] for l in xr) / len(xr)
    refused = sum(l['out_of_classes'] for l in nat) / len(nat)
    print(f'predict: {accepted:.2f} of test X-rays accepted, {refused:.2f} of natural images refused')
    assert accepted >= 0.85 and refused >= 0.9, (accepted, refused)
    for l in nat + xr:
        assert set(l['probabilities']) == {'NORMAL', 'PNEUMONIA'}
        if l['out_of_classes']: assert l['label'] == 'out of classes' and sum(l['probabilities'].values()) == 0
        else: assert l['label'] in ('NORMAL', 'PNEUMONIA') and abs(sum(l['probabilities'].values()) - 1) < 1e-4

# --- the command line on awkward input (tests/corpus.py); in-process `main` for speed, the demo test above covers the subprocess ---
import os
from unittest.mock import patch
import pytest
from corpus import make_bad_layouts, checksums
from xrayood.cli import main
from xrayood.data import IMAGE_EXTS

def run(capsys, *argv):
    "Exit code, stdout and stderr of `xrayood ARGV`"
    try: main([str(a) for a in argv]); code = 0
    except SystemExit as e: code = e.code
    o = capsys.readouterr()
    return code, o.out, o.err

def test_every_subcommand_has_help(capsys):
    for cmd, opt in [('demo', '--epochs'), ('train', '--task'), ('evaluate', '--split'), ('predict', '--bs'), ('ood-bench', '--full')]:
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
    code, stdout, err = run(capsys, 'evaluate', out/'model.pkl', '--out', tmp_path/'eval')
    assert code == 0 and json.loads((tmp_path/'eval'/'metrics.json').read_text())['n'] == m['test']['n'], err
    code, stdout, err = run(capsys, 'predict', out/'model.pkl', root, '-q')
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
        code, stdout, _ = run(capsys, 'predict', tmp_path/'run'/'model.pkl', cases['dicom'].path, cases['png16'].path, '-q')
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
    assert code == 2 and 'bacteria' in err and err.count('\n') == 1, err
