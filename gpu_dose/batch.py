"""Dosimetry over many study folders, fanned out on Dask.

A study folder holds ``spect*`` time points (files or folders, sorted by name),
``masks/`` (SEG or RTSTRUCT) and optionally ``ct/`` — the layout
:func:`gpu_dose.phantom.make_phantom` writes. Each study is one Dask task running
the pure :func:`dose_study` (its inputs in, its own ``<out>/<study>/`` written, a
summary back); the summaries are appended to ``<out>/batch.jsonl`` as tasks finish
(streamed: a study done is on disk whatever happens to the others) and the
progress bar moves with them. By default the tasks run on a local Dask cluster in
this process (``workers`` threads; NumPy's FFTs release the GIL); ``scheduler``
names a running ``distributed`` scheduler (``tcp://host:8786``) for a cluster.
Dask does the scheduling — there is no scheduler of our own here. Kernel
transforms are cached per grid in each worker, so studies on the same grid reuse
them.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.pipeline import Settings, run_study

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["dose_study", "find_studies", "run_batch", "study_inputs"]


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
    progress: TextIO | Literal["stderr"] | None = "stderr",
    scheduler: str | None = None,
    workers: int = 1,
    client: Client | None = None,
) -> list[dict[str, Any]]:
    """Run every study under ``root`` on Dask; one summary per study (``ok`` or ``error``),
    in study order, each also appended to ``<out_root>/batch.jsonl`` as it finishes.

    ``client`` is a ``distributed.Client`` to use as is; else ``scheduler`` (an
    address) is connected to, else a local cluster of ``workers`` threads is started
    for this batch. ``progress`` is a text stream for the progress bar, ``"stderr"``
    (the default, looked up at call time) or None for silence.
    """
    from distributed import Client, LocalCluster

    stream = sys.stderr if isinstance(progress, str) else progress
    studies = find_studies(Path(root))
    out = Path(out_root)
    out.mkdir(parents=True, exist_ok=True)
    own = None
    if client is None:
        own = client = (
            Client(scheduler)
            if scheduler
            else Client(
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=False,
                    dashboard_address=":0",  # any free port: 8787 may be another cluster's
                )
            )
        )
    try:
        summaries = _run(client, studies, out, settings, use_ct, stream)
    finally:
        if own is not None:
            cluster = own.cluster
            own.close()
            if cluster is not None:
                cluster.close()
    order = {f.name: i for i, f in enumerate(studies)}
    return sorted(summaries, key=lambda s: order[s["study"]])


def _run(
    client: Client,
    studies: list[Path],
    out: Path,
    settings: Settings | None,
    use_ct: bool,
    progress: TextIO | None,
) -> list[dict[str, Any]]:
    from distributed import as_completed

    futures = [
        client.submit(dose_study, folder, out / folder.name, settings, use_ct, pure=False)
        for folder in studies
    ]
    summaries: list[dict[str, Any]] = []
    started = time.monotonic()
    with (out / "batch.jsonl").open("w", encoding="utf-8") as log:
        for n, future in enumerate(as_completed(futures), start=1):
            summary: dict[str, Any] = future.result()
            log.write(json.dumps(summary, sort_keys=True, default=str) + "\n")
            log.flush()
            summaries.append(summary)
            if progress is not None:
                _progress(progress, n, len(studies), summary["study"], started)
    if progress is not None and studies:
        progress.write("\n")
    return summaries


def dose_study(
    folder: Path, out: Path, settings: Settings | None = None, use_ct: bool = True
) -> dict[str, Any]:
    """One study folder → ``out/rtdose.dcm`` and ``out/results.json``, and its summary.

    Pure apart from writing under ``out``: the same folder and settings give the same
    files and summary, wherever it runs (one Dask task per study).
    """
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
