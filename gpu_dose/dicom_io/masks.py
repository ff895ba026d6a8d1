"""Read structure masks from DICOM SEG (highdicom) or RTSTRUCT onto the SPECT grid.

SEG segments are resampled trilinearly onto the SPECT grid and thresholded at
one half (a SPECT voxel belongs to a structure when at least half of it does).
RTSTRUCT closed planar contours are rasterised on the SPECT grid: each SPECT
slice takes the contour plane of that ROI nearest to its centre (within half a
plane spacing), and a voxel is inside when its centre is inside an odd number of
that plane's contours (even-odd rule, so holes work).
"""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from flexmrt.gpu_dose.dicom_io.common import any_value, load_datasets, modality
from flexmrt.gpu_dose.dicom_io.header import reading
from flexmrt.gpu_dose.dicom_io.structure_checks import check_rtstruct, check_seg
from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.grid import Geometry, resample

__all__ = ["read_masks"]

_FOR_TAG = "FrameOfReferenceUID (0020,0052)"


def _check_frame(path: Path, uid: str, target: Geometry, tag: str = _FOR_TAG) -> None:
    if target.frame_of_reference_uid and uid and uid != target.frame_of_reference_uid:
        raise DoseError(
            "frame_of_reference_mismatch",
            f"frame of reference {uid} differs from the SPECT's {target.frame_of_reference_uid}",
            path=str(path),
            tag=tag,
            fix="register the masks to the SPECT and export them in its frame",
        )


def _on_target(
    path: Path, name: str, fraction: NDArray[np.bool_], source: Geometry, target: Geometry
) -> NDArray[np.bool_]:
    """Resample a 0–1 mask; error when nothing of it lands inside the SPECT image."""
    if not fraction.any():
        raise DoseError(
            "empty_mask",
            f"segment {name!r} is empty",
            path=str(path),
            tag=name,
            fix="remove the empty segment or fix the segmentation",
        )
    mask: NDArray[np.bool_] = resample(fraction.astype(np.float32), source, target, order=1) >= 0.5
    if not mask.any():
        raise DoseError(
            "mask_outside_image",
            f"segment {name!r} lies outside the SPECT image",
            path=str(path),
            tag=name,
            fix="check the masks belong to this SPECT and cover its field of view",
        )
    return mask


def _read_seg(path: Path, ds: Dataset, target: Geometry) -> dict[str, NDArray[np.bool_]]:
    seg = hd.seg.Segmentation.from_dataset(ds)
    _check_frame(path, str(any_value(ds, "FrameOfReferenceUID", "")), target)
    masks = {}
    for item in ds.SegmentSequence:
        number, label = int(item.SegmentNumber), str(item.SegmentLabel)
        volume = seg.get_volume(segment_numbers=[number], combine_segments=True)
        source = Geometry(volume.spatial_shape, np.asarray(volume.affine))
        masks[label] = _on_target(path, label, np.asarray(volume.array) > 0, source, target)
    return masks


def _inside(points_ij: NDArray[np.float64], polygon: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Even-odd point-in-polygon test for (N, 2) points against an (M, 2) polygon."""
    y, x = points_ij[:, 0:1], points_ij[:, 1:2]
    y0, x0 = polygon[:, 0], polygon[:, 1]
    y1, x1 = np.roll(y0, -1), np.roll(x0, -1)
    crosses = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    odd: NDArray[np.bool_] = (crosses & (x < x_cross)).sum(axis=1) % 2 == 1
    return odd


def _planes(
    contours: list[NDArray[np.float64]], target: Geometry
) -> dict[float, list[NDArray[np.float64]]]:
    """Contours grouped by their SPECT slice coordinate k (fractional), as (i, j) polygons."""
    planes: dict[float, list[NDArray[np.float64]]] = {}
    for xyz in contours:
        kij = target.patient_to_index(xyz)
        planes.setdefault(round(float(kij[:, 0].mean()), 3), []).append(kij[:, 1:])
    return planes


def _rasterise(contours: list[NDArray[np.float64]], target: Geometry) -> NDArray[np.bool_]:
    planes = _planes(contours, target)
    ks = np.array(sorted(planes))
    half = (np.diff(ks).min() / 2) if len(ks) > 1 else 0.5
    rows, cols = np.mgrid[0 : target.shape[1], 0 : target.shape[2]]
    centres = np.column_stack([rows.ravel(), cols.ravel()]).astype(float)
    mask = np.zeros(target.shape, dtype=bool)
    for k in range(target.shape[0]):
        nearest = ks[np.argmin(np.abs(ks - k))] if len(ks) else None
        if nearest is None or abs(nearest - k) > max(half, 0.5) + 1e-6:
            continue
        inside = np.zeros(len(centres), dtype=bool)
        for polygon in planes[nearest]:
            inside ^= _inside(centres, polygon)
        mask[k] = inside.reshape(target.shape[1:])
    return mask


def _read_rtstruct(path: Path, ds: Dataset, target: Geometry) -> dict[str, NDArray[np.bool_]]:
    names = {
        int(r.ROINumber): (str(r.ROIName), str(any_value(r, "ReferencedFrameOfReferenceUID", "")))
        for r in ds.StructureSetROISequence
    }
    masks = {}
    for roi in ds.ROIContourSequence:
        name, uid = names[int(roi.ReferencedROINumber)]
        _check_frame(path, uid, target, tag=f"{name}: ReferencedFrameOfReferenceUID (3006,0024)")
        contours = [
            np.asarray(c.ContourData, float).reshape(-1, 3)
            for c in any_value(roi, "ContourSequence", [])
        ]
        if not contours:
            raise DoseError(
                "empty_mask",
                f"ROI {name!r} has no contour",
                path=str(path),
                tag=name,
                fix="remove the empty ROI or contour it",
            )
        masks[name] = _rasterise(contours, target)
        if not masks[name].any():
            raise DoseError(
                "mask_outside_image",
                f"ROI {name!r} lies outside the SPECT image",
                path=str(path),
                tag=name,
                fix="check the structure set belongs to this SPECT",
            )
    return masks


def read_masks(path: str | Path, target: Geometry) -> dict[str, NDArray[np.bool_]]:
    """Boolean masks by structure name, on the SPECT grid ``target``, from SEG/RTSTRUCT files."""
    masks: dict[str, NDArray[np.bool_]] = {}
    readers = {"SEG": _read_seg, "RTSTRUCT": _read_rtstruct}
    checks = {"SEG": check_seg, "RTSTRUCT": check_rtstruct}
    for file, ds in load_datasets(path):
        kind = modality(file, ds)
        reader = readers.get(kind)
        if reader is not None:
            checks[kind](file, ds)
            with reading(file, what=f"the {kind}"):
                masks.update(reader(file, ds, target))
    if not masks:
        raise DoseError(
            "no_masks",
            "no DICOM SEG or RTSTRUCT found",
            path=str(path),
            tag="Modality (0008,0060)",
            fix="point --masks at a SEG or RTSTRUCT",
        )
    return masks
