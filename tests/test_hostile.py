"""Hostile input through the command line, as a user types it: every kind the project's corpus found mishandled.
Each bad input is refused before any work with exit code 2 and one line that says what to change (no traceback), or,
where the input is fine after all (lower-case labels, float or NaN-holding images), answered correctly. Inputs are
never written. Library-level checks of the same inputs are in test_hostile_data.py."""
import json, os, shutil
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image
from corpus import checksums
from xrayood.cli import main
from xrayood.data import bundled_npz, find_data, load_manifest

from conftest import run_cli as run

def refused(capsys, *argv, match):
    "`xrayood ARGV` exits 2 with one line on stderr that contains `match`, and no traceback"
    code, out, err = run(capsys, *argv)
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err and match in err, (argv, code, err, out[-500:])
    return err

@pytest.fixture(scope='module')
def kermany():
    "40 of the 224 px Kermany X-rays (20 per class) from the course data, as manifest rows with absolute paths"
    kdir = find_data('kermany224')
    assert kdir is not None, 'the course data (../shared/data) is needed: CI has it'
    m = load_manifest(kdir/'manifest.csv')
    return pd.concat([m[m.label == c].sample(20, random_state=0) for c in ('NORMAL', 'PNEUMONIA')]).reset_index(drop=True)

def manifest_dir(tmp_path, rows, name='m'):
    "A folder holding `manifest.csv` with `rows`"
    d = tmp_path/name; d.mkdir()
    pd.DataFrame(rows).to_csv(d/'manifest.csv', index=False)
    return d

def good_rows(kermany):
    "Rows with a train / valid / test split, both classes in each"
    split = np.tile(['train']*4 + ['valid'] + ['test'], 7)[:len(kermany)]
    return dict(path=[str(p) for p in kermany.path], split=split, label=list(kermany.label))

@pytest.fixture(scope='module')
def model(tmp_path_factory, small_npz):
    "A model trained in seconds (no gate), for the predict cases"
    out = tmp_path_factory.mktemp('model')
    main(['train', str(small_npz), '--epochs', '1', '--no-gate', '--out', str(out), '-q'])
    return out/'model.safetensors'

# --- options: checked before any data is read -----------------------------------------------------------------------
@pytest.mark.parametrize('argv,match', [
    (['--bs', '0'], 'bs=0'), (['--size', '0'], 'size=0'), (['--size', '100000'], 'at most 1024'), (['--sample', '0'], 'sample=0'),
    (['--lr', '-1'], 'lr=-1'), (['--epochs', '0'], 'epochs=0'), (['--alpha', '0'], 'between 0 and 1'),
    (['--gamma', '0.5'], 'gamma=0.5'), (['--degrade', '1.5'], 'degrade=1.5'), (['--label-smoothing', '-0.1'], 'label_smoothing=-0.1')])
def test_bad_options(capsys, argv, match):
    if argv[0] == '--alpha':      # argparse's own type check: usage line plus the error line
        code, _, err = run(capsys, 'train', *argv)
        assert code == 2 and match in err and 'Traceback' not in err
    else: refused(capsys, 'train', *argv, '-q', match=match)

def test_predict_bs_0(capsys, model, tmp_path):
    Image.new('L', (64, 64), 90).save(tmp_path/'x.png')
    refused(capsys, 'predict', model, tmp_path/'x.png', '--bs', '0', match='--bs 0')

def test_more_images_asked_per_batch_than_there_are(capsys, small_npz):
    refused(capsys, 'train', small_npz, '--bs', '512', '--epochs', '1', '-q', match='batch size of at most 300')

def test_three_classes_of_bundled_data(capsys):
    refused(capsys, 'train', 'bundled', '--task', '3class', '--sample', '200', '-q', match="task='binary'")

# --- .npz files --------------------------------------------------------------------------------------------------------
def npz_cases(tmp_path):
    with np.load(bundled_npz()) as d: a = {k: d[k][:40] for k in d.files}
    cases = {}
    (tmp_path/'zero.npz').write_bytes(b''); cases['zero'] = (tmp_path/'zero.npz', 'zero.npz')
    np.savez(tmp_path/'nolabels.npz', **{k: v for k, v in a.items() if not k.endswith('_labels')}); cases['nolabels'] = (tmp_path/'nolabels.npz', 'labels')
    np.savez(tmp_path/'label2.npz', **(a | {'train_labels': np.full_like(a['train_labels'], 2)})); cases['label2'] = (tmp_path/'label2.npz', '2')
    np.savez(tmp_path/'extra.npz', **(a | {'train_labels': np.concatenate([a['train_labels']]*2)})); cases['extra'] = (tmp_path/'extra.npz', 'labels')
    return cases

@pytest.mark.parametrize('case', ['zero', 'nolabels', 'label2', 'extra'])
def test_bad_npz(capsys, tmp_path, case):
    path, match = npz_cases(tmp_path)[case]
    before = checksums(tmp_path)
    refused(capsys, 'train', path, '--epochs', '1', '-q', match=match)
    assert checksums(tmp_path) == before

def test_float_npz_is_scaled_not_black(capsys, tmp_path):
    "An .npz of floats in [0, 1] trains like its 8-bit original (it used to be read as black)"
    with np.load(bundled_npz()) as d: a = {k: d[k] for k in d.files}
    f = {k: (v.astype(np.float32)/255 if k.endswith('_images') else v) for k, v in a.items()}
    np.savez(tmp_path/'u8.npz', **a); np.savez(tmp_path/'f32.npz', **f)
    ms = []
    for n in ('u8', 'f32'):
        code, _, err = run(capsys, 'train', tmp_path/f'{n}.npz', '--epochs', '1', '--sample', '300', '--no-gate', '--out', tmp_path/n, '-q')
        assert code == 0, err
        ms.append(json.loads((tmp_path/n/'metrics.json').read_text())['test'])
    assert abs(ms[0]['roc_auc'] - ms[1]['roc_auc']) < 0.01 and ms[1]['roc_auc'] > 0.7, ms

# --- manifests -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('case,match', [('nan_label', 'label'), ('unknown_label', 'COVID'), ('duplicates', 'uplicate'),
                                        ('no_split', 'split'), ('no_label', 'label'), ('header_only', 'no rows')])
def test_bad_manifest(capsys, tmp_path, kermany, case, match):
    rows = pd.DataFrame(good_rows(kermany))
    if case == 'nan_label': rows.loc[3, 'label'] = np.nan
    if case == 'unknown_label': rows.loc[3, 'label'] = 'COVID'
    if case == 'duplicates': rows = pd.concat([rows, rows[rows.split == 'test']])
    if case == 'no_split': rows = rows.drop(columns='split')
    if case == 'no_label': rows = rows.drop(columns='label')
    if case == 'header_only': rows = rows.iloc[:0]
    d = manifest_dir(tmp_path, rows)
    before = checksums(d)
    err = refused(capsys, 'train', d, '--epochs', '1', '--bs', '8', '--size', '32', '--no-gate', '-q', match=match)
    assert checksums(d) == before
    if case == 'header_only': assert 'Traceback' not in err

def test_lowercase_labels_are_accepted(capsys, tmp_path, kermany):
    rows = good_rows(kermany) | {'label': [l.lower() for l in kermany.label]}
    d = manifest_dir(tmp_path, rows)
    code, out, err = run(capsys, 'train', d, '--epochs', '1', '--bs', '8', '--size', '32', '--no-gate', '--out', tmp_path/'o', '-q')
    assert code == 0, err
    assert json.loads((tmp_path/'o'/'metrics.json').read_text())['test']['classes'] == ['NORMAL', 'PNEUMONIA']

def test_one_class_folder(capsys, tmp_path, kermany):
    "A Kaggle layout whose NORMAL folders are empty: one line naming the missing class"
    for split in ('train', 'test'):
        for c in ('NORMAL', 'PNEUMONIA'): (tmp_path/'chest_xray'/split/c).mkdir(parents=True)
        for i, p in enumerate(kermany[kermany.label == 'PNEUMONIA'].path): shutil.copy(p, tmp_path/'chest_xray'/split/'PNEUMONIA'/f'person{i}_bacteria_{i}.jpeg')
    refused(capsys, 'train', tmp_path/'chest_xray', '--epochs', '1', '--bs', '4', '-q', match='NORMAL')

def test_relative_data_path_evaluates_from_anywhere(capsys, tmp_path, small_npz, monkeypatch):
    "`xrayood train data/x.npz` in one folder, then `xrayood evaluate` of the saved model from another folder"
    (tmp_path/'a'/'data').mkdir(parents=True); (tmp_path/'b').mkdir()
    shutil.copy(small_npz, tmp_path/'a'/'data'/'x.npz')
    monkeypatch.chdir(tmp_path/'a')
    code, _, err = run(capsys, 'train', 'data/x.npz', '--epochs', '1', '--no-gate', '--out', 'run', '-q')
    assert code == 0, err
    monkeypatch.chdir(tmp_path/'b')
    code, out, err = run(capsys, 'evaluate', '../a/run/model.safetensors')
    assert code == 0 and out.startswith('test:'), err

# --- images given to predict -------------------------------------------------------------------------------------------
def test_predict_answers_the_good_files(capsys, model, tmp_path):
    "A missing path and a dangling link are error lines; the readable files are still answered; float and NaN images are scaled"
    im, links = tmp_path/'images', tmp_path/'links'
    im.mkdir(); links.mkdir()
    with np.load(bundled_npz()) as d: a = d['test_images'][0]
    big = np.asarray(Image.fromarray(a).resize((256, 256), Image.BILINEAR))
    Image.fromarray(big).save(im/'u8.png')
    Image.fromarray(big.astype(np.float32)/255).save(im/'f32.tiff')                  # floats in [0, 1]
    nan = big.astype(np.float32)/255; nan[10, 10] = np.nan
    Image.fromarray(nan).save(im/'nan.tiff')                                         # one NaN pixel
    os.symlink(tmp_path/'gone.png', links/'dangling.png')
    before = checksums(im)
    code, out, err = run(capsys, 'predict', model, im/'u8.png', im/'f32.tiff', im/'nan.tiff', im/'missing.png', links/'dangling.png', '-q')
    assert code == 0, err
    lines = [json.loads(l) for l in out.splitlines()]
    assert [Path(l['path']).name for l in lines] == ['u8.png', 'f32.tiff', 'nan.tiff', 'missing.png', 'dangling.png']
    assert lines[3]['error'] == 'no such file or folder' and 'dangling' in lines[4]['error'], lines[3:]
    p = [l['probabilities']['PNEUMONIA'] for l in lines[:3]]
    assert abs(p[0] - p[1]) < 1e-3 and abs(p[0] - p[2]) < 0.05, p    # not a black image
    assert '2 of 5' in err
    assert checksums(im) == before
