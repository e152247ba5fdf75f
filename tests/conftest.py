"Shared fixtures: a Kaggle-layout tree with good and bad files, and the course data when it is on this machine."
import hashlib, os
from pathlib import Path
import numpy as np, pytest
from PIL import Image

from xrayood.data import find_data

def ramp(size=64, seed=0):
    "A gray test image with some texture"
    rng = np.random.default_rng(seed)
    a = np.tile(np.linspace(0, 255, size), (size, 1)) + rng.normal(0, 8, (size, size))
    return Image.fromarray(a.clip(0, 255).astype(np.uint8))

def tree_digest(root):
    "Checksum of every file (path and bytes) and folder under `root`"
    h = hashlib.sha256()
    for p in sorted(Path(root).rglob('*')):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file(): h.update(p.read_bytes())
    return h.hexdigest()

# Kaggle file names: NORMAL `IM-NNNN-NNNN` / `NORMAL2-IM-NNNN-NNNN`, PNEUMONIA `personN_{bacteria,virus}_M`
TRAIN = ([f'NORMAL/IM-{i:04d}-0001.jpeg' for i in range(12)] + [f'NORMAL/NORMAL2-IM-{i:04d}-0002.jpeg' for i in range(6)] +
         [f'PNEUMONIA/person{i}_bacteria_{k}.jpeg' for i in range(12) for k in (1, 2)] +
         [f'PNEUMONIA/person{100+i}_virus_{i}.jpeg' for i in range(12)])
TEST = ['NORMAL/IM-9000-0001.jpeg', 'PNEUMONIA/person900_bacteria_1.jpeg', 'PNEUMONIA/person901_virus_2.jpeg']

@pytest.fixture
def kaggle_tree(tmp_path):
    "A Kaggle tree nested as in Kaggle's archive: `chest_xray/chest_xray/{train,test}/{NORMAL,PNEUMONIA}`"
    root = tmp_path/'download'/'chest_xray'/'chest_xray'
    for split, names in [('train', TRAIN), ('test', TEST)]:
        for i, n in enumerate(names):
            p = root/split/n; p.parent.mkdir(parents=True, exist_ok=True)
            ramp(seed=i).save(p, quality=90)
    (tmp_path/'download'/'__MACOSX'/'train'/'NORMAL').mkdir(parents=True)
    return tmp_path/'download'

@pytest.fixture(scope='session')
def shared_data():
    "The course's real data folder, or skip with the reason"
    d = find_data('kermany-val')
    if d is None: pytest.skip("the course data (../shared/data) is not on this machine; it is not shipped with the package")
    return d.parent

# --- the reliability corpus (tests/corpus.py): awkward files, each with its documented behaviour ---

@pytest.fixture(scope='session')
def corpus(tmp_path_factory):
    "`(folder, {case id: Case})`: one awkward file per case, written once per session; tests must leave it unchanged"
    from corpus import make_corpus
    root = tmp_path_factory.mktemp('corpus')
    return root, make_corpus(root)

@pytest.fixture
def bad_kaggle_tree(tmp_path):
    "A small Kaggle-layout tree with the corpus files, an empty and an unknown class folder mixed in (`corpus.make_kaggle_tree`)"
    from corpus import make_kaggle_tree
    return make_kaggle_tree(tmp_path/'data')

@pytest.fixture(scope='session')
def small_npz(tmp_path_factory):
    "A 300/100/100 train/val/test sample of the bundled 28 px PneumoniaMNIST, for models trained in seconds"
    from xrayood.data import bundled_npz
    rng, out = np.random.default_rng(0), {}
    with np.load(bundled_npz()) as d:
        for s, n in [('train', 300), ('val', 100), ('test', 100)]:
            i = np.sort(rng.choice(len(d[f'{s}_labels']), n, replace=False))
            out[f'{s}_images'], out[f'{s}_labels'] = d[f'{s}_images'][i], d[f'{s}_labels'][i]
    fn = tmp_path_factory.mktemp('npz')/'pneumoniamnist_small.npz'
    np.savez(fn, **out)
    return fn

def run_cli(capsys, *argv):
    "Exit code, stdout and stderr of `xrayood ARGV`, run in this process (`xrayood.cli.main`)"
    from xrayood.cli import main
    try: main([str(a) for a in argv]); code = 0
    except SystemExit as e: code = e.code
    o = capsys.readouterr()
    return code, o.out, o.err
