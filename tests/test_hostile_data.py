"Hostile data: each bad .npz, image or manifest is either read correctly or stops with one line that says what to change."
import os
from pathlib import Path
import numpy as np, pandas as pd, pytest
from PIL import Image

from xrayood.data import (check_manifest, load_data, load_image, load_manifest, medmnist_manifest, read_xray,
                          save_manifest, scale_to_uint8, to_gray8)
from conftest import ramp

def one_line(excinfo):
    "The message of a raised error, checked to be a single line"
    msg = str(excinfo.value)
    assert len(msg.splitlines()) == 1, msg
    return msg

# --- .npz files ---

IMGS = np.random.default_rng(0).integers(0, 256, (4, 8, 8), dtype=np.uint8)
LABS = np.array([[0], [1], [1], [0]])

def npz(path, **arrays):
    np.savez(path, **arrays)
    return path

def npz_error(path):
    with pytest.raises(ValueError) as e: medmnist_manifest(path)
    msg = one_line(e)
    assert path.name in msg, msg               # names the file
    return msg

def test_zero_byte_npz(tmp_path):
    (tmp_path/'empty.npz').write_bytes(b'')
    assert 'empty file (0 bytes)' in npz_error(tmp_path/'empty.npz')

def test_npz_that_is_not_a_zip(tmp_path):
    (tmp_path/'fake.npz').write_text('<html>404 not found</html>')
    assert 'not a .npz file' in npz_error(tmp_path/'fake.npz')

def test_npz_without_labels(tmp_path):
    msg = npz_error(npz(tmp_path/'nolabels.npz', train_images=IMGS))
    assert 'train_images but no train_labels' in msg

def test_npz_without_any_split(tmp_path):
    msg = npz_error(npz(tmp_path/'other.npz', x=IMGS, y=LABS))
    assert 'no train_images/val_images/test_images' in msg and 'x, y' in msg

def test_npz_label_2(tmp_path):
    msg = npz_error(npz(tmp_path/'three.npz', train_images=IMGS, train_labels=np.array([[0], [1], [2], [0]])))
    assert 'train_labels holds 2' in msg and '0 (NORMAL) and 1 (PNEUMONIA)' in msg

def test_npz_more_labels_than_images(tmp_path):
    msg = npz_error(npz(tmp_path/'more.npz', train_images=IMGS, train_labels=np.r_[LABS, LABS]))
    assert '8 train_labels for 4 train_images' in msg

def test_npz_images_of_wrong_rank(tmp_path):
    msg = npz_error(npz(tmp_path/'flat.npz', train_images=IMGS.reshape(4, 64), train_labels=LABS))
    assert 'train_images has shape (4, 64)' in msg

def test_npz_multi_label(tmp_path):
    msg = npz_error(npz(tmp_path/'multi.npz', train_images=IMGS, train_labels=np.zeros((4, 3), int)))
    assert 'train_labels has shape (4, 3)' in msg

def test_float_npz_in_0_1_is_not_black(tmp_path):
    df = medmnist_manifest(npz(tmp_path/'float.npz', train_images=IMGS/255., train_labels=LABS,
                                test_images=IMGS.astype(np.float32)/255, test_labels=LABS.ravel()))
    assert df.label.tolist()[:4] == ['NORMAL', 'PNEUMONIA', 'PNEUMONIA', 'NORMAL']
    for i, row in df.iterrows():
        im = load_image(row)
        assert im.mode == 'L'
        np.testing.assert_array_equal(np.asarray(im), IMGS[row.idx])

def test_npz_through_load_data(tmp_path):
    f = npz(tmp_path/'mine.npz', train_images=IMGS, train_labels=LABS, val_images=IMGS, val_labels=LABS)
    df = load_data(f)
    assert sorted(df.split.unique()) == ['train', 'valid'] and df.attrs['source'] == 'MedMNIST (mine.npz)'
    np.testing.assert_array_equal(np.asarray(load_image(df[df.split == 'valid'].iloc[2])), IMGS[2])

# --- images ---

GRAY = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (16, 1))

def test_float_tiff_in_0_1(tmp_path):
    Image.fromarray(GRAY.astype(np.float32)/255).save(tmp_path/'float.tif')
    assert Image.open(tmp_path/'float.tif').mode == 'F'
    np.testing.assert_array_equal(np.asarray(read_xray(tmp_path/'float.tif')), GRAY)

def test_float_arrays_and_mode_F(tmp_path):
    np.testing.assert_array_equal(np.asarray(to_gray8(GRAY/255.)), GRAY)
    np.testing.assert_array_equal(np.asarray(read_xray(Image.fromarray(GRAY.astype(np.float32)/255))), GRAY)
    np.testing.assert_array_equal(np.asarray(read_xray(GRAY.astype(np.float64))), GRAY)   # floats in 0–255 stay

@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_one_nonfinite_pixel_does_not_blacken(tmp_path, bad):
    a = GRAY.astype(np.float32)/255
    a[2, 3] = bad
    Image.fromarray(a).save(tmp_path/'nan.tif')
    want = GRAY.copy(); want[2, 3] = 0
    np.testing.assert_array_equal(np.asarray(read_xray(tmp_path/'nan.tif')), want)
    np.testing.assert_array_equal(scale_to_uint8(a), want)

def test_all_nan_is_black_not_an_error():
    np.testing.assert_array_equal(scale_to_uint8(np.full((2, 2), np.nan)), np.zeros((2, 2), np.uint8))

def test_16bit_png_scaled(tmp_path):
    a12 = (GRAY.astype(np.int64)*4095//252).astype(np.uint16)       # 12-bit data in a 16-bit PNG
    Image.fromarray(a12).save(tmp_path/'deep.png')
    got = np.asarray(read_xray(tmp_path/'deep.png'))
    assert got.dtype == np.uint8 and got.max() == 255 and got.min() == 0
    np.testing.assert_array_equal(got, np.round(a12/4095*255).astype(np.uint8))
    Image.fromarray(GRAY.astype(np.uint16)*257).save(tmp_path/'full.png')
    np.testing.assert_array_equal(np.asarray(read_xray(tmp_path/'full.png')), GRAY)

def test_one_dicom_reader():
    import xrayood
    src = Path(xrayood.__file__).parent
    readers = [p.name for p in src.glob('*.py') if 'dcmread' in p.read_text()]
    assert readers == ['data.py'], readers

# --- manifests ---

def manifest(tmp_path, n=4, **cols):
    "A valid manifest of `n` real image files under `tmp_path/imgs`"
    paths = []
    for i in range(n):
        p = tmp_path/'imgs'/f'IM-{i:04d}-0001.png'; p.parent.mkdir(parents=True, exist_ok=True)
        ramp(16, seed=i).save(p); paths.append(str(p))
    df = pd.DataFrame(dict(path=paths, split=['train', 'train', 'valid', 'test'][:n] + ['train']*(n - 4),
                           label=(['NORMAL', 'PNEUMONIA']*n)[:n], label3=(['NORMAL', 'VIRUS']*n)[:n]))
    return df.assign(**cols)

def manifest_error(df, task='binary'):
    with pytest.raises(ValueError) as e: check_manifest(df, task)
    return one_line(e)

def test_valid_manifest_passes(tmp_path):
    df = manifest(tmp_path)
    pd.testing.assert_frame_equal(check_manifest(df), df)

def test_nan_labels(tmp_path):
    msg = manifest_error(manifest(tmp_path, label=['NORMAL', np.nan, 'PNEUMONIA', None]))
    assert '2 row(s) without a label' in msg and 'IM-0001-0001.png' in msg

def test_lowercase_labels_accepted(tmp_path):
    df = manifest(tmp_path, label=['normal', 'pneumonia', ' Pneumonia ', 'NORMAL'], label3=['normal', 'bacteria', 'virus', 'Normal'])
    out = check_manifest(df, '3class')
    assert out.label.tolist() == ['NORMAL', 'PNEUMONIA', 'PNEUMONIA', 'NORMAL']
    assert out.label3.tolist() == ['NORMAL', 'BACTERIA', 'VIRUS', 'NORMAL']
    save_manifest(df, tmp_path/'lower.csv')
    assert load_manifest(tmp_path/'lower.csv').label.tolist() == out.label.tolist()

def test_unknown_label_covid(tmp_path):
    msg = manifest_error(manifest(tmp_path, label=['NORMAL', 'COVID', 'PNEUMONIA', 'covid']))
    assert "unknown label 'COVID'" in msg and '2 row(s)' in msg and 'NORMAL, PNEUMONIA' in msg

def test_unknown_label3(tmp_path):
    msg = manifest_error(manifest(tmp_path, label3=['NORMAL', 'FUNGAL', 'VIRUS', 'NORMAL']), '3class')
    assert "unknown label3 'FUNGAL'" in msg and 'NORMAL, BACTERIA, VIRUS' in msg

def test_duplicates_within_a_split(tmp_path):
    df = manifest(tmp_path)
    msg = manifest_error(pd.concat([df, df.iloc[[0]]], ignore_index=True))
    assert '1 duplicate row(s)' in msg and 'IM-0000-0001.png in train' in msg

def test_duplicates_across_splits(tmp_path):
    df = manifest(tmp_path)
    df.loc[3, 'path'] = df.path[0]                                   # the same image in train and test: a leak
    msg = manifest_error(df)
    assert '1 duplicate row(s)' in msg and 'in test and train' in msg

def test_medmnist_rows_are_not_duplicates_of_each_other():
    df = medmnist_manifest()
    assert len(check_manifest(df)) == len(df)                        # one file, many images: `idx` tells them apart
    with pytest.raises(ValueError, match='duplicate'): check_manifest(pd.concat([df, df.iloc[[5]]]))

def test_header_only(tmp_path):
    (tmp_path/'m.csv').write_text('path,split,label,label3\n')
    with pytest.raises(ValueError) as e: load_manifest(tmp_path/'m.csv')
    msg = one_line(e)
    assert 'm.csv' in msg and 'no rows (only a header)' in msg

def test_empty_csv(tmp_path):
    (tmp_path/'m.csv').write_text('')
    with pytest.raises(ValueError) as e: load_manifest(tmp_path/'m.csv')
    assert 'empty file' in one_line(e)

def test_missing_columns(tmp_path):
    msg = manifest_error(manifest(tmp_path).drop(columns=['split']))
    assert 'no split column' in msg and 'path, split, label' in msg
    msg = manifest_error(manifest(tmp_path).drop(columns=['label3']), '3class')
    assert 'no label3 column' in msg

def test_unknown_split(tmp_path):
    msg = manifest_error(manifest(tmp_path, split=['train', 'Train', 'validation', 'test']))
    assert "unknown split name 'Train', 'validation'" in msg and 'train, valid, val, test' in msg

def test_3class_on_pneumoniamnist():
    with pytest.raises(ValueError) as e: load_data(task='3class')
    assert 'PneumoniaMNIST has no BACTERIA/VIRUS labels' in one_line(e)

def test_manifest_relative_paths_read_back_from_another_cwd(tmp_path, monkeypatch):
    (tmp_path/'work'/'runs').mkdir(parents=True)
    df = manifest(tmp_path/'work')
    monkeypatch.chdir(tmp_path/'work')
    rel = df.assign(path=[os.path.relpath(p) for p in df.path])       # imgs/IM-0000-0001.png, relative to this cwd
    f = save_manifest(rel, 'runs/manifest.csv')
    monkeypatch.chdir(tmp_path)                                       # somewhere else entirely
    back = load_manifest(tmp_path/'work'/'runs'/'manifest.csv')
    assert back.path.tolist() == df.path.tolist() and all(os.path.isabs(p) for p in back.path)
    np.testing.assert_array_equal(np.asarray(read_xray(back.path[1])), np.asarray(ramp(16, seed=1)))
    monkeypatch.chdir(tmp_path/'work'/'imgs')
    back = load_manifest(os.path.relpath(tmp_path/'work'/'runs'/'manifest.csv'))   # a relative manifest path too
    assert read_xray(back.path[0]).size == (16, 16)

def test_absolute_paths_stay_absolute(tmp_path):
    df = manifest(tmp_path)
    save_manifest(df, tmp_path/'out'/'m.csv')
    assert pd.read_csv(tmp_path/'out'/'m.csv').path.tolist() == df.path.tolist()

def test_load_manifest_errors_name_the_file(tmp_path):
    save_manifest(manifest(tmp_path, label=['NORMAL', 'COVID', 'NORMAL', 'NORMAL']), tmp_path/'bad.csv')
    with pytest.raises(ValueError) as e: load_manifest(tmp_path/'bad.csv')
    assert one_line(e).startswith(str(tmp_path/'bad.csv'))
    with pytest.raises(FileNotFoundError): load_manifest(tmp_path/'none.csv')

# --- the data entry point ---

def test_load_data_bundled():
    df = load_data()
    assert df.split.value_counts().to_dict() == {'train': 4708, 'test': 624, 'valid': 524}
    assert df.attrs['source'] == 'PneumoniaMNIST (bundled, 28 px)'
    assert load_data('bundled').equals(df)

def test_load_data_missing_and_wrong_paths(tmp_path):
    with pytest.raises(FileNotFoundError) as e: load_data(tmp_path/'nowhere')
    assert 'No such file or folder' in one_line(e)
    (tmp_path/'notes.txt').write_text('hi')
    with pytest.raises(ValueError) as e: load_data(tmp_path/'notes.txt')
    assert 'must be a folder' in one_line(e)

def test_load_data_kaggle_folder(kaggle_tree):
    df = load_data(kaggle_tree, seed=0)
    assert set(df.split) == {'train', 'valid', 'test'}
    tr, va = set(df.patient[df.split == 'train']), set(df.patient[df.split == 'valid'])
    assert len(va) and not tr & va
    assert df.attrs['source'] == 'Kermany et al. (download)'
    assert len(load_data(kaggle_tree, seed=0, task='3class')) == len(df)

def test_load_data_manifest_folder_checked(tmp_path):
    df = manifest(tmp_path, 12)
    save_manifest(df.assign(label=['COVID'] + df.label.tolist()[1:]), tmp_path/'manifest.csv')
    with pytest.raises(ValueError) as e: load_data(tmp_path)
    assert "unknown label 'COVID'" in one_line(e)
    save_manifest(df, tmp_path/'manifest.csv')
    got = load_data(tmp_path)
    assert got.split.tolist() == df.split.tolist()                    # it has a `valid` split already: kept
