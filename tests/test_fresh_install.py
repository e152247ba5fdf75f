"""Each lesson's Colab install cell, run as a fresh install would run it: a new virtual environment that has only what
Colab brings before the cell (torch and torchvision, with their own requirements), the cell's `pip install`, then every
import cell of every lesson and the offline ImageNet weights, in that environment and nowhere else.

The cell installs from GitHub; here it installs this checkout (no GitHub from the test machines), with the lock
(`-c constraints.txt`) so that the run does not depend on the day's releases."""
import ast, json, os, re, subprocess, sys, textwrap
from importlib.metadata import distribution
from pathlib import Path
from test_install import closure   # the same reading of installed requirements

ROOT = Path(__file__).parents[1]
LESSONS = sorted((ROOT/'nbs').glob('[0-9][0-9]_*.ipynb'))

def _top_level(dist_name) -> set:
    "Top-level entries (packages, modules, .dist-info, shared libraries) a distribution installed into site-packages"
    d = distribution(dist_name)
    return {Path(str(f)).parts[0] for f in (d.files or []) if not str(f).startswith('..')}

def colab_base(dest:Path) -> Path:
    "A folder of links to torch, torchvision and what they require, as installed here: the packages Colab comes with"
    dest.mkdir()
    site = Path(distribution('torch').locate_file(''))
    for name in closure(['torch', 'torchvision']):
        for top in _top_level(name):
            if (site/top).exists() and not (dest/top).exists(): (dest/top).symlink_to(site/top)
    return dest

def import_cells(nb:Path) -> list:
    "The source of every cell of `nb` that only imports (the cells nbdev runs to build the docs)"
    out = []
    for c in json.loads(nb.read_text())['cells']:
        s = ''.join(c['source'])
        if c['cell_type'] != 'code' or re.search(r'^#\|\s*(export|exporti|eval:\s*false)', s, re.M): continue
        try: body = ast.parse(s).body
        except SyntaxError: continue
        if body and all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in body): out.append(s)
    return out

def test_import_cells_are_found():
    cells = {nb.stem: import_cells(nb) for nb in LESSONS}
    assert sum(map(len, cells.values())) >= 2 * len(LESSONS), cells
    assert any('skimage' in s for s in cells['04_models']), cells['04_models']

def test_colab_cell_in_a_fresh_environment(tmp_path):
    cell = ''.join(json.loads(LESSONS[0].read_text())['cells'][2]['source'])
    url = re.search(r'%pip install -q (\S+)', cell).group(1)
    assert url.startswith('git+https://github.com/'), url
    base = colab_base(tmp_path/'colab-base')
    env = tmp_path/'venv'
    subprocess.run([sys.executable, '-m', 'venv', env], check=True)
    site = next((env/'lib').glob('python3*/site-packages'))
    (site/'colab_base.pth').write_text(f'{base}\n')
    py = env/'bin'/'python'
    clean = {k: v for k, v in os.environ.items() if not k.startswith(('PYTHON', 'VIRTUAL_ENV'))}
    run = lambda *a, **kw: subprocess.run([str(py), *a], cwd=tmp_path, env=clean, capture_output=True, text=True, **kw)
    before = run('-c', 'import torch, torchvision\ntry: import fastai\nexcept ImportError: print("no fastai")')
    assert before.returncode == 0 and 'no fastai' in before.stdout, before.stderr   # torch only, as in a bare Colab
    r = run('-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-c', str(ROOT/'constraints.txt'), str(ROOT))   # the cell, with this checkout for `url`
    assert r.returncode == 0, r.stderr[-3000:]
    script = ['import warnings; warnings.simplefilter("ignore")', 'import xrayood']
    for nb in LESSONS:
        script += [f'# {nb.name}', *import_cells(nb)]
    script += ['from xrayood.models import lite_state_dict, lite0_state_dict',
               'assert len(lite0_state_dict()) > 100   # the ImageNet weights, offline',
               'import xrayood, pathlib; print("xrayood from", pathlib.Path(xrayood.__file__).parent.parent.name)']
    r = run('-c', '\n'.join(script), timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'xrayood from site-packages' in r.stdout, r.stdout   # the installed package, not this checkout
    r = subprocess.run([str(env/'bin'/'xrayood'), '--help'], cwd=tmp_path, env=clean, capture_output=True, text=True)   # the command line, installed
    assert r.returncode == 0 and 'predict' in r.stdout, r.stdout + r.stderr
