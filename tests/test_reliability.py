"""Reliability: every case of the generated corpus (tests/corpus.py) gets its documented behaviour through the library
(read correctly, or left out and reported, or a clear error); inputs are never written; a seed fixes the metrics;
export → load changes no output; the gated predictor refuses natural images. The command line is tested in test_cli.py."""
import json, os, re, sys, time, warnings
from unittest.mock import patch
import numpy as np, pandas as pd, pytest, torch
from PIL import Image

from xrayood.data import *
from corpus import make_kaggle_tree, make_bad_layouts, checksums, has_pydicom, LATIN1_NAME, ramp, CASES

def check_read(c):
    "Read corpus case `c` as the library does and compare with what it must give"
    with warnings.catch_warnings():
        warnings.simplefilter('error')                  # no warning either (e.g. Pillow's DecompressionBombWarning)
        im = read_xray(c.path)
    assert im.mode == 'L' and im.size == c.size, (c.id, im.mode, im.size)
    if c.gray is not None:
        err = np.abs(np.asarray(im, dtype=int) - c.gray)
        assert err.max() <= c.tol_max and err.mean() <= c.tol_mean, (c.id, err.max(), err.mean())
    for (x, y), v in c.probes.items(): assert im.getpixel((x, y)) == v, (c.id, (x, y), im.getpixel((x, y)))

def test_corpus_files(corpus):
    "Each file alone: `check_image` says why it cannot be used (one line) or `read_xray` reads it right"
    root, cases = corpus
    assert cases.keys() >= set(CASES) - {'latin1_name'}
    for c in cases.values():
        why = check_image(c.path)
        if c.expect == 'read':
            assert why is None, (c.id, why)
            check_read(c)
        else:
            assert why is not None and c.reason in why and '\n' not in why, (c.id, why)
            with pytest.raises((OSError, ValueError, ImportError, Image.DecompressionBombError)): read_xray(c.path)
    bad = verify_images(c.path for c in cases.values())
    assert set(bad.path) == {str(c.path) for c in cases.values() if c.expect == 'skip'}

def test_corpus_in_a_kaggle_tree(bad_kaggle_tree, capsys):
    "The same files inside a Kaggle tree: kept rows are exactly the readable ones, everything else is reported once"
    t = bad_kaggle_tree
    df = kaggle_manifest(t['root'])
    assert df.groupby(['split', 'label']).size().to_dict() == t['counts']
    why = {os.path.relpath(o['path'], t['root']): o['reason'] for o in df.attrs['skipped']}
    assert why.keys() == t['skipped'].keys()
    for rel, reason in t['skipped'].items(): assert reason in why[rel], (rel, why[rel])
    kept = set(df.path)
    for rel, c in t['cases'].items(): assert (str(t['root']/rel) in kept) == (c.expect == 'read'), rel
    out = capsys.readouterr().out
    assert f'Left out {len(why)} file(s) or folder(s)' in out and out.count('\n') == len(why) + 1
    # the loaders read every kept row, whatever its format, as the same one-channel picture
    from xrayood.loaders import xray_dls
    s = patient_split(df, valid_pct=0.25)
    dls = xray_dls(s, size=32, bs=8, aug=False, channels=1)
    n = 0
    for xb, yb in dls.train: assert xb.shape[1:] == (1, 32, 32) and torch.isfinite(xb).all(); n += len(xb)
    assert n >= len(dls.train_ds) - 8                   # drop_last
    pairs = {r.path: np.asarray(load_image(r)) for _, r in df.iterrows()}
    for rel, c in t['cases'].items():
        if c.expect == 'read' and c.gray is not None:
            assert np.abs(pairs[str(t['root']/rel)].astype(int) - c.gray).max() <= c.tol_max, rel

@pytest.mark.parametrize('name', ['flat', 'swapped', 'lowercase', 'no_split', 'empty', 'all_unreadable', 'missing'])
def test_bad_layouts(tmp_path, name):
    "Folders not in the Kaggle layout: one clear, one-line error that says what was found"
    case = make_bad_layouts(tmp_path)[name]
    with pytest.raises(case['error'], match=re.escape(case['match'])) as e: kaggle_manifest(case['path'])
    assert '\n' not in str(e.value)

def test_dicom_with_and_without_pydicom(corpus, tmp_path):
    "DICOM is read with pydicom; without it, `check_image` and manifests say in one line what to install"
    c = corpus[1]['dicom']
    if has_pydicom(): check_read(c)
    with patch.dict(sys.modules, {'pydicom': None}):
        msg = 'xray.dcm is a DICOM file: reading DICOM needs pydicom (pip install pydicom)'
        with pytest.raises(ImportError, match=re.escape(msg)): read_xray(c.path)
        assert check_image(c.path) == msg
        t = make_kaggle_tree(tmp_path)
        df = kaggle_manifest(t['root'])
    dcm = next(rel for rel, o in t['cases'].items() if o.id == 'dicom')
    assert str(t['root']/dcm) not in set(df.path)
    assert {o['path']: o['reason'] for o in df.attrs['skipped']}[str(t['root']/dcm)].endswith('(pip install pydicom)')

def test_non_utf8_file_name(tmp_path, capsys):
    "A Latin-1 file name: read, reported, saved in a manifest and written as JSON without an encoding error"
    t = make_kaggle_tree(tmp_path/'data', bad=False)
    d = os.fsencode(t['kaggle_root']/'train'/'NORMAL')
    try:
        for name, data in [(b'IM-0990-0001-' + LATIN1_NAME, None), (b'IM-0991-0001-broken-' + LATIN1_NAME, b'')]:
            fd = os.open(d + b'/' + name, os.O_WRONLY | os.O_CREAT)
            os.close(fd)
    except OSError: pytest.skip('this file system only takes UTF-8 file names')
    good = os.fsdecode(d + b'/IM-0990-0001-' + LATIN1_NAME)
    Image.fromarray(ramp(seed=9)).save(good, format='PNG')
    df = kaggle_manifest(t['root'])
    out = capsys.readouterr().out
    out.encode('utf-8')                                  # printable on a strict UTF-8 console
    assert 'IM-0991-0001-broken-caf\\xe9.png: empty file (0 bytes)' in out
    assert good in set(df.path) and np.array_equal(np.asarray(load_image(df[df.path == good].iloc[0])), ramp(seed=9))
    assert df[df.path == good].patient.item() == 'IM-0990'
    f = save_manifest(df, tmp_path/'out'/'manifest.csv', relative_to=df.attrs['root'])
    pd.testing.assert_frame_equal(load_manifest(f, root=df.attrs['root']), load_manifest(save_manifest(df, tmp_path/'abs.csv')))
    assert good in set(load_manifest(f, root=df.attrs['root']).path)
    # JSON: the default (ensure_ascii=True) escapes the lone surrogate and round-trips; ensure_ascii=False cannot be encoded
    line = json.dumps(dict(path=good))
    assert os.fsencode(json.loads(line)['path']).endswith(LATIN1_NAME)
    with pytest.raises(UnicodeEncodeError): json.dumps(dict(path=good), ensure_ascii=False).encode('utf-8')
    assert path_str(good).endswith('caf\\xe9.png') and json.dumps(path_str(good), ensure_ascii=False).encode('utf-8')

def test_large_image(corpus):
    "8000×8000: read without a warning in seconds; the loaders resize it like any other"
    c = corpus[1]['large_8000']
    t0 = time.time(); check_read(c); secs = time.time() - t0
    assert secs < 15, secs                               # about 1 s on one core
    from xrayood.loaders import xray_dls
    rows = [dict(path=str(corpus[1][k].path), split=s, label=l) for k, s, l in
            [('one_pixel', 'train', 'PNEUMONIA'), ('large_8000', 'train', 'NORMAL'), ('rgba_png', 'val', 'NORMAL'), ('png16', 'val', 'PNEUMONIA')]]
    dls = xray_dls(pd.DataFrame(rows, columns=MANIFEST_COLS), size=32, bs=2, aug=False)
    with warnings.catch_warnings():
        warnings.simplefilter('error', Image.DecompressionBombWarning)
        xb, _ = dls.valid.one_batch(); xt, _ = next(iter(dls.train))
    assert xb.shape == xt.shape == (2, 3, 32, 32)

# --- trained models: two runs with one seed (about 5 s each on 2 cores) ---

@pytest.fixture(scope='module')
def runs(small_npz):
    from xrayood.compare import run_config
    df = medmnist_manifest(small_npz)
    cfg = dict(epochs=1, bs=64, seed=7)
    (r1, l1), (r2, l2) = (run_config(df, cfg, learner=True) for _ in range(2))
    return df, r1, r2, l1, l2

@pytest.fixture(scope='module')
def gate(runs):
    from xrayood.gate import GatedPredictor
    from xrayood.ood import Mahalanobis
    df, *_, learn, _ = runs
    return GatedPredictor(learn, Mahalanobis(), bs=128).fit(df[df.split == 'train'], df[df.split == 'val'])

def test_same_seed_same_metrics(runs):
    df, r1, r2, l1, l2 = runs
    timing = {'train_seconds', 'images_per_second'}
    m1, m2 = ({k: v for k, v in r.items() if k not in timing} for r in (r1, r2))
    assert m1 == m2 and m1['roc_auc'] > 0.5, (m1, m2)
    s1, s2 = l1.model.state_dict(), l2.model.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)

def test_export_load_same_outputs(runs, gate, corpus, tmp_path):
    from fastai.learner import load_learner
    from xrayood.gate import load_gate
    df, *_, learn, _ = runs
    test = df[df.split == 'test'].reset_index(drop=True)
    learn.export(tmp_path/'model.pkl')
    l2 = load_learner(tmp_path/'model.pkl')
    with learn.no_bar(), l2.no_bar():
        p1, p2 = (l.get_preds(dl=l.dls.test_dl(test))[0].numpy() for l in (learn, l2))
    np.testing.assert_array_equal(p1, p2)
    with pytest.warns(UserWarning, match='runs whatever code'):
        plain = load_gate(tmp_path/'model.pkl', trust_pickle=True).predict(test)  # a fastai export loads as an ungated predictor, if trusted
    np.testing.assert_array_equal(plain[list(learn.dls.vocab)].values, p1)
    with pytest.raises(ValueError, match='trust_pickle=True'): load_gate(tmp_path/'model.pkl')
    files = [str(c.path) for c in corpus[1].values() if c.expect == 'read' and c.id != 'large_8000']
    g2 = load_gate(gate.export(tmp_path/'model.safetensors'))   # the safe format, rebuilt from its run spec: no training data needed
    for items in (test, files): pd.testing.assert_frame_equal(gate.predict(items), g2.predict(items), check_exact=True)

def test_gate_refuses_natural_images(gate, runs):
    from xrayood.gate import OOD_LABEL
    from xrayood.oodsets import natural_images
    nat = natural_images()
    p = gate.predict([im for _, im in nat])
    accepted = [src for (src, _), o in zip(nat, p.out_of_classes) if not o]
    assert p.out_of_classes.mean() >= 0.9, f'accepted natural images: {accepted}'
    refused = p[p.out_of_classes]
    assert (refused.label == OOD_LABEL).all() and (refused[gate.vocab].values == 0).all()
    df = runs[0]
    x = gate.predict(df[df.split == 'test'])
    assert 1 - x.out_of_classes.mean() >= 0.85 and set(x.label) <= set(gate.vocab) | {OOD_LABEL}

def test_inputs_untouched(corpus, bad_kaggle_tree, gate, tmp_path):
    "Reading, verifying, manifests, loaders and predictions leave every input file byte-identical (and add none)"
    root, cases = corpus
    data = bad_kaggle_tree['root']
    before = checksums(root), checksums(data)
    for c in cases.values(): check_image(c.path)
    df = patient_split(kaggle_manifest(data), valid_pct=0.25)
    save_manifest(df, tmp_path/'out'/'manifest.csv', relative_to=df.attrs['root'])
    from xrayood.loaders import xray_dls
    dls = xray_dls(load_manifest(tmp_path/'out'/'manifest.csv', root=df.attrs['root']), size=32, bs=8, channels=1)
    for _ in dls.train: pass
    gate.predict(df)
    gate.predict([str(c.path) for c in cases.values() if c.expect == 'read' and c.id != 'large_8000'])
    assert (checksums(root), checksums(data)) == before
