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
