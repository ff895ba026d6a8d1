"""CPU dose benchmarks: the project's dose step against SciPy, batch, and `flexmrt dose` end to end.

Usage: python -m bench.dose_bench [--smoke] [--results PATH]

Tables (written to RESULTS.md between markers):
- ``dose-cpu``: float32 TIA maps at 128³ and 256³, Lu-177 kernel at 4.8 mm. The
  project's dose step (:func:`gpu_dose.absorbed_dose` on a cubic grid) against
  ``scipy.signal.fftconvolve(mode="same")`` — what a physicist writes by hand —
  the same inside ``scipy.fft.set_workers(os.cpu_count())``, and the FFT floor
  (bare ``scipy.fft.rfftn``/``irfftn`` with the kernel transformed once, all cores).
- ``dose-batch``: a batch of 32 different 128³ maps through each contender.
- ``dose-e2e``: `flexmrt dose` on the 128³ phantom split into its stages, the
  command's wall time in a fresh process, and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.fft
import scipy.signal

from bench.common import (
    RESULTS,
    Table,
    fmt_ms,
    fmt_ratio,
    median,
    round_robin,
    section_header,
    timed,
    write_section,
)
from flexmrt.gpu_dose import dicom_io, pipeline
from flexmrt.gpu_dose.backend import get_backend
from flexmrt.gpu_dose.convolve import absorbed_dose, medium_density
from flexmrt.gpu_dose.grid import Geometry, resample
from flexmrt.gpu_dose.kernel import dose_voxel_kernel
from flexmrt.gpu_dose.organs import with_organs
from flexmrt.gpu_dose.phantom import make_phantom

VOXEL_MM = 4.8
TEFF = {"kidney": 40.0, "tumour_1": 60.0, "tumour_2": 80.0}


@dataclass(frozen=True)
class Sizes:
    """How big and how often: the full run (``make bench``) or the CI smoke run."""

    grids: dict[int, int]  # edge → rounds
    batch: int
    batch_edge: int
    batch_rounds: int
    phantom: tuple[int, int, int]
    e2e_rounds: int
    cli_runs: int
    batch_studies: int


FULL = Sizes({128: 15, 256: 7}, 32, 128, 3, (128, 128, 128), 5, 3, 8)
SMOKE = Sizes({20: 2}, 3, 16, 1, (20, 24, 28), 1, 1, 2)


def tia_map(edge: int, seed: int = 0) -> np.ndarray:
    """A float32 TIA map (MBq·h per voxel), gamma-distributed so every voxel counts."""
    rng = np.random.default_rng(seed)
    return rng.standard_gamma(2.0, size=(edge,) * 3, dtype=np.float32)


def cubic(shape: tuple[int, ...], voxel_mm: float = VOXEL_MM) -> Geometry:
    return Geometry(tuple(shape), np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0]), "1.2.3")


def contenders(tia: np.ndarray) -> dict[str, Callable[[], np.ndarray]]:
    """The four dose steps on one map, keyed by their table names."""
    kernel = dose_voxel_kernel(VOXEL_MM, "soft", "float32")
    geometry = cubic(tia.shape)
    shape = tuple(scipy.fft.next_fast_len(n + 10, real=True) for n in tia.shape)
    padded = np.zeros(shape, np.float32)
    idx = np.arange(-5, 6)
    padded[np.ix_(idx, idx, idx)] = kernel
    spectrum = scipy.fft.rfftn(padded, workers=-1)
    crop = tuple(slice(0, n) for n in tia.shape)

    def floor() -> np.ndarray:
        product = scipy.fft.rfftn(tia, s=shape, workers=-1) * spectrum
        return scipy.fft.irfftn(product, s=shape, workers=-1)[crop]

    def fftconvolve_workers() -> np.ndarray:
        with scipy.fft.set_workers(os.cpu_count() or 1):
            return scipy.signal.fftconvolve(tia, kernel, mode="same")

    return {
        "project": lambda: absorbed_dose(tia, geometry),
        "fftconvolve": lambda: scipy.signal.fftconvolve(tia, kernel, mode="same"),
        "fftconvolve_workers": fftconvolve_workers,
        "floor": floor,
    }


def max_rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| over max |b|: the accuracy figure beside every comparison."""
    return float(np.abs(a.astype(np.float64) - b).max() / np.abs(b).max())


def _ratios(t: dict[str, float]) -> tuple[float, float, float, float]:
    best = min(t["fftconvolve"], t["fftconvolve_workers"])
    return (
        t["project"] / t["fftconvolve"],
        t["project"] / t["fftconvolve_workers"],
        t["project"] / best,
        t["project"] / t["floor"],
    )


def dose_step_section(sizes: Sizes) -> tuple[str, dict[str, Any]]:
    """Table ``dose-cpu``: medians per grid, ratios of the project to each contender."""
    table = Table(
        [
            "grid",
            "project ms",
            "fftconvolve ms",
            "fftconvolve, all cores ms",
            "FFT floor ms",
            "vs fftconvolve",
            "vs all cores",
            "vs best (target ≤ 1.0)",
            "vs floor",
            "max rel diff vs fftconvolve",
        ]
    )
    raw: dict[str, Any] = {}
    for edge, rounds in sizes.grids.items():
        tia = tia_map(edge)
        runs = contenders(tia)
        t = {k: median(v) for k, v in round_robin(runs, rounds).items()}
        diff = max_rel_diff(runs["project"](), runs["fftconvolve"]())
        r_plain, r_workers, r_best, r_floor = _ratios(t)
        table.add(
            f"{edge}³",
            fmt_ms(t["project"]),
            fmt_ms(t["fftconvolve"]),
            fmt_ms(t["fftconvolve_workers"]),
            fmt_ms(t["floor"]),
            fmt_ratio(r_plain),
            fmt_ratio(r_workers),
            fmt_ratio(r_best),
            fmt_ratio(r_floor),
            f"{diff:.1e}",
        )
        raw[f"{edge}"] = {**t, "ratio_vs_best": r_best, "max_rel_diff": diff, "rounds": rounds}
    note = (
        f"float32 TIA maps, Lu-177 soft-tissue kernel at {VOXEL_MM} mm (11³). Medians "
        "over the rounds below; contenders timed round-robin in one run. Ratio = "
        "project time / contender time (below 1 is faster). FFT floor: bare `scipy.fft` "
        "rfftn → × cached kernel transform → irfftn on all cores, no clipping. Rounds: "
        + ", ".join(f"{e}³ {r}" for e, r in sizes.grids.items())
        + "."
    )
    return section_header("Dose step on the CPU", note) + "\n" + table.markdown(), raw


def batch_section(sizes: Sizes) -> tuple[str, dict[str, Any]]:
    """Table ``dose-batch``: studies per second over a batch of different maps."""
    maps = [tia_map(sizes.batch_edge, seed) for seed in range(sizes.batch)]
    per_map = [contenders(m) for m in maps]
    runs = {name: (lambda name=name: [c[name]() for c in per_map]) for name in per_map[0]}
    t = {k: median(v) for k, v in round_robin(runs, sizes.batch_rounds, warmup=0).items()}
    table = Table(["contender", "batch s", "studies/s", "project time / this"])
    for name, seconds in t.items():
        table.add(
            name,
            f"{seconds:.3g}",
            f"{sizes.batch / seconds:.3g}",
            fmt_ratio(t["project"] / seconds),
        )
    note = (
        f"{sizes.batch} different float32 maps of {sizes.batch_edge}³, dose step only "
        f"(the kernel transform stays cached across the batch); median of "
        f"{sizes.batch_rounds} rounds, contenders interleaved."
    )
    raw = {k: {"batch_s": v, "studies_per_s": sizes.batch / v} for k, v in t.items()}
    return section_header("Dose batch on the CPU", note) + "\n" + table.markdown(), raw


def _stages(study: Any, out: Path) -> dict[str, float]:
    """One `flexmrt dose` run split into its stages (the steps of pipeline.run_study)."""
    settings = pipeline.Settings(teff_h=TEFF, device="cpu")
    be = get_backend("cpu")
    t: dict[str, float] = {}
    t["read DICOM"], (images, masks, ct) = timed(
        lambda: (
            (ims := pipeline._read_images(study.spect, settings)[0]),
            with_organs(dicom_io.read_masks(study.masks, ims[0].geometry))[0],
            dicom_io.read_ct(study.ct),
        )
    )
    t["TIA"], (tia_map_, fits, _, _) = timed(lambda: pipeline._tia_map(be, images, masks, settings))

    def dose() -> Any:
        hu = be.xp.asarray(ct.hu, dtype=settings.dtype)
        rho = medium_density(resample(hu, ct.geometry, images[0].geometry, order=1, fill=-1000.0))
        return rho, absorbed_dose(tia_map_, images[0].geometry, density=rho)

    t["dose (incl. CT density)"], (rho, dose_gy) = timed(dose)
    t["statistics"], structures = timed(
        lambda: {
            name: pipeline._structure(
                be, name, mask, dose_gy, tia_map_, rho, images[0], settings, fits
            )
            for name, mask in masks.items()
        }
    )

    def write() -> None:
        result = pipeline.DoseResult(images, settings, be.name, structures, dose_gy, [])
        dicom_io.write_rt_dose(
            out / "rtdose.dcm",
            dose_gy,
            images[0].geometry,
            images[0],
            comment="flexmrt gpu_dose absorbed dose",
        )
        (out / "results.json").write_text(json.dumps(result.to_dict(), default=str))

    t["write"], _ = timed(write)
    return t


def _run_study(study: Any, out: Path) -> Any:
    return pipeline.run_study(
        study.spect, study.masks, out, study.ct, pipeline.Settings(teff_h=TEFF, device="cpu")
    )


_CLI = """
import sys
from flexmrt.server.cli import main
rc = main(sys.argv[1:])
with open("/proc/self/status") as status:
    hwm = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
sys.stderr.write(f"VmHWM {hwm}\\n")
sys.exit(rc)
"""


def _cli(study: Any, out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of `flexmrt dose` in a fresh process.

    Peak RSS is the child's own VmHWM (Linux): its ``ru_maxrss`` would include the
    parent's resident size at the fork.
    """
    argv = [
        sys.executable,
        "-c",
        _CLI,
        "dose",
        "--spect",
        str(study.spect[0]),
        "--masks",
        str(study.masks),
        "--ct",
        str(study.ct),
        "--out",
        str(out),
        "--device",
        "cpu",
        *[a for k, v in TEFF.items() for a in ("--teff-h", f"{k}={v}")],
    ]
    seconds, proc = timed(
        lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    )
    if proc.returncode != 0:
        raise RuntimeError(f"flexmrt dose exited with {proc.returncode}: {proc.stderr}")
    hwm = next(line.split()[1] for line in proc.stderr.splitlines() if line.startswith("VmHWM"))
    return seconds, int(hwm) / 1024  # kB → MiB


def _peak_traced(study: Any, out: Path) -> float:
    """Peak MiB of Python and NumPy allocations during one run_study (tracemalloc)."""
    tracemalloc.start()
    try:
        _run_study(study, out)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _batch_studies(study: Any, root: Path, count: int) -> Path:
    batch = root / "batch"
    batch.mkdir()
    for n in range(count):
        (batch / f"study_{n:02d}").symlink_to(study.root, target_is_directory=True)
    return batch


def e2e_section(sizes: Sizes) -> tuple[str, dict[str, Any]]:
    """Table ``dose-e2e``: stage medians, whole command, batch throughput, peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        study = make_phantom(root / "study", shape=sizes.phantom, voxel_mm=VOXEL_MM)
        (root / "a").mkdir()
        (root / "b").mkdir()
        _run_study(study, root / "b")  # warm-up: imports, kernel transform, file cache
        _stages(study, root / "a")
        rounds = [
            (_stages(study, root / "a"), timed(lambda: _run_study(study, root / "b"))[0])
            for _ in range(sizes.e2e_rounds)
        ]
        peak_traced = _peak_traced(study, root / "b")
        cli = [_cli(study, root / f"cli{n}") for n in range(sizes.cli_runs)]
        batch_root = _batch_studies(study, root, sizes.batch_studies)
        from flexmrt.gpu_dose.batch import run_batch

        batch = [
            timed(
                lambda: run_batch(
                    batch_root,
                    root / "out",
                    pipeline.Settings(teff_h=TEFF, device="cpu"),
                    progress=None,
                )
            )[0]
            for _ in range(sizes.e2e_rounds)
        ]
        shutil.rmtree(root / "out", ignore_errors=True)
    stages = {k: median(r[0][k] for r in rounds) for k in rounds[0][0]}
    whole = median(r[1] for r in rounds)
    return _e2e_markdown(sizes, stages, whole, cli, peak_traced, batch)


def _e2e_markdown(
    sizes: Sizes,
    stages: dict[str, float],
    whole: float,
    cli: list[tuple[float, float]],
    peak_traced: float,
    batch: list[float],
) -> tuple[str, dict[str, Any]]:
    table = Table(["stage", "median ms", "share of stage sum"])
    total = sum(stages.values())
    for name, seconds in stages.items():
        table.add(name, fmt_ms(seconds), f"{100 * seconds / total:.0f} %")
    table.add("**stage sum**", fmt_ms(total), "100 %")
    table.add("run_study, same process (check)", fmt_ms(whole), f"{100 * whole / total:.0f} %")
    cli_s, rss = median(c[0] for c in cli), max(c[1] for c in cli)
    batch_s = median(batch)
    shape = "×".join(str(n) for n in sizes.phantom)
    lines = [
        f"- `flexmrt dose` in a fresh process (imports, cold kernel cache): "
        f"{fmt_ms(cli_s)} ms median of {len(cli)}; peak RSS {rss:.0f} MiB.",
        f"- Peak Python/NumPy allocations in one run_study (tracemalloc; pocketfft's own "
        f"scratch is not traced): {peak_traced:.0f} MiB.",
        f"- `dose-batch` over {sizes.batch_studies} studies of {shape} (in process): "
        f"{batch_s:.2f} s, {sizes.batch_studies / batch_s:.2f} studies/s.",
    ]
    note = (
        f"Phantom {shape} at {VOXEL_MM} mm (SPECT multi-frame, CT slices at twice the "
        f"in-plane resolution, SEG), TIA prior-half-life, kernel dose with CT density, "
        f"float32, CPU. Stage medians over {sizes.e2e_rounds} warm runs."
    )
    body = (
        section_header("`flexmrt dose` end to end on the CPU", note)
        + "\n"
        + table.markdown()
        + "\n"
        + "\n".join(lines)
        + "\n"
    )
    raw = {
        "stages_s": stages,
        "run_study_s": whole,
        "cli_s": cli_s,
        "cli_peak_rss_mib": rss,
        "traced_peak_mib": peak_traced,
        "batch_s": batch_s,
        "batch_studies": sizes.batch_studies,
    }
    return body, raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round (CI)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="RESULTS.md to rewrite")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    raw = {}
    for name, make in (
        ("dose-cpu", dose_step_section),
        ("dose-batch", batch_section),
        ("dose-e2e", e2e_section),
    ):
        body, raw[name] = make(sizes)
        write_section(name, body, args.results)
        print(body, flush=True)
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
