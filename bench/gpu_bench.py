"""GPU dose benchmark: the project's dose step on CuPy against the bare cuFFT floor and the CPU.

Usage: python -m bench.gpu_bench [--out DIR] [--smoke] [--merge FILE]

Run by ``bench/gpu_check.sh`` on a machine with a CUDA device (one call does the
dose engine's GPU check and this benchmark). Writes, under ``--out`` (default
``$OUT`` or bench/out): ``gpu_bench.md`` (the ``dose-gpu`` section, the same format
as the CPU tables), ``gpu_bench.json`` (raw figures) and ``RESULTS.md`` (a copy of
bench/RESULTS.md with the section merged in). Back on a development machine,
``python -m bench.gpu_bench --merge OUT/gpu_bench.md`` merges it into
bench/RESULTS.md. Without CuPy or a device it says so and exits 0.

Contenders per grid (128³, 256³, 512³; float32; Lu-177 kernel at 4.8 mm):
- project: :func:`gpu_dose.absorbed_dose` on a device array;
- floor: bare ``cupy.fft.rfftn`` → × kernel transform computed once → ``irfftn``,
  cropped (the least this algorithm costs on the card);
- project with the host↔device copies of the map and the dose;
- CPU: the project's CPU path on the device machine's CPU (all cores).
Each GPU figure is a median of round-robin rounds, each ended by a device
synchronise; the CPU path is timed in the same run with fewer rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from bench.common import (
    RESULTS,
    Table,
    fmt_ms,
    fmt_ratio,
    median,
    read_section,
    round_robin,
    section_header,
    write_section,
)
from bench.dose_bench import VOXEL_MM, cubic, max_rel_diff, tia_map
from flexmrt.gpu_dose.convolve import absorbed_dose
from flexmrt.gpu_dose.kernel import dose_voxel_kernel

SECTION = "dose-gpu"


@dataclass(frozen=True)
class Device:
    """The array module under test, its bare FFT, how to wait for it and copy back."""

    xp: ModuleType
    fft: ModuleType
    sync: Callable[[], None]
    to_host: Callable[[Any], np.ndarray]
    fast_len: Callable[[int], int]
    name: str


@dataclass(frozen=True)
class Sizes:
    grids: dict[int, tuple[int, int]]  # edge → (GPU rounds, CPU rounds)
    batch: int
    batch_edge: int
    batch_rounds: int


FULL = Sizes({128: (50, 5), 256: (20, 3), 512: (10, 3)}, 32, 128, 5)
SMOKE = Sizes({16: (2, 1)}, 2, 16, 1)


def cuda_device() -> Device | None:
    """CuPy on the first CUDA device, or None where there is none."""
    from flexmrt.gpu_dose.backend import cuda_available

    if not cuda_available():
        return None
    import cupy
    import cupyx.scipy.fft

    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    memory = props["totalGlobalMem"] / 2**30
    runtime = cupy.cuda.runtime.runtimeGetVersion()
    label = (
        f"{name}, {memory:.0f} GiB, CUDA runtime {runtime // 1000}.{runtime % 1000 // 10}, "
        f"CuPy {cupy.__version__}"
    )
    return Device(
        cupy,
        cupy.fft,
        cupy.cuda.Device().synchronize,
        cupy.asnumpy,
        lambda n: int(cupyx.scipy.fft.next_fast_len(n, real=True)),
        label,
    )


def numpy_stand_in() -> Device:
    """NumPy in the device's place: lets CI run this script's code path without a GPU."""
    import scipy.fft

    return Device(
        np,
        np.fft,
        lambda: None,
        np.asarray,
        lambda n: int(scipy.fft.next_fast_len(n, real=True)),
        "NumPy stand-in (no GPU)",
    )


def floor_step(dev: Device, tia: Any) -> Callable[[], Any]:
    """Bare rfftn → × pre-transformed kernel → irfftn, cropped: the floor on this device."""
    shape = tuple(dev.fast_len(n + 10) for n in tia.shape)
    padded = np.zeros(shape, np.float32)
    idx = np.arange(-5, 6)
    padded[np.ix_(idx, idx, idx)] = dose_voxel_kernel(VOXEL_MM, "soft", "float32")
    spectrum = dev.fft.rfftn(dev.xp.asarray(padded))
    crop, axes = tuple(slice(0, n) for n in tia.shape), (0, 1, 2)
    return lambda: dev.fft.irfftn(
        dev.fft.rfftn(tia, s=shape, axes=axes) * spectrum, s=shape, axes=axes
    )[crop]


def _synced(dev: Device, fn: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        value = fn()
        dev.sync()
        return value

    return run


def grid_row(dev: Device, edge: int, rounds: tuple[int, int]) -> dict[str, Any]:
    """Medians (s) of each contender at one grid, ratios and accuracy."""
    host = tia_map(edge)
    geometry = cubic(host.shape)
    tia = dev.xp.asarray(host)
    runs = {
        "project": _synced(dev, lambda: absorbed_dose(tia, geometry)),
        "floor": _synced(dev, floor_step(dev, tia)),
        "project_with_copies": _synced(
            dev, lambda: dev.to_host(absorbed_dose(dev.xp.asarray(host), geometry))
        ),
    }
    t = {k: median(v) for k, v in round_robin(runs, rounds[0], warmup=2).items()}
    t["cpu"] = median(round_robin({"cpu": lambda: absorbed_dose(host, geometry)}, rounds[1])["cpu"])
    gpu, cpu = dev.to_host(runs["project"]()), absorbed_dose(host, geometry)
    return {
        **t,
        "edge": edge,
        "rounds": rounds,
        "vs_floor": t["project"] / t["floor"],
        "speedup_vs_cpu": t["cpu"] / t["project"],
        "diff_vs_cpu": max_rel_diff(gpu, cpu),
        "diff_vs_floor": max_rel_diff(gpu, dev.to_host(runs["floor"]())),
    }


def batch_row(dev: Device, sizes: Sizes) -> dict[str, Any]:
    """Studies per second over a batch of different maps, on the device and on the CPU."""
    hosts = [tia_map(sizes.batch_edge, seed) for seed in range(sizes.batch)]
    geometry = cubic(hosts[0].shape)
    maps = [dev.xp.asarray(h) for h in hosts]
    runs = {
        "device": _synced(dev, lambda: [absorbed_dose(m, geometry) for m in maps]),
        "device_with_copies": _synced(
            dev, lambda: [dev.to_host(absorbed_dose(dev.xp.asarray(h), geometry)) for h in hosts]
        ),
        "cpu": lambda: [absorbed_dose(h, geometry) for h in hosts],
    }
    t = {k: median(v) for k, v in round_robin(runs, sizes.batch_rounds).items()}
    return {k: {"batch_s": v, "studies_per_s": sizes.batch / v} for k, v in t.items()}


def _targets(rows: list[dict[str, Any]]) -> list[str]:
    by_edge = {r["edge"]: r for r in rows}
    lines = [
        f"- ≤ 1.3× the bare cuFFT floor: {r['edge']}³ {fmt_ratio(r['vs_floor'])} — "
        f"{'met' if r['vs_floor'] <= 1.3 else 'MISSED'}"
        for r in rows
    ]
    if 256 in by_edge:
        s = by_edge[256]["speedup_vs_cpu"]
        lines.append(f"- ≥ 100× the CPU path at 256³: {s:.0f}× — {'met' if s >= 100 else 'MISSED'}")
    if 128 in by_edge:
        ms = by_edge[128]["project"] * 1e3
        lines.append(f"- 128³ dose step under 1 ms: {ms:.3g} ms — {'met' if ms < 1 else 'MISSED'}")
    return lines


def markdown(dev: Device, rows: list[dict[str, Any]], batch: dict[str, Any], sizes: Sizes) -> str:
    """The ``dose-gpu`` section: one row per grid, the batch, the targets."""
    table = Table(
        [
            "grid",
            "project ms",
            "cuFFT floor ms",
            "project / floor",
            "with host↔device copies ms",
            "CPU path ms",
            "speed-up vs CPU",
            "max rel diff vs CPU",
            "max rel diff vs floor",
        ]
    )
    for r in rows:
        table.add(
            f"{r['edge']}³",
            fmt_ms(r["project"]),
            fmt_ms(r["floor"]),
            fmt_ratio(r["vs_floor"]),
            fmt_ms(r["project_with_copies"]),
            fmt_ms(r["cpu"]),
            f"{r['speedup_vs_cpu']:.0f}×",
            f"{r['diff_vs_cpu']:.1e}",
            f"{r['diff_vs_floor']:.1e}",
        )
    btable = Table(["batch contender", "batch s", "studies/s"])
    for name, b in batch.items():
        btable.add(name, f"{b['batch_s']:.3g}", f"{b['studies_per_s']:.3g}")
    note = (
        f"Device: {dev.name}. float32 maps, Lu-177 kernel at {VOXEL_MM} mm. Rounds "
        f"(GPU, CPU): "
        + ", ".join(f"{e}³ {g}/{c}" for e, (g, c) in sizes.grids.items())
        + f". Batch: {sizes.batch} different {sizes.batch_edge}³ maps, median of "
        f"{sizes.batch_rounds} rounds."
    )
    return (
        section_header("Dose step on the GPU", note)
        + "\n"
        + table.markdown()
        + "\n"
        + btable.markdown()
        + "\nTargets:\n\n"
        + "\n".join(_targets(rows))
        + "\n"
    )


def run(dev: Device, sizes: Sizes) -> tuple[str, dict[str, Any]]:
    rows = [grid_row(dev, edge, rounds) for edge, rounds in sizes.grids.items()]
    batch = batch_row(dev, sizes)
    return markdown(dev, rows, batch, sizes), {"device": dev.name, "grids": rows, "batch": batch}


def save(out: Path, body: str, raw: dict[str, Any]) -> None:
    """gpu_bench.md (the section), gpu_bench.json, and RESULTS.md with the section merged."""
    out.mkdir(parents=True, exist_ok=True)
    write_section(SECTION, body, out / "gpu_bench.md")
    (out / "gpu_bench.json").write_text(json.dumps(raw, indent=2, default=str) + "\n")
    if RESULTS.exists():
        shutil.copyfile(RESULTS, out / "RESULTS.md")
    write_section(SECTION, body, out / "RESULTS.md")


def merge(section_file: Path, results: Path = RESULTS) -> None:
    """Merge a ``gpu_bench.md`` written on the device machine into ``results``."""
    body = read_section(SECTION, section_file)
    if body is None:
        raise SystemExit(f"{section_file} has no {SECTION} section")
    write_section(SECTION, body, results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "bench/out")))
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round")
    parser.add_argument(
        "--stand-in",
        action="store_true",
        help="run on NumPy in the device's place (tests the script, no GPU)",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        metavar="FILE",
        help="merge FILE's dose-gpu section into bench/RESULTS.md and exit",
    )
    args = parser.parse_args(argv)
    if args.merge:
        merge(args.merge)
        return 0
    dev = numpy_stand_in() if args.stand_in else cuda_device()
    if dev is None:
        print("no CUDA device (or CuPy not importable): GPU benchmark skipped")
        return 0
    body, raw = run(dev, SMOKE if args.smoke else FULL)
    save(args.out, body, raw)
    print(body, flush=True)
    worst = max(r["diff_vs_cpu"] for r in raw["grids"])
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
