"The `xrayood` command, run as a user runs it. The demo is the project's main job: it must meet its quality target."
import json, subprocess, sys, time
from pathlib import Path

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
