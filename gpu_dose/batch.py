"""Dosimetry over many study folders, one after another on one backend.

A study folder holds ``spect*`` time points (files or folders, sorted by name),
``masks/`` (SEG or RTSTRUCT) and optionally ``ct/`` — the layout
:func:`gpu_dose.phantom.make_phantom` writes. Kernel transforms are cached per
grid, so studies on the same grid reuse them and the device stays busy with
FFTs. Past one machine, fan studies out with Dask or Ray over
:func:`gpu_dose.pipeline.run_study`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, TextIO

from gpu_dose.errors import DoseError
from gpu_dose.pipeline import Settings, run_study

__all__ = ["find_studies", "run_batch", "study_inputs"]


def study_inputs(folder: Path) -> dict[str, Any]:
    """The SPECT time points, masks and CT of one study folder."""
    spect = sorted(p for p in folder.iterdir() if p.name.lower().startswith("spect"))
    masks = next((folder / n for n in ("masks", "seg", "rtstruct") if (folder / n).exists()), None)
    if not spect or masks is None:
        raise DoseError(
            "bad_study_folder",
            "needs spect* and masks/ inside",
            path=str(folder),
            fix="lay the study out as spect_<h>h/, masks/, ct/ (optional)",
        )
    ct = folder / "ct"
    return {"spect_paths": spect, "masks_path": masks, "ct_path": ct if ct.exists() else None}


def find_studies(root: Path) -> list[Path]:
    """Sub-folders of ``root`` that look like studies (contain a spect* entry)."""
    return sorted(
        p
        for p in Path(root).iterdir()
        if p.is_dir() and any(c.name.lower().startswith("spect") for c in p.iterdir())
    )


def _progress(stream: TextIO, done: int, total: int, name: str, started: float) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    elapsed = time.monotonic() - started
    stream.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {elapsed:6.1f}s {name[:40]:<40}"
    )
    stream.flush()


def run_batch(
    root: str | Path,
    out_root: str | Path,
    settings: Settings | None = None,
    *,
    use_ct: bool = True,
    progress: TextIO | str | None = "stderr",
) -> list[dict[str, Any]]:
    """Run every study under ``root``; one summary per study (``ok`` or ``error``).

    ``progress`` is a text stream for the progress bar, ``"stderr"`` (the default,
    looked up at call time) or None for silence.
    """
    if progress == "stderr":
        progress = sys.stderr
    studies = find_studies(Path(root))
    summaries, started = [], time.monotonic()
    for n, folder in enumerate(studies, start=1):
        summaries.append(_one(folder, Path(out_root) / folder.name, settings, use_ct))
        if progress is not None:
            _progress(progress, n, len(studies), folder.name, started)
    if progress is not None and studies:
        progress.write("\n")
    return summaries


def _one(folder: Path, out: Path, settings: Settings | None, use_ct: bool) -> dict[str, Any]:
    try:
        inputs = study_inputs(folder)
        if not use_ct:
            inputs["ct_path"] = None
        result, files = run_study(out_dir=out, settings=settings, **inputs)
    except DoseError as err:
        return {"study": folder.name, "status": "error", "error": err.to_dict()}
    kidneys = result.structures.get("kidneys")
    return {
        "study": folder.name,
        "status": "ok",
        "results": str(files["results"]),
        "rtdose": str(files["rtdose"]),
        "backend": result.backend,
        "kidneys_mean_gy": None if kidneys is None else kidneys.mean_gy,
        "kidneys_mean_bed_gy": None if kidneys is None else kidneys.mean_bed_gy,
    }
