"The course's shape, checked on every lesson notebook: header, Colab badge and install cell, exercises, outputs, imports."
import ast, json, re
from pathlib import Path
import pytest

NBS = Path(__file__).parents[1]/'nbs'
LESSONS = sorted(NBS.glob('[0-9][0-9]_*.ipynb'))
TEXT_ONLY = {'00_course', '20_cli'}   # how to run the course, and the command line: text, no figures
src = lambda c: ''.join(c['source'])

def prose_words(nb:Path) -> int:
    "Words of the lesson's Markdown before its Questionnaire, without code blocks, tables and images"
    md = '\n'.join(src(c) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'markdown')
    md = re.split(r'^## Questionnaire', md, flags=re.M)[0]
    md = re.sub(r'```.*?```', '', md, flags=re.S)
    md = '\n'.join(l for l in md.splitlines() if not l.lstrip().startswith('|'))
    md = re.sub(r'!\[[^\]]*\]\([^)]*\)|<[^>]+>|https?://\S+', '', md)
    return len(re.findall(r"[A-Za-z][\w'’-]*", md))

def test_prose_words_counts_prose_only(tmp_path):
    nb = tmp_path/'x.ipynb'
    cell = lambda s, t='markdown': {'cell_type': t, 'source': [s], 'metadata': {}}
    nb.write_text(json.dumps({'cells': [cell("Why this matters, in five words.\n```python\nnot counted at all\n```\n| a | b |\n![alt text](x.png)"),
                                        cell('x = 1 + 2', 'code'), cell('## Questionnaire\n1. Not counted?')]}))
    assert prose_words(nb) == 6   # 'Why this matters, in five words.'

def test_every_lesson_is_listed():
    assert len(LESSONS) >= 19
    index = ''.join(src(c) for c in json.loads((NBS/'index.ipynb').read_text())['cells'])
    missing = [p.name for p in LESSONS if f'({p.name})' not in index]
    assert not missing, f'lessons not linked from index.ipynb: {missing}'

@pytest.mark.parametrize('nb', LESSONS, ids=lambda p: p.stem)
def test_lesson_shape(nb):
    cells = json.loads(nb.read_text())['cells']
    head = src(cells[0])
    assert re.match(r'# \S.*\n> \S', head), 'first cell: "# Title" then "> summary"'
    badge = f'https://colab.research.google.com/github/xrayood/xrayood/blob/main/nbs/{nb.name}'
    assert badge in src(cells[1]), 'second cell: the Open in Colab badge for this notebook'
    install = src(cells[2])
    assert install.startswith('#| hide') and 'except ImportError' in install and '%pip install' in install
    md = '\n'.join(src(c) for c in cells if c['cell_type'] == 'markdown')
    q, f = (re.search(rf'^## {h}\s*$(.*?)(?=^## |\Z)', md, re.M | re.S) for h in ('Questionnaire', 'Further research'))
    assert q and f and q.start() < f.start(), 'ends with "## Questionnaire", then "## Further research"'
    n_q, n_f = (len(re.findall(r'^\d+\.\s+\S', m.group(1), re.M)) for m in (q, f))
    assert n_q >= 8, f'Questionnaire: {n_q} numbered questions, at least 8'
    assert 2 <= n_f <= 4, f'Further research: {n_f} numbered tasks, 2 to 4'
    assert prose_words(nb) >= 1500, f'{prose_words(nb)} words of prose before the questionnaire, at least 1,500'
    if nb.stem in TEXT_ONLY: return
    code = [c for c in cells if c['cell_type'] == 'code']
    assert any(o.get('output_type') == 'display_data' and 'image/png' in o.get('data', {}) for c in code for o in c['outputs']), \
        'committed with its figures'

@pytest.mark.parametrize('nb', LESSONS, ids=lambda p: p.stem)
def test_imports_in_cells_of_their_own(nb):
    "nbdev's docs build (`exec_show_docs`) executes every cell with a top-level import: keep those cells to imports only"
    for c in json.loads(nb.read_text())['cells']:
        s = src(c)
        if c['cell_type'] != 'code' or re.search(r'^#\|\s*(export|exporti|exports|eval:\s*false)', s, re.M): continue
        try: body = ast.parse(s).body
        except SyntaxError: continue          # IPython magics (the install cell): nbdev does not parse them either
        imps = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert not imps or len(imps) == len(body), f'imports mixed with other code:\n{s}'

MACHINE = re.compile(r'(?<![\w.~])/(?:work|tmp|root|home|usr|opt|var)/|site-packages|\\Users\\')
NOISE = re.compile(r'FutureWarning|DeprecationWarning|\b\w+Warning: |\r')

@pytest.mark.parametrize('nb', [*sorted(NBS.glob('*.ipynb'))], ids=lambda p: p.stem)
def test_outputs_carry_no_machine_paths(nb):
    "Committed outputs show paths relative to the data folder (or with ~), and carry no warning spam or progress-bar fragments"
    for i, c in enumerate(json.loads(nb.read_text())['cells']):
        for o in c.get('outputs', []):
            text = ''.join(o.get('text', '')) + ''.join(''.join(v) for k, v in o.get('data', {}).items() if k.startswith('text/'))
            m = MACHINE.search(text) or NOISE.search(text)
            assert not m, f'cell {i}: {m.group()!r} in {text[max(0, m.start() - 80):m.end() + 80]!r}'

def test_quality_table_is_the_benchmarks():
    "The recipe table of the comparison lesson is the one `benchmarks/quality.py` wrote from its saved runs (no figure typed in by hand)"
    md = (Path(__file__).parents[1]/'benchmarks'/'results'/'quality.md').read_text()
    rows = [l for l in md.splitlines() if l.startswith('| ')]
    assert len(rows) >= 4, 'benchmarks/results/quality.md: run `python benchmarks/quality.py`'
    lesson = ''.join(src(c) for c in json.loads((NBS/'06_compare.ipynb').read_text())['cells'] if c['cell_type'] == 'markdown')
    missing = [r for r in rows if r not in lesson]
    assert not missing, f'06_compare shows other figures than benchmarks/results/quality.md: {missing[:2]}'
    tables = [b.strip() for b in md.split('\n\n') if b.startswith('| ')]       # each table whole: header, separator, rows
    assert tables and all(t.splitlines()[1].startswith('|---') for t in tables), tables
    broken = [t.splitlines()[2][:60] for t in tables if t not in lesson]
    assert not broken, f'06_compare does not show these tables of quality.md whole (header, separator and rows, so they render): {broken}'
    import sys; sys.path.insert(0, str(Path(__file__).parents[1]/'benchmarks'))
    import quality, glob
    runs = {Path(f).stem: json.loads(Path(f).read_text()) for f in glob.glob(str(Path(quality.RESULTS)/'quality'/'*.json'))}
    assert quality.tables(runs) == md, 'quality.md is not the table of the saved runs: rerun benchmarks/quality.py'

def test_a_learner_sees_no_import_warnings():
    "A learner's first cells in a fresh kernel (`import xrayood`, then fastai and the library, the Lite0 weights) print no warning, with Python's default filters"
    import os, subprocess, sys
    code = ('import xrayood\nfrom fastai.vision.all import *\nimport xrayood.data, xrayood.train, xrayood.gate, xrayood.models\n'
            'xrayood.models.lite_state_dict(0)')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env={**os.environ, 'PYTHONWARNINGS': ''})
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'Warning' not in r.stderr, r.stderr[-2000:]
