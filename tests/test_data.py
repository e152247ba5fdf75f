"End-to-end tests of the data layer on Kaggle-layout trees (generated and real)."
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image

from xrayood.data import *
from xrayood.loaders import xray_dls
from conftest import ramp, tree_digest, TRAIN, TEST

def test_kaggle_manifest(kaggle_tree):
    df = kaggle_manifest(kaggle_tree)
    assert df.attrs['root'].endswith('chest_xray/chest_xray')
    assert df.groupby(['split', 'label']).size().to_dict() == {
        ('test', 'NORMAL'): 1, ('test', 'PNEUMONIA'): 2, ('train', 'NORMAL'): 18, ('train', 'PNEUMONIA'): 36}
    assert df.label3.value_counts().to_dict() == {'BACTERIA': 25, 'NORMAL': 19, 'VIRUS': 13}
    row = df[df.path.str.endswith('person3_bacteria_2.jpeg')].iloc[0]
    assert (row.patient, row.label3, row.split) == ('person3', 'BACTERIA', 'train')
    assert set(df[df.path.str.contains('NORMAL2-IM-0004')].patient) == {'IM-0004'}
    # NORMAL2-IM-0004 and IM-0004 are treated as one patient
    assert (df.patient == 'IM-0004').sum() == 2
    assert df.attrs['skipped'] == []

def test_patient_split_never_leaks(kaggle_tree):
    df = kaggle_manifest(kaggle_tree)
    for seed in range(5):
        s = patient_split(df, valid_pct=0.25, seed=seed)
        tr, va = s[s.split == 'train'], s[s.split == 'valid']
        assert len(va) and not set(tr.patient) & set(va.patient)
        assert set(va.label3) == {'NORMAL', 'BACTERIA', 'VIRUS'}            # stratified
        assert s[df.split == 'test'].split.eq('test').all()                   # test untouched

def test_real_kermany_val(shared_data):
    df = kaggle_manifest(shared_data/'kermany-val', split='val')
    assert len(df) == 16 and df.attrs['skipped'] == []
    assert df.label.value_counts().to_dict() == {'NORMAL': 8, 'PNEUMONIA': 8}
    assert df[df.label == 'PNEUMONIA'].label3.eq('BACTERIA').all()
    assert set(df[df.label == 'NORMAL'].patient) == {f'IM-{n}' for n in (1427, 1430, 1431, 1436, 1437, 1438, 1440, 1442)}
    assert df[df.path.str.endswith('person1946_bacteria_4875.jpeg')].patient.item() == 'person1946'
    im = load_image(df.iloc[0])
    assert im.mode == 'L' and min(im.size) > 224       # original resolution

def test_real_kermany224_split(shared_data):
    km = patient_split(load_manifest(shared_data/'kermany224'/'manifest.csv'))
    tr, va = km[km.split == 'train'], km[km.split == 'valid']
    assert len(tr) + len(va) == 5216 and not set(tr.patient) & set(va.patient)
    assert abs(len(va)/5216 - 0.2) < 0.03
    shares = km[km.split.isin(['train', 'valid'])].groupby('split').label3.value_counts(normalize=True).unstack()
    assert (shares.loc['train'] - shares.loc['valid']).abs().max() < 0.03

def _bad_tree(root):
    "Kaggle tree whose files are each one of the awkward cases; returns {file name: expected gray image or None}"
    ref = ramp(seed=1)
    d = root/'train'
    cases = {}
    def save(name, im, label='NORMAL', **kw):
        p = d/label/name; p.parent.mkdir(parents=True, exist_ok=True); im.save(p, **kw); return p
    save('IM-0001-0001.jpeg', ref, quality=95); cases['IM-0001-0001.jpeg'] = np.asarray(Image.open(d/'NORMAL'/'IM-0001-0001.jpeg'))
    p = save('IM-0002-0001.jpeg', ref, quality=95); p.write_bytes(p.read_bytes()[:len(p.read_bytes())//2]); cases[p.name] = None
    (d/'NORMAL'/'IM-0003-0001.jpeg').write_bytes(b''); cases['IM-0003-0001.jpeg'] = None
    (d/'PNEUMONIA').mkdir(parents=True, exist_ok=True)
    (d/'PNEUMONIA'/'person1_bacteria_1.png').write_text('this is not an image'); cases['person1_bacteria_1.png'] = None
    save('person2_bacteria_1.png', Image.fromarray(np.asarray(ref).astype(np.uint16)*257), 'PNEUMONIA'); cases['person2_bacteria_1.png'] = np.asarray(ref)
    save('person3_virus_1.jpeg', ref.convert('RGB').convert('CMYK'), 'PNEUMONIA', quality=95); cases['person3_virus_1.jpeg'] = np.asarray(ref)
    save('person4_virus_1.png', ref.convert('RGBA'), 'PNEUMONIA'); cases['person4_virus_1.png'] = np.asarray(ref)
    save('person5_bacteria_1.png', ref.convert('P'), 'PNEUMONIA'); cases['person5_bacteria_1.png'] = np.asarray(ref.convert('P').convert('L'))
    return cases

def test_bad_files_read_or_reported(tmp_path):
    cases = _bad_tree(tmp_path)
    df = kaggle_manifest(tmp_path)
    skipped = {Path(r['path']).name: r['reason'] for r in df.attrs['skipped']}
    assert skipped.keys() == {n for n, v in cases.items() if v is None}
    assert 'truncated' in skipped['IM-0002-0001.jpeg']
    assert 'empty file' in skipped['IM-0003-0001.jpeg']
    assert 'not an image' in skipped['person1_bacteria_1.png']
    read = {Path(p).name: np.asarray(read_xray(p)) for p in df.path}
    assert read.keys() == {n for n, v in cases.items() if v is not None}
    for name, arr in read.items():
        err = np.abs(arr.astype(int) - cases[name].astype(int))
        if name.endswith('.png'): assert err.max() == 0, name                 # lossless: exact
        else: assert err.mean() < 1.5 and err.max() <= 12, (name, err.mean(), err.max())  # JPEG is lossy
    bad = verify_images([tmp_path/'train'/'NORMAL'/'IM-0003-0001.jpeg', tmp_path/'train'/'NORMAL'/'IM-0001-0001.jpeg'])
    assert len(bad) == 1 and bad.reason.item().startswith('empty file')

def test_source_folder_untouched(kaggle_tree, tmp_path):
    _bad_tree(kaggle_tree/'chest_xray'/'chest_xray')
    before = tree_digest(kaggle_tree)
    df = patient_split(kaggle_manifest(kaggle_tree), valid_pct=0.25)
    save_manifest(df, tmp_path/'elsewhere'/'m.csv', relative_to=df.attrs['root'])
    dls = xray_dls(load_manifest(tmp_path/'elsewhere'/'m.csv', root=df.attrs['root']), size=32, bs=8)
    for _ in dls.train: pass
    dls.valid.one_batch()
    assert tree_digest(kaggle_tree) == before

def test_same_seed_same_split_and_batch(kaggle_tree):
    df = kaggle_manifest(kaggle_tree)
    s1, s2, s3 = (patient_split(df, valid_pct=0.25, seed=s) for s in (3, 3, 4))
    pd.testing.assert_frame_equal(s1, s2)
    assert not s1.split.equals(s3.split)
    b1, b2 = (xray_dls(s, size=32, bs=8, oversample=True, seed=3).one_batch() for s in (s1, s2))
    assert (b1[0] == b2[0]).all() and (b1[1] == b2[1]).all()
    b3 = xray_dls(s1, size=32, bs=8, oversample=True, seed=4).one_batch()
    assert not (b1[0] == b3[0]).all()
