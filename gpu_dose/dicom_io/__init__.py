"""DICOM in and out — the only part of gpu_dose that calls pydicom and highdicom.

It hands plain NumPy arrays, :class:`~gpu_dose.grid.Geometry` (spacing in mm,
orientation) and timezone-aware datetimes to the math.
"""

from flexmrt.gpu_dose.dicom_io.ct import CtImage, CtSeries, open_ct, read_ct
from flexmrt.gpu_dose.dicom_io.masks import read_masks
from flexmrt.gpu_dose.dicom_io.rtdose import read_rt_dose, write_rt_dose
from flexmrt.gpu_dose.dicom_io.spect import SpectImage, read_spect
from flexmrt.gpu_dose.dicom_io.write import (
    Study,
    write_ct_series,
    write_nm_multiframe,
    write_rtstruct,
    write_seg,
    write_slice_series,
)

__all__ = [
    "CtImage",
    "CtSeries",
    "SpectImage",
    "Study",
    "open_ct",
    "read_ct",
    "read_masks",
    "read_rt_dose",
    "read_spect",
    "write_ct_series",
    "write_nm_multiframe",
    "write_rt_dose",
    "write_rtstruct",
    "write_seg",
    "write_slice_series",
]
