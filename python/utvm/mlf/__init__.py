"""Read TVM Model Library Format (MLF) exports: folders, .tar and .tar.gz archives.

Typical use::

    from utvm.mlf import open_mlf

    with open_mlf("model.tar") as mlf:
        print(mlf.executor, [t.shape for t in mlf.inputs])
"""

from utvm.mlf.archive import DEFAULT_LIMITS, ExtractionLimits, extract_archive, is_tar_archive
from utvm.mlf.dtypes import numpy_dtype, tensor_bytes
from utvm.mlf.loader import open_mlf
from utvm.mlf.metadata import SUPPORTED_VERSIONS, load_metadata
from utvm.mlf.model import ModelLibrary
from utvm.mlf.tensors import TensorInfo

__all__ = [
    "DEFAULT_LIMITS",
    "SUPPORTED_VERSIONS",
    "ExtractionLimits",
    "ModelLibrary",
    "TensorInfo",
    "extract_archive",
    "is_tar_archive",
    "load_metadata",
    "numpy_dtype",
    "open_mlf",
    "tensor_bytes",
]
