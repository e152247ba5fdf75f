"""A generated corpus of awkward inputs, each with its documented behaviour (see "What happens to bad files" in 01_data).

- `make_corpus(root)`: one file per case, flat in `root` -> `{case id: Case}`
- `make_kaggle_tree(root)`: a small valid Kaggle-layout tree with those files (and structural problems) mixed in
- `make_bad_layouts(root)`: folders that are not in the Kaggle layout, with the error each must give
- `checksums(root)`: SHA-256 of every file and the list of names, to prove a folder was left untouched

Everything is deterministic (fixed arrays, no clocks, fixed DICOM UIDs) and small on disk: the 8000×8000 image is a
mostly uniform PNG of about 80 KB. The DICOM file is written byte by byte, so the corpus does not need pydicom.
`expect` is 'read' (read as documented, kept in manifests, predicted by the CLI) or 'skip' (left out of manifests and
reported with a reason containing `reason`; an "error" line in `xrayood predict`).
"""
from __future__ import annotations
import hashlib, importlib.util, io, os, struct, zlib
from dataclasses import dataclass, field
from pathlib import Path
import numpy as np
from PIL import Image

__all__ = ['Case', 'has_pydicom', 'ramp', 'make_corpus', 'make_kaggle_tree', 'make_bad_layouts', 'checksums', 'LATIN1_NAME']

LATIN1_NAME = b'caf\xe9.png'   # 'café.png' in Latin-1: not valid UTF-8

def has_pydicom() -> bool: return importlib.util.find_spec('pydicom') is not None

@dataclass
class Case:
    "One corpus file and what the library must do with it"
    id: str
    path: Path
    expect: str                      # 'read' or 'skip'
    what: str                        # in words
    reason: str = None               # 'skip': a substring of the reported reason
    size: tuple = None               # 'read': (width, height) of the image read
    gray: np.ndarray = None          # 'read': the expected 8-bit gray pixels (small images)
    tol_max: int = 0                 # largest allowed |read - gray| (JPEG is lossy)
    tol_mean: float = 0.
    probes: dict = field(default_factory=dict)  # 'read': {(x, y): value} (large images)

def ramp(w=64, h=48, seed=0) -> np.ndarray:
    "A gray uint8 test picture: a horizontal gradient with a little seeded texture"
    rng = np.random.default_rng(seed)
    a = np.tile(np.linspace(0, 255, w), (h, 1)) + rng.normal(0, 8, (h, w))
    return a.clip(0, 255).round().astype(np.uint8)

# --- writers: each writes one file at `p` and returns the Case fields that describe it ---

def _jpeg_bytes(a, **kw):
    b = io.BytesIO(); Image.fromarray(a).save(b, 'JPEG', **kw); return b.getvalue()

def _truncated(p):
    b = _jpeg_bytes(ramp(seed=1), quality=90); p.write_bytes(b[:len(b)//2])
    return dict(expect='skip', what='a JPEG cut in half', reason='truncated')

def _zero(p):
    p.write_bytes(b'')
    return dict(expect='skip', what='a zero-byte file', reason='empty file (0 bytes)')

def _text(p):
    p.write_text('this is not an image\n')
    return dict(expect='skip', what='a text file named .png', reason='not an image (Pillow cannot identify the content)')

def _thumbs(p):
    p.write_bytes(b'\xd0\xcf\x11\xe0' + bytes(60))
    return dict(expect='skip', what='Windows Thumbs.db', reason="not an image file (extension '.db')")

def _png16(p):
    a = np.tile(np.linspace(0, 65535, 64).round().astype(np.uint16), (48, 1))
    Image.fromarray(a).save(p)
    return dict(expect='read', what='a 16-bit grayscale PNG, full-range gradient', size=(64, 48),
                gray=np.round(a/65535*255).astype(np.uint8))

def _cmyk(p):
    g = ramp(seed=2)
    Image.fromarray(g).convert('RGB').convert('CMYK').save(p, 'JPEG', quality=95)
    return dict(expect='read', what='a CMYK JPEG of a gray picture', size=(64, 48), gray=g, tol_max=16, tol_mean=2.)

def _rgba(p):
    g = ramp(seed=3)
    alpha = np.full_like(g, 255); alpha[:, 32:48] = 128; alpha[:, 48:] = 0
    Image.fromarray(np.dstack([g, g, g, alpha]), 'RGBA').save(p)
    return dict(expect='read', what='an RGBA PNG: opaque, half-transparent and transparent columns', size=(64, 48),
                gray=np.round(g.astype(float)*alpha/255).astype(np.uint8), tol_max=1, tol_mean=.5)

def _palette(p):
    idx = ramp(seed=4)
    im = Image.fromarray(idx, 'P'); im.putpalette([255 - i for i in range(256) for _ in range(3)])  # inverted gray palette
    im.save(p)
    return dict(expect='read', what='a palette PNG (inverted gray palette)', size=(64, 48), gray=255 - idx)

def _one_pixel(p):
    Image.new('L', (1, 1), 200).save(p)
    return dict(expect='read', what='a 1×1 image', size=(1, 1), gray=np.array([[200]], np.uint8))

def _large(p):
    a = np.full((8000, 8000), 128, np.uint8); a[::1000] = 255; a[:, 4000] = 0
    Image.fromarray(a).save(p, compress_level=9)
    return dict(expect='read', what='an 8000×8000 PNG (64 Mpx, mostly uniform)', size=(8000, 8000),
                probes={(0, 0): 255, (500, 500): 128, (7999, 7999): 128, (4000, 500): 0, (10, 3000): 255})

def _chunk(kind, data): return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))

def _bomb(p):
    "A PNG whose header claims 20000×20000 pixels (400 Mpx): Pillow refuses it before decoding anything"
    p.write_bytes(b'\x89PNG\r\n\x1a\n' + _chunk(b'IHDR', struct.pack('>IIBBBBB', 20000, 20000, 8, 0, 0, 0, 0)) +
                  _chunk(b'IDAT', zlib.compress(b'\0'*64)) + _chunk(b'IEND', b''))
    return dict(expect='skip', what='a PNG header claiming 20000×20000 pixels', reason='too large to decode safely')

def _el(group, elem, vr, value:bytes) -> bytes:
    "One explicit-VR little-endian DICOM element"
    if len(value) % 2: value += b'\0' if vr in ('UI', 'OB') else b' '
    head = struct.pack('<HH', group, elem) + vr.encode()
    if vr in ('OB', 'OW', 'OF', 'SQ', 'UT', 'UN'): return head + b'\0\0' + struct.pack('<I', len(value)) + value
    return head + struct.pack('<H', len(value)) + value

def write_dicom(p, a:np.ndarray, photometric:str='MONOCHROME2', bits:int=12):
    "A minimal DICOM file (digital X-ray, explicit VR little endian) holding the uint16 array `a`, written without pydicom"
    sop, inst, ts = b'1.2.840.10008.5.1.4.1.1.1.1', b'1.2.826.0.1.3680043.10.1', b'1.2.840.10008.1.2.1'
    meta = (_el(2, 1, 'OB', b'\0\1') + _el(2, 2, 'UI', sop) + _el(2, 3, 'UI', inst) + _el(2, 0x10, 'UI', ts) +
            _el(2, 0x12, 'UI', b'1.2.826.0.1.3680043.10.2'))
    us = lambda v: struct.pack('<H', v)
    ds = (_el(8, 0x16, 'UI', sop) + _el(8, 0x18, 'UI', inst) + _el(8, 0x60, 'CS', b'DX') +
          _el(0x28, 2, 'US', us(1)) + _el(0x28, 4, 'CS', photometric.encode()) + _el(0x28, 0x10, 'US', us(a.shape[0])) +
          _el(0x28, 0x11, 'US', us(a.shape[1])) + _el(0x28, 0x100, 'US', us(16)) + _el(0x28, 0x101, 'US', us(bits)) +
          _el(0x28, 0x102, 'US', us(bits - 1)) + _el(0x28, 0x103, 'US', us(0)) +
          _el(0x7FE0, 0x10, 'OW', a.astype('<u2').tobytes()))
    Path(p).write_bytes(bytes(128) + b'DICM' + _el(2, 0, 'UL', struct.pack('<I', len(meta))) + meta + ds)

def _dicom(p):
    a = np.tile(np.linspace(0, 4095, 64).round().astype(np.uint16), (48, 1))
    write_dicom(p, a)
    if has_pydicom(): return dict(expect='read', what='a 12-bit DICOM X-ray (pydicom installed)', size=(64, 48),
                                  gray=np.round(a/4095*255).astype(np.uint8))
    return dict(expect='skip', what='a 12-bit DICOM X-ray (pydicom missing)', reason='pip install pydicom')

def _latin1(p):
    g = ramp(seed=5)
    b = io.BytesIO(); Image.fromarray(g).save(b, 'PNG')
    fd = os.open(os.fsencode(p), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try: os.write(fd, b.getvalue())
    finally: os.close(fd)
    return dict(expect='read', what='a PNG whose file name is not valid UTF-8 (Latin-1 café)', size=(64, 48), gray=g)

# id: (file name, writer)
CASES = {
    'truncated_jpeg': ('truncated.jpeg', _truncated),
    'zero_bytes':     ('empty.jpeg', _zero),
    'text_as_png':    ('text.png', _text),
    'thumbs_db':      ('Thumbs.db', _thumbs),
    'png16':          ('gray16.png', _png16),
    'cmyk_jpeg':      ('cmyk.jpeg', _cmyk),
    'rgba_png':       ('rgba.png', _rgba),
    'palette_png':    ('palette.png', _palette),
    'one_pixel':      ('one_pixel.png', _one_pixel),
    'large_8000':     ('large_8000.png', _large),
    'bomb_header':    ('bomb.png', _bomb),
    'dicom':          ('xray.dcm', _dicom),
    'latin1_name':    (os.fsdecode(LATIN1_NAME), _latin1),
}

def _write_case(cid, p:Path) -> Case|None:
    "Write case `cid` at `p`; `None` when this file system refuses the file name (non-UTF-8 names on macOS)"
    p.parent.mkdir(parents=True, exist_ok=True)
    try: return Case(id=cid, path=p, **CASES[cid][1](p))
    except (OSError, UnicodeEncodeError):
        if cid == 'latin1_name': return None
        raise

def make_corpus(root, # Folder to write into (created)
                big:bool=True, # Include the 8000×8000 image (about 1 s to write, 80 KB on disk)
               ) -> dict:
    "Write one file per awkward case into `root`; `{case id: Case}` (without 'latin1_name' where the file system refuses it)"
    root = Path(root); root.mkdir(parents=True, exist_ok=True)
    out = {}
    for cid, (name, _) in CASES.items():
        if cid == 'large_8000' and not big: continue
        c = _write_case(cid, root/name)
        if c is not None: out[cid] = c
    return out

def make_kaggle_tree(root, # Folder to write into: the layout goes to `root/chest_xray/`
                     n:int=12, # Good images per class in train (one patient each; a third of PNEUMONIA are virus)
                     n_test:int=3, # Good images per class in test
                     size:int=64, # Side of the good images
                     bad:bool=True, # Mix in the corpus files and the structural problems
                     big:bool=False, # Also the 8000×8000 image (slow to train on: about 1 s per read)
                    ) -> dict:
    """A small Kaggle-layout tree of good JPEGs with every corpus case mixed into train/NORMAL and train/PNEUMONIA,
    an empty class folder (val/NORMAL, val/PNEUMONIA holding only .DS_Store), an unknown class folder (train/COVID19)
    and a stray file in train/. Returns dict(root, cases={rel path: Case}, counts={(split, label): rows expected in the
    manifest}, skipped={rel path: substring of the reason}) with paths relative to `root`."""
    kr = Path(root)/'chest_xray'
    counts, cases, skipped = {}, {}, {}
    for split, k in [('train', n), ('test', n_test)]:
        for i in range(k):
            for label, name in [('NORMAL', f'IM-{i:04d}-0001.jpeg'),
                                ('PNEUMONIA', f'person{i}_{"virus" if i % 3 == 2 else "bacteria"}_{i + 1}.jpeg')]:
                p = kr/split/label/(f'NORMAL2-{name}' if split == 'test' and label == 'NORMAL' else name)
                p.parent.mkdir(parents=True, exist_ok=True)
                a = ramp(size, size, seed=i + 1000*(label == 'PNEUMONIA') + 100*(split == 'test'))
                if label == 'PNEUMONIA': a = (a.astype(int)*3//4 + 40).astype(np.uint8)   # a little different
                Image.fromarray(a).save(p, quality=90)
                counts[(split, label)] = counts.get((split, label), 0) + 1
    if bad:
        for j, cid in enumerate(c for c in CASES if big or c != 'large_8000'):
            name = CASES[cid][0]
            label = 'NORMAL' if j % 2 == 0 else 'PNEUMONIA'
            stem = f'IM-09{j:02d}-0001' if label == 'NORMAL' else f'person9{j:02d}_bacteria_1'
            fname = name if name == 'Thumbs.db' else f'{stem}-{name}'
            c = _write_case(cid, kr/'train'/label/fname)
            if c is None: continue
            rel = os.path.relpath(c.path, root)
            cases[rel] = c
            if c.expect == 'read': counts[('train', label)] += 1
            else: skipped[rel] = c.reason
        (kr/'val'/'NORMAL').mkdir(parents=True)
        (kr/'val'/'PNEUMONIA').mkdir(parents=True)
        (kr/'val'/'PNEUMONIA'/'.DS_Store').write_bytes(b'\0\0\0\1Bud1')        # hidden: ignored, so the folder is empty
        skipped['chest_xray/val/NORMAL'] = "empty class folder: no NORMAL images in split 'val'"
        skipped['chest_xray/val/PNEUMONIA'] = "empty class folder: no PNEUMONIA images in split 'val'"
        (kr/'train'/'COVID19').mkdir()
        for i in range(2): Image.fromarray(ramp(size, size, 500 + i)).save(kr/'train'/'COVID19'/f'covid{i}.jpeg')
        skipped['chest_xray/train/COVID19'] = "unknown class folder 'COVID19', not NORMAL or PNEUMONIA: its 2 file(s) are left out"
        Image.fromarray(ramp(size, size, 600)).save(kr/'train'/'stray.jpeg')
        skipped['chest_xray/train/stray.jpeg'] = 'not in a class folder'
    return dict(root=Path(root), kaggle_root=kr, cases=cases, counts=counts, skipped=skipped)

def make_bad_layouts(root) -> dict:
    "Folders that are not in the Kaggle layout: `{id: dict(path, error=exception type, match=substring of the message)}`"
    root = Path(root)
    def img(p, v=90):
        p.parent.mkdir(parents=True, exist_ok=True); Image.new('L', (16, 16), v).save(p)
    for f in ['a.png', 'b.jpeg']: img(root/'flat'/f)
    for f in ['NORMAL/train/IM-0001-0001.png', 'PNEUMONIA/train/person1_bacteria_1.png']: img(root/'swapped'/f)
    for f in ['train/normal/IM-0001-0001.png', 'train/pneumonia/person1_bacteria_1.png']: img(root/'lowercase'/f)
    for f in ['data/NORMAL/IM-0001-0001.png', 'data/PNEUMONIA/person1_bacteria_1.png']: img(root/'no_split'/f)
    (root/'empty').mkdir(parents=True)
    (root/'all_unreadable'/'train'/'NORMAL').mkdir(parents=True)
    (root/'all_unreadable'/'train'/'NORMAL'/'IM-0001-0001.jpeg').write_bytes(b'')
    (root/'all_unreadable'/'train'/'PNEUMONIA').mkdir(parents=True)
    (root/'all_unreadable'/'train'/'PNEUMONIA'/'person1_bacteria_1.png').write_text('not an image')
    return {
        'flat': dict(path=root/'flat', error=ValueError, match='found 2 image file(s) but no NORMAL/ or PNEUMONIA/ folder'),
        'swapped': dict(path=root/'swapped', error=ValueError, match='not NORMAL/train/'),
        'lowercase': dict(path=root/'lowercase', error=ValueError, match='folder names are case-sensitive'),
        'no_split': dict(path=root/'no_split', error=ValueError, match="outside a train/, val/ or test/ folder"),
        'empty': dict(path=root/'empty', error=ValueError, match='found no image files at all'),
        'all_unreadable': dict(path=root/'all_unreadable', error=ValueError, match='No readable images under'),
        'missing': dict(path=root/'missing', error=FileNotFoundError, match='is not a folder'),
    }

def checksums(root) -> dict:
    "`{relative path: SHA-256 of the bytes}` for every file under `root` (and `'dir'` for every folder): names and contents"
    root = Path(root)
    out = {}
    for d, dirs, files in os.walk(root):
        for o in dirs: out[os.path.relpath(os.path.join(d, o), root)] = 'dir'
        for f in files:
            p = os.path.join(d, f)
            with open(p, 'rb') as fh: out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out
