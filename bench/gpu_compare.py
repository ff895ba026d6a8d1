"""Compare the CuPy and NumPy dose engines on the phantom; print and save a JSON summary.

Usage: python bench/gpu_compare.py [OUT_DIR]. Exits 0 with "no CUDA device" when
CuPy or a device is missing; 1 when GPU and CPU differ by more than 1e-5 of the
maximum dose at the same precision.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from flexmrt.gpu_dose.backend import cuda_available
from flexmrt.gpu_dose.phantom import make_phantom
from flexmrt.gpu_dose.pipeline import Settings, compute_dose

TEFF = {"kidney": 40.0, "tumour_1": 60.0, "tumour_2": 80.0}


def _timed(study, **kw):
    started = time.perf_counter()
    result = compute_dose(study.spect[:1], study.masks, study.ct, Settings(teff_h=TEFF, **kw))
    return result, time.perf_counter() - started


def main(out_dir: str | None) -> int:
    if not cuda_available():
        print("no CUDA device (or CuPy not importable): GPU comparison skipped")
        return 0
    summary: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        study = make_phantom(Path(tmp), shape=(96, 96, 96), voxel_mm=4.42)
        for dtype in ("float32", "float64"):
            cpu, t_cpu = _timed(study, device="cpu", dtype=dtype)
            _timed(study, device="gpu", dtype=dtype)  # warm-up: kernels, FFT plans
            gpu, t_gpu = _timed(study, device="gpu", dtype=dtype)
            diff = float(np.abs(gpu.dose_gy - cpu.dose_gy).max() / cpu.dose_gy.max())
            summary[dtype] = {
                "max_abs_diff_over_max": diff,
                "cpu_s": t_cpu,
                "gpu_s": t_gpu,
                "kidneys_mean_gy_cpu": cpu.structures["kidneys"].mean_gy,
                "kidneys_mean_gy_gpu": gpu.structures["kidneys"].mean_gy,
            }
    text = json.dumps(summary, indent=2)
    print(text)
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "gpu_compare.json").write_text(text + "\n")
    return 0 if all(v["max_abs_diff_over_max"] <= 1e-5 for v in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
