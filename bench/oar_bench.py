"""Physicist's dosimetry benchmarks: one study with every organ at risk, stage by stage, at
128³ and 256³, and `dose-batch` on Dask with 1 and 2 workers.

Usage: python -m bench.oar_bench [--smoke] [--results PATH]

Tables (written to RESULTS.md between markers):
- ``dose-oar-stages``: the organ-at-risk phantom (kidneys, tumours, salivary and
  lacrimal glands, a lumbar VOI, liver) through `flexmrt dose --protocol flex-mrt`
  split into its stages — read DICOM, TIA, dose (incl. CT density), statistics
  (per structure, uncertainty, organs at risk), write — median of warm runs.
- ``dose-batch-dask``: the same 128³ study repeated as a batch through
  :func:`gpu_dose.batch.run_batch` on a local Dask cluster of 1 and of 2 workers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import RESULTS, Table, fmt_ms, median, section_header, timed, write_section
from flexmrt.gpu_dose import dicom_io, organs, pipeline
from flexmrt.gpu_dose.backend import get_backend
from flexmrt.gpu_dose.convolve import absorbed_dose, medium_density
from flexmrt.gpu_dose.dose_settings import dose_settings
from flexmrt.gpu_dose.grid import resample
from flexmrt.gpu_dose.phantom import make_phantom
from flexmrt.protocol import resolve

VOXEL_MM = 4.8


@dataclass(frozen=True)
class Sizes:
    edges: dict[int, int]  # edge → warm rounds
    batch_edge: int
    batch_studies: int
    batch_rounds: int


FULL = Sizes({128: 3, 256: 1}, 128, 6, 2)
SMOKE = Sizes({48: 1}, 48, 2, 1)


def _settings() -> pipeline.Settings:
    return dose_settings(resolve("flex-mrt"), device="cpu")


def _stages(study: Any, out: Path) -> dict[str, float]:
    """One study through the pipeline's steps (as gpu_dose.pipeline.compute_dose runs them)."""
    settings, be = _settings(), get_backend("cpu")
    t: dict[str, float] = {}

    def read() -> Any:
        images = pipeline._read_images(study.spect, settings)[0]
        masks, unions = organs.with_organs(dicom_io.read_masks(study.masks, images[0].geometry))
        return images, masks, unions, dicom_io.read_ct(study.ct)

    t["read DICOM"], (images, masks, unions, ct) = timed(read)
    t["TIA"], (tia_map, fits, fit_u, _) = timed(
        lambda: pipeline._tia_map(be, images, masks, settings, unions)
    )

    def dose() -> Any:
        hu = be.xp.asarray(ct.hu, dtype=settings.dtype)
        rho = medium_density(resample(hu, ct.geometry, images[0].geometry, order=1, fill=-1000.0))
        return rho, absorbed_dose(tia_map, images[0].geometry, density=rho)

    t["dose (incl. CT density)"], (rho, dose_gy) = timed(dose)

    def statistics() -> Any:
        structures = {
            name: pipeline._structure(be, name, m, dose_gy, tia_map, rho, images[0], settings, fits)
            for name, m in masks.items()
        }
        for name, res in structures.items():
            res.uncertainty = pipeline._uncertainty(
                name, res, masks[name], images[0], settings, fit_u
            )
        return structures, organs.organ_results(structures, settings)

    t["statistics, uncertainty, organs"], (structures, oar) = timed(statistics)

    def write() -> None:
        result = pipeline.DoseResult(images, settings, be.name, structures, dose_gy, [])
        result.organs_at_risk = oar
        dicom_io.write_rt_dose(out / "rtdose.dcm", dose_gy, images[0].geometry, images[0])
        (out / "results.json").write_text(json.dumps(result.to_dict(), default=str))

    t["write"], _ = timed(write)
    return t


def stages_section(sizes: Sizes) -> tuple[str, dict[str, Any]]:
    table = Table(["stage", *(f"{e}³ median ms" for e in sizes.edges)])
    per_edge: dict[int, dict[str, float]] = {}
    for edge, rounds in sizes.edges.items():
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            study = make_phantom(
                root / "s", shape=(edge,) * 3, voxel_mm=VOXEL_MM, organs_at_risk=True
            )
            (root / "o").mkdir()
            _stages(study, root / "o")  # warm-up: kernel transform, file cache
            runs = [_stages(study, root / "o") for _ in range(rounds)]
        per_edge[edge] = {k: median(r[k] for r in runs) for k in runs[0]}
    first = next(iter(per_edge.values()))
    for stage in first:
        table.add(stage, *(fmt_ms(per_edge[e][stage]) for e in sizes.edges))
    table.add("**sum**", *(fmt_ms(sum(per_edge[e].values())) for e in sizes.edges))
    note = (
        f"Organ-at-risk phantom (`flexmrt phantom --organs-at-risk`: 12 structures and 3 organ "
        f"unions) at {VOXEL_MM} mm, single 24 h scan, prior-half-life, kernel dose with CT "
        f"density, float32, CPU, flex-mrt 1.1 settings. Rounds per size: "
        + ", ".join(f"{e}³ {r}" for e, r in sizes.edges.items())
        + " (after one warm-up run). "
        + _load_note()
    )
    body = section_header("Dosimetry with every organ at risk, per stage", note)
    return body + "\n" + table.markdown(), {str(e): v for e, v in per_edge.items()}


def _load_note() -> str:
    """The machine's load when measured: on a shared machine the times are inflated."""
    one, five, _ = os.getloadavg()
    return (
        f"Load average at the end of the run: {one:.1f} (1 min), {five:.1f} (5 min) on "
        f"{os.cpu_count()} cores — above the core count, other work shared the machine and "
        "every time here is inflated by it."
    )


def batch_section(sizes: Sizes) -> tuple[str, dict[str, Any]]:
    from flexmrt.gpu_dose.batch import run_batch

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        study = make_phantom(
            root / "s", shape=(sizes.batch_edge,) * 3, voxel_mm=VOXEL_MM, organs_at_risk=True
        )
        batch = root / "batch"
        batch.mkdir()
        for n in range(sizes.batch_studies):
            (batch / f"study_{n:02d}").symlink_to(study.root, target_is_directory=True)
        seconds: dict[int, float] = {}
        for workers in (1, 2):
            runs = []
            for _ in range(sizes.batch_rounds):
                spent, summaries = timed(
                    lambda w=workers: run_batch(
                        batch, root / "out", _settings(), progress=None, workers=w
                    )
                )
                assert all(s["status"] == "ok" for s in summaries)
                runs.append(spent)
                shutil.rmtree(root / "out", ignore_errors=True)
            seconds[workers] = median(runs)
    table = Table(["Dask workers", "batch s", "studies/s", "speed-up"])
    for workers, spent in seconds.items():
        table.add(
            str(workers),
            f"{spent:.2f}",
            f"{sizes.batch_studies / spent:.2f}",
            f"{seconds[1] / spent:.2f}×",
        )
    note = (
        f"{sizes.batch_studies} studies of {sizes.batch_edge}³ (the organ-at-risk phantom) "
        f"through `run_batch` on a local Dask cluster (threads in this process, cluster "
        f"start-up included); median of {sizes.batch_rounds}. The FFTs of one study already "
        "use every core, so on a small machine a second worker adds overlap of I/O and "
        "statistics rather than compute. " + _load_note()
    )
    body = section_header("`dose-batch` on Dask, 1 and 2 workers", note)
    return body + "\n" + table.markdown(), {str(k): v for k, v in seconds.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round (CI)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="RESULTS.md to rewrite")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    for name, make in (("dose-oar-stages", stages_section), ("dose-batch-dask", batch_section)):
        body, _ = make(sizes)
        write_section(name, body, args.results)
        print(body, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
