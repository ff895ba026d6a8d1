"""Fuzz target for the DICOM study reader: phantom files mutated at byte and dataset level.

The seed is a real study written by the phantom (``flexmrt phantom``), committed under
``tests/fuzz/dicom_seed/`` (rebuild with ``--write-seed``): an NM multi-frame SPECT, the
same SPECT as a PT slice series, a CT series, a SEG and an RTSTRUCT, patient identity
set to sentinel values. One input replaces one file of the seed by a mutated copy —
bytes flipped, overwritten, inserted or cut; tags deleted, given other values or other
VRs; pixel data shortened or lengthened; sequences emptied or made bogus; dimensions
made huge; the transfer syntax changed — and runs the study as ``flexmrt dose`` and
DosimetryService.ComputeDose do (:func:`gpu_dose.compute_dose`, then RT Dose written).

Outcome classes: ``accepted`` (a result with finite doses), ``refused`` (a
:class:`gpu_dose.DoseError` with a code and the file it names), anything else a
``failure`` — another exception, a DoseError naming no file, a non-finite dose, a hang
(over :data:`HANG_S`), or a sentinel patient value in a warning, a log record or the
error message. Failing inputs are written to ``tests/fuzz/corpus/dicom/`` as
``<sha256 prefix>@<seed path, '/' as '+'>``; ``test_fuzz_dicom.py`` replays every one.

``python tests/fuzz/dicom_target.py --count 10000 --max-minutes 60`` is ``make fuzz-dicom``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as dt
import functools
import hashlib
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

HERE = Path(__file__).resolve().parent
SEED = HERE / "dicom_seed"
CORPUS = HERE / "corpus" / "dicom"
#: Patient identity in the seed; none of it may appear in a warning, a log record or an error.
SENTINELS = ("SENTINEL-PID-4711", "Sentinel^Patient")
#: An input running longer than this is a hang (the seed study computes in well under 1 s).
HANG_S = 20.0

#: (seed files an input may mutate, SPECT folder, masks folder) per study layout.
_SPECT = {"multiframe": "spect_24h", "slices": "spect_slices"}
_MASKS = {"seg": "masks", "rtstruct": "rtstruct"}


# ---------------------------------------------------------------------------- the seed


def write_seed(root: Path = SEED) -> None:
    """Write the seed study (small: 12 × 16 × 20 SPECT voxels of 8 mm) under ``root``."""
    from flexmrt.gpu_dose import dicom_io, phantom

    shutil.rmtree(root, ignore_errors=True)
    made = phantom.make_phantom(root, shape=(12, 16, 20), voxel_mm=8.0, rtstruct=True)
    nm = pydicom.dcmread(made.spect[0])
    study = dicom_io.Study(
        patient_id=SENTINELS[0],
        patient_name=SENTINELS[1],
        study_uid=nm.StudyInstanceUID,
        frame_uid=nm.FrameOfReferenceUID,
        study_datetime=phantom.INJECTION,
    )
    image = dicom_io.read_spect(made.spect[0])
    dicom_io.write_slice_series(
        root / _SPECT["slices"],
        image.bq_ml,
        image.geometry,
        study,
        acquired=image.acquired,
        injected=phantom.INJECTION,
    )
    for file in sorted(root.rglob("*.dcm")):
        ds = pydicom.dcmread(file)
        ds.PatientID, ds.PatientName = SENTINELS
        ds.save_as(file, enforce_file_format=True)


def seed_files(root: Path = SEED) -> list[str]:
    """The seed's files, relative to ``root``, sorted."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.dcm"))


@functools.cache
def _seed(root: Path) -> dict[str, bytes]:
    """The seed's files and their bytes, read once per run (inputs only ever copy them)."""
    return {path: (root / path).read_bytes() for path in seed_files(root)}


# ---------------------------------------------------------------------------- mutations

_VALUES = (
    "",
    "0",
    "-1",
    "-0",
    "1",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e308",
    "-1e308",
    "1e-320",
    "abc",
    "1\\2",
    "1\\2\\3\\4\\5\\6\\7",
    "\\",
    "4294967296",
    "2147483648",
    "65535",
    "99999999999999999999999",
    "Sentinel-free text",
    "X" * 70,
    "20240230",
    "00010101",
    "99991231",
    "250000",
    "+1400",
    "-9999",
    "1.2.3",
    "\x00\x01",
)
_VRS = ("US", "SS", "UL", "SL", "DS", "IS", "FD", "FL", "CS", "LO", "SH", "UN", "OB", "OW", "UT")
_SYNTAXES = (
    "1.2.840.10008.1.2",  # implicit VR little endian
    "1.2.840.10008.1.2.2",  # explicit VR big endian (retired)
    "1.2.840.10008.1.2.1.99",  # deflated
    "1.2.840.10008.1.2.5",  # RLE lossless
    "1.2.840.10008.1.2.4.50",  # JPEG baseline
    "1.2.840.10008.1.2.4.70",  # JPEG lossless
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 lossless
    "1.2.840.10008.1.2.4.201",  # HTJ2K
    "1.2.3.4",  # unknown
)
#: Attributes the readers use, so that dataset mutations hit them more often than chance.
_HOT = (
    "Rows",
    "Columns",
    "NumberOfFrames",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "PixelData",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "SpacingBetweenSlices",
    "SliceThickness",
    "RescaleSlope",
    "RescaleIntercept",
    "Units",
    "DecayCorrection",
    "Modality",
    "SOPClassUID",
    "FrameOfReferenceUID",
    "RealWorldValueMappingSequence",
    "RealWorldValueSlope",
    "RealWorldValueIntercept",
    "MeasurementUnitsCodeSequence",
    "CodeValue",
    "DetectorInformationSequence",
    "RadiopharmaceuticalInformationSequence",
    "RadiopharmaceuticalStartDateTime",
    "RadionuclideTotalDose",
    "AcquisitionDate",
    "AcquisitionTime",
    "SeriesDate",
    "SeriesTime",
    "TimezoneOffsetFromUTC",
    "ActualFrameDuration",
    "SegmentSequence",
    "SegmentNumber",
    "SegmentLabel",
    "SegmentationType",
    "PerFrameFunctionalGroupsSequence",
    "SharedFunctionalGroupsSequence",
    "PlanePositionSequence",
    "PlaneOrientationSequence",
    "PixelMeasuresSequence",
    "SegmentIdentificationSequence",
    "ReferencedSegmentNumber",
    "DimensionIndexSequence",
    "DimensionIndexValues",
    "StructureSetROISequence",
    "ROIContourSequence",
    "ContourSequence",
    "ContourData",
    "NumberOfContourPoints",
    "ContourGeometricType",
    "ROINumber",
    "ReferencedROINumber",
    "ROIName",
    "ReferencedFrameOfReferenceUID",
    "PatientName",
    "PatientID",
)


@dataclass(frozen=True)
class Input:
    """One fuzz input: the seed file it replaces, the replacement's bytes, and how to run."""

    path: str
    data: bytes
    spect: str = "multiframe"
    masks: str = "seg"
    note: str = ""


def _elements(ds: Dataset) -> list[tuple[Dataset, Any]]:
    """Every (dataset, element) pair, sequence items included."""
    out = []
    for tag in list(ds.keys()):
        try:
            elem = ds[tag]
        except Exception:  # an element an earlier mutation made unreadable: leave it
            continue
        out.append((ds, elem))
        if elem.VR == "SQ":
            for item in elem.value or []:
                out.extend(_elements(item))
    return out


def _pick(draw: Any, ds: Dataset) -> tuple[Dataset, Any] | None:
    pairs = _elements(ds)
    if not pairs:
        return None
    hot = [p for p in pairs if p[1].keyword in _HOT]
    pool = hot if hot and draw(st.booleans()) else pairs
    return pool[draw(st.integers(0, len(pool) - 1))]


def _mutate_dataset(draw: Any, ds: Dataset) -> str:
    """Apply one dataset-level mutation to ``ds``; return what it did."""
    kind = draw(
        st.sampled_from(
            ("delete", "value", "vr", "huge", "pixels", "sequence", "syntax", "empty_item")
        )
    )
    if kind == "syntax":
        uid = draw(st.sampled_from(_SYNTAXES))
        ds.file_meta.TransferSyntaxUID = uid
        return f"TransferSyntaxUID={uid}"
    if kind == "huge":
        keyword = draw(st.sampled_from(("Rows", "Columns", "NumberOfFrames", "BitsAllocated")))
        value = draw(st.sampled_from((0, 1, 3, 7, 64, 255, 4096, 32768, 65535)))
        if keyword == "NumberOfFrames":
            value = draw(st.sampled_from((0, 1, 2, 4095, 100000, 2**31 - 1)))
        setattr(ds, keyword, value)
        return f"{keyword}={value}"
    if kind == "pixels" and "PixelData" in ds:
        data = ds.PixelData
        cut = draw(st.integers(-len(data), 4096))
        ds.PixelData = data[:cut] if cut < 0 else data + bytes(cut)
        return f"PixelData {cut:+d} bytes"
    picked = _pick(draw, ds)
    if picked is None:
        return "nothing"
    parent, elem = picked
    if kind == "delete" or kind == "pixels":
        del parent[elem.tag]
        return f"delete {elem.keyword or elem.tag}"
    if kind == "sequence":
        if elem.VR == "SQ":
            choice = draw(st.sampled_from(("empty", "string", "item")))
            if choice == "empty":
                elem.value = Sequence([])
            elif choice == "item":
                elem.value.append(Dataset())
            else:
                parent[elem.tag] = pydicom.DataElement(elem.tag, "LO", "not a sequence")
            return f"{elem.keyword or elem.tag} sequence {choice}"
        parent[elem.tag] = pydicom.DataElement(elem.tag, "SQ", Sequence([Dataset()]))
        return f"{elem.keyword or elem.tag} as a sequence"
    if kind == "empty_item":
        if elem.VR == "SQ" and len(elem.value):
            elem.value[0] = Dataset()
            return f"{elem.keyword or elem.tag} first item emptied"
        return "nothing"
    if kind == "vr":
        vr = draw(st.sampled_from(_VRS))
        value = elem.value if isinstance(elem.value, bytes) else str(elem.value).encode()
        parent[elem.tag] = _raw(elem.tag, vr, value)
        return f"{elem.keyword or elem.tag} VR {elem.VR}→{vr}"
    text = draw(st.sampled_from(_VALUES))
    parent[elem.tag] = _raw(elem.tag, _text_vr(elem.VR), _encode(elem.VR, text))
    return f"{elem.keyword or elem.tag}={text[:20]!r}"


_BINARY = {"US": "<H", "SS": "<h", "UL": "<I", "SL": "<i", "FD": "<d", "FL": "<f"}


def _text_vr(vr: str) -> str:
    return "LO" if vr in ("SQ", "OB", "OW", "AT", "UN") else vr


def _encode(vr: str, text: str) -> bytes:
    """``text`` as ``vr`` would hold it: packed for binary VRs where it parses, else its bytes."""
    import struct

    if vr in _BINARY:
        with contextlib.suppress(ValueError, struct.error, OverflowError):
            number = float(text) if vr in ("FD", "FL") else int(text)
            return struct.pack(_BINARY[vr], number)
    return text.encode("latin-1")


def _raw(tag: Any, vr: str, value: bytes) -> Any:
    """An element written exactly as given (even length), never converted by pydicom."""
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    value = value + b"\0" if len(value) % 2 else value
    return RawDataElement(Tag(tag), vr, len(value), value, 0, False, True)


def _serialise(ds: Dataset) -> bytes | None:
    """``ds`` as Part 10 bytes, pydicom's write-time validation off; None if it cannot."""
    config = pydicom.config.settings
    saved = config.writing_validation_mode
    config.writing_validation_mode = pydicom.config.IGNORE
    try:
        out = BytesIO()
        syntax = ds.file_meta.get("TransferSyntaxUID")
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        ds.save_as(out, enforce_file_format=False, implicit_vr=False, little_endian=True)
        data = bytearray(out.getvalue())
        if syntax is not None and syntax != pydicom.uid.ExplicitVRLittleEndian:
            data = _patch_syntax(data, str(syntax))
        return bytes(data)
    except Exception:  # a mutation pydicom cannot even write is no input
        return None
    finally:
        config.writing_validation_mode = saved


def _patch_syntax(data: bytearray, uid: str) -> bytearray:
    """Claim another transfer syntax in the file meta without re-encoding the dataset."""
    old = pydicom.uid.ExplicitVRLittleEndian.encode()
    at = data.find(old)
    if at < 8:
        return data
    new = uid.encode() + (b"\0" if len(uid) % 2 else b"")
    length = int.from_bytes(data[at - 2 : at], "little")
    data[at - 2 : at] = len(new).to_bytes(2, "little")
    data[at : at + length] = new
    group_len_at = data.find(b"\x02\x00\x00\x00UL")
    if group_len_at >= 0:
        value_at = group_len_at + 8
        old_total = int.from_bytes(data[value_at : value_at + 4], "little")
        total = old_total + len(new) - length
        data[value_at : value_at + 4] = total.to_bytes(4, "little")
    return data


def _mutate_bytes(draw: Any, data: bytes) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(("truncate", "flip", "overwrite", "insert", "duplicate")))
    n = len(data)
    at = draw(st.integers(0, max(n - 1, 0)))
    if kind == "truncate":
        return data[:at], f"truncate at {at}"
    if kind == "flip" and not data:  # an earlier edit truncated it all: nothing to flip
        return data, "flip: no bytes"
    if kind == "flip":
        flips = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=8))
        out = bytearray(data)
        for i in flips:
            out[i] ^= 1 << draw(st.integers(0, 7))
        return bytes(out), f"flip {len(flips)} bits"
    chunk = draw(st.binary(min_size=1, max_size=16))
    if kind == "overwrite":
        return data[:at] + chunk + data[at + len(chunk) :], f"overwrite {len(chunk)} at {at}"
    if kind == "insert":
        return data[:at] + chunk + data[at:], f"insert {len(chunk)} at {at}"
    size = draw(st.integers(1, 256))
    return data[:at] + data[at : at + size] * 2 + data[at + size :], f"duplicate {size} at {at}"


@st.composite
def inputs(draw: Any, root: Path = SEED) -> Input:
    """A seed file mutated 1–3 times at the dataset and/or byte level."""
    seed = _seed(root)
    path = draw(st.sampled_from(sorted(seed)))
    notes: list[str] = []
    data = seed[path]
    if draw(st.booleans()):
        ds = pydicom.dcmread(BytesIO(data))
        for _ in range(draw(st.integers(1, 3))):
            try:
                notes.append(_mutate_dataset(draw, ds))
            except Exception as error:  # pydicom refused to build it: no input, next one
                notes.append(f"(mutation not applicable: {type(error).__name__})")
        written = _serialise(ds)
        if written is not None:
            data = written
        else:
            notes.append("(unwritable; bytes kept)")
    if not notes or draw(st.booleans()):
        for _ in range(draw(st.integers(1, 2))):
            data, note = _mutate_bytes(draw, data)
            notes.append(note)
    spect = "slices" if path.startswith(_SPECT["slices"]) else None
    spect = spect or ("multiframe" if path.startswith(_SPECT["multiframe"]) else None)
    spect = spect or draw(st.sampled_from(tuple(_SPECT)))
    masks = "rtstruct" if path.startswith(_MASKS["rtstruct"]) else None
    masks = masks or ("seg" if path.startswith(_MASKS["seg"]) else None)
    masks = masks or draw(st.sampled_from(tuple(_MASKS)))
    return Input(path, data, spect, masks, "; ".join(notes))


# ---------------------------------------------------------------------------- running one


@dataclass(frozen=True)
class Outcome:
    """``accepted``, ``refused`` or ``failure``; a signature that groups failures; detail."""

    kind: str
    signature: str
    detail: str = ""


class _Hang(Exception):
    pass


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_WORK: dict[Path, Path] = {}


def _work_study(root: Path) -> Path:
    """One copy of the seed (hard links) per run, which every input borrows in turn."""
    study = _WORK.get(root)
    if study is None:
        folder = Path(tempfile.mkdtemp(prefix="fuzz-dicom-"))
        atexit.register(shutil.rmtree, folder, True)
        study = folder / "study"
        shutil.copytree(root, study, copy_function=os.link)
        _WORK[root] = study
    return study


@contextlib.contextmanager
def _study(item: Input, root: Path) -> Iterator[Path]:
    """The seed's copy with ``item.path`` replaced by ``item.data``; afterwards the seed's
    own file is linked back and anything the run wrote (RT Dose) is removed, so the next
    input sees the seed exactly."""
    study = _work_study(root)
    target = study / item.path
    target.unlink()
    target.write_bytes(item.data)
    try:
        yield study
    finally:
        target.unlink(missing_ok=True)
        os.link(root / item.path, target)
        _remove_extra(study, root)


def _remove_extra(study: Path, root: Path) -> None:
    for folder in [study, *(study / d for d in {Path(p).parts[0] for p in _seed(root)})]:
        seed_folder = root / folder.relative_to(study)
        for name in set(os.listdir(folder)) - set(os.listdir(seed_folder)):
            extra = folder / name
            if extra.is_dir():
                shutil.rmtree(extra)
            else:
                extra.unlink()


def _compute(study: Path, item: Input) -> Any:
    from flexmrt.gpu_dose import Settings, compute_dose
    from flexmrt.gpu_dose.dicom_io import write_rt_dose

    settings = Settings(method="prior-half-life")
    result = compute_dose(
        [study / _SPECT[item.spect]], study / _MASKS[item.masks], study / "ct", settings
    )
    write_rt_dose(study / "rtdose.dcm", result.dose_gy, result.scan.geometry, result.scan)
    return result


def _signature(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    last = frames[-1] if frames else None
    where = f"{Path(last.filename).name}:{last.lineno}" if last else "?"
    return f"{type(error).__name__} at {where}"


def _leak(texts: list[str]) -> str:
    for text in texts:
        for sentinel in SENTINELS:
            if sentinel.lower() in text.lower():
                return text[:200]
    return ""


def classify(item: Input, root: Path = SEED, hang_s: float = HANG_S) -> Outcome:
    """Run one input; its outcome class."""
    from flexmrt.gpu_dose import DoseError

    handler = _Records()
    logger = logging.getLogger()
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    alarm = _alarm(hang_s)
    try:
        with _study(item, root) as study:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                outcome = _run(study, item, DoseError)
            texts = [str(w.message) for w in caught] + handler.messages + [outcome.detail]
            leaked = _leak(texts)
            if leaked:
                return Outcome("failure", "patient value in a log, warning or error", leaked)
            return outcome
    finally:
        alarm()
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _run(study: Path, item: Input, dose_error: type[Exception]) -> Outcome:
    try:
        result = _compute(study, item)
    except _Hang:
        return Outcome("failure", "hang", f"over {HANG_S:g} s")
    except dose_error as error:
        if not getattr(error, "code", "") or not getattr(error, "path", ""):
            return Outcome("failure", "DoseError naming no file", str(error))
        return Outcome("refused", getattr(error, "code", ""), str(error))
    except Exception as error:
        detail = "".join(traceback.format_exception(error, limit=-6))
        return Outcome("failure", _signature(error), detail)
    doses = [s.mean_gy for s in result.structures.values()] + [float(np.max(result.dose_gy))]
    if not all(math.isfinite(d) for d in doses):
        return Outcome("failure", "non-finite dose accepted", str(doses))
    return Outcome("accepted", "accepted")


def _alarm(seconds: float) -> Any:
    """Raise _Hang in the main thread after ``seconds`` (a no-op elsewhere); returns a cancel."""
    if os.name != "posix" or not _main_thread():
        return lambda: None

    def ring(signum: int, frame: Any) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)

    def cancel() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    return cancel


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


# ---------------------------------------------------------------------------- corpus


def corpus_name(item: Input) -> str:
    digest = hashlib.sha256(item.data + item.spect.encode() + item.masks.encode()).hexdigest()
    return f"{digest[:16]}@{item.spect}@{item.masks}@{item.path.replace('/', '+')}"


def save(item: Input, corpus: Path = CORPUS) -> Path:
    corpus.mkdir(parents=True, exist_ok=True)
    path = corpus / corpus_name(item)
    path.write_bytes(item.data)
    return path


def load(path: Path) -> Input:
    """A corpus entry back as an input (its name says which seed file it replaces)."""
    _digest, spect, masks, rel = path.name.split("@", 3)
    return Input(rel.replace("+", "/"), path.read_bytes(), spect, masks, f"corpus {path.name}")


def corpus_entries(corpus: Path = CORPUS) -> list[Path]:
    return sorted(p for p in corpus.glob("*@*") if p.is_file()) if corpus.is_dir() else []


# ---------------------------------------------------------------------------- the long run


def _limit_memory(gib: float) -> None:
    """Cap the address space, so that an unbounded allocation fails instead of swapping."""
    import resource

    limit = int(gib * 1024**3)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


#: Failing inputs kept in the corpus per failure signature and run (the rest are counted).
_KEEP_PER_SIGNATURE = 2


def fuzz(count: int, max_minutes: float, seed: int, corpus: Path = CORPUS) -> int:
    """Run ``count`` inputs (or until ``max_minutes``); print counts; 1 on any failure."""
    import random

    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed

    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    start, cpu = time.monotonic(), time.process_time()
    deadline = start + max_minutes * 60

    def record(item: Input) -> None:
        if time.monotonic() >= deadline or counts.total() >= count:
            return
        outcome = classify(item)
        counts[outcome.kind] += 1
        if outcome.kind == "refused":
            refusals[outcome.signature] += 1
        if outcome.kind == "failure":
            failures[outcome.signature] += 1
            if failures[outcome.signature] <= _KEEP_PER_SIGNATURE:
                saved = save(item, corpus)
                print(f"FAILURE {outcome.signature} [{item.note}] -> {saved.name}", flush=True)
                print(outcome.detail, flush=True)
        if counts.total() % 500 == 0:
            elapsed = time.monotonic() - start
            print(f"{counts.total()} inputs, {elapsed:.0f} s: {dict(counts)}", flush=True)

    while counts.total() < count and time.monotonic() < deadline:
        batch = settings(
            max_examples=min(500, count - counts.total()),
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(fixed_seed(rng.getrandbits(64))(given(inputs())(record)))
        batch()
    done = counts.total()
    cpu = time.process_time() - cpu
    _report(done, count, time.monotonic() - start, counts, refusals, failures, cpu)
    return 1 if failures or done < count else 0


def _report(done, count, seconds, counts, refusals, failures, cpu=0.0) -> None:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nDICOM fuzz, {when}: {done} inputs in {seconds / 60:.1f} min")
    print(
        f"  {done / max(seconds, 1e-9):.2f} inputs/s; {cpu:.0f} CPU-s of this process, "
        f"{done / max(cpu, 1e-9):.2f} inputs per CPU-s"
    )
    if done < count:
        print(f"STOPPED at the time limit: {done} of the {count} inputs asked for were run")
    for kind in ("accepted", "refused", "failure"):
        print(f"  {kind}: {counts.get(kind, 0)}")
    print(f"  refusal codes: {len(refusals)} distinct")
    for code, n in refusals.most_common():
        print(f"    {n:6d}  {code}")
    if failures:
        print(f"  FAILURES: {len(failures)} distinct signatures (inputs saved under {CORPUS})")
        for sig, n in failures.most_common():
            print(f"    {n:6d}  {sig}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--max-minutes", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--memory-gib", type=float, default=4.0)
    parser.add_argument("--write-seed", action="store_true", help="rebuild the seed study")
    args = parser.parse_args(argv)
    if args.write_seed:
        write_seed()
        print(f"wrote the seed study under {SEED}: {len(seed_files())} files")
        return 0
    _limit_memory(args.memory_gib)
    print(f"DICOM fuzz: {args.count} inputs, at most {args.max_minutes:g} min, seed {args.seed}")
    return fuzz(args.count, args.max_minutes, args.seed)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
