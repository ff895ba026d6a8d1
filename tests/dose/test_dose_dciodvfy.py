"""Every DICOM file flexmrt writes passes dicom3tools' dciodvfy (no Error lines).

dciodvfy is Debian's ``dicom3tools`` (``make sysdeps`` installs it); without it the
test skips and says why, unless ``FLEXMRT_REQUIRE_DCIODVFY`` is set (CI), which makes
its absence a failure. Debian 12's dciodvfy asserts on 32-bit pixel data, so the RT
Dose header is checked on a copy with its pixels in 16 bits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest

from flexmrt.gpu_dose import phantom
from flexmrt.gpu_dose.dicom_io.rtdose import RT_DOSE_STORAGE
from flexmrt.gpu_dose.pipeline import Settings, run_study

DCIODVFY = shutil.which("dciodvfy")


def _errors(path: Path) -> list[str]:
    assert DCIODVFY is not None
    out = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=60)
    lines = (out.stdout + out.stderr).splitlines()
    assert not any("Assertion" in line for line in lines), lines
    return [f"{path.name}: {line}" for line in lines if line.startswith("Error")]


def _checkable(path: Path, tmp: Path) -> Path:
    """The file itself, or for RT Dose a copy with 16-bit pixels (same header)."""
    ds = pydicom.dcmread(path)
    if ds.SOPClassUID != RT_DOSE_STORAGE:
        return path
    ds.PixelData = (ds.pixel_array >> 16).astype(np.uint16).tobytes()
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    copy = tmp / f"{path.stem}-16bit.dcm"
    ds.save_as(copy, enforce_file_format=True)
    return copy


@pytest.mark.skipif(
    DCIODVFY is None and not os.environ.get("FLEXMRT_REQUIRE_DCIODVFY"),
    reason="dicom3tools' dciodvfy is not installed (make sysdeps; CI installs it)",
)
def test_every_file_flexmrt_writes_passes_dciodvfy(tmp_path):
    assert DCIODVFY is not None, "FLEXMRT_REQUIRE_DCIODVFY is set but dciodvfy is missing"
    shape = (24, 28, 32)
    study = phantom.make_phantom(tmp_path / "nm", shape=shape, rtstruct=True)
    slices = phantom.make_phantom(tmp_path / "pt", shape=shape, layout="slices")
    run_study(study.spect, study.masks, tmp_path / "dose", study.ct, Settings(method="hanscheid"))
    run_study(slices.spect, slices.masks, tmp_path / "dose2", None, Settings())
    files = sorted(p for p in tmp_path.rglob("*.dcm") if "-16bit" not in p.name)
    kinds = {pydicom.dcmread(p, stop_before_pixels=True).Modality for p in files}
    assert kinds == {"NM", "PT", "CT", "SEG", "RTSTRUCT", "RTDOSE"}
    errors = [e for p in files for e in _errors(_checkable(p, tmp_path))]
    assert errors == []
