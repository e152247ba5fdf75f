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
