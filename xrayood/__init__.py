__version__ = "0.0.1"

import warnings as _warnings
# fastai, which every module of xrayood imports, decorates a few functions with `torch.jit.script`; torch >= 2.14 reports
# that as deprecated each time fastai is imported. A notice for fastai's maintainers, not for a learner: silenced here,
# where `import xrayood` (a lesson's first cell) runs before fastai is imported.
_warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
