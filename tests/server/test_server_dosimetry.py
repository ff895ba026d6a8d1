"""DosimetryService.ComputeDose: a DICOM phantom streamed in, per-structure dose back,
equal to gpu_dose in process; RT Dose on request; bad uploads are INVALID_ARGUMENT."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

import grpc
import pydicom
import pytest
from server_helpers import violations

from flexmrt.gpu_dose import compute_dose, phantom
from flexmrt.gpu_dose.dicom_io import read_rt_dose
from flexmrt.gpu_dose.dose_settings import dose_settings
from flexmrt.protocol import resolve
from flexmrt.server._gen.flexmrt.v1 import dosimetry_pb2 as pb
from flexmrt.server._gen.flexmrt.v1 import dosimetry_pb2_grpc

SHAPE = (24, 28, 32)
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return phantom.make_phantom(tmp_path_factory.mktemp("phantom") / "s1", shape=SHAPE)


def _files(folder: Path):
    return [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())


def _stream(study, settings: pb.DoseSettings, *, masks=True, ct=True, spect=True):
    yield pb.ComputeDoseRequest(settings=settings)
    parts = []
    if spect:
        parts += [
            (pb.FILE_ROLE_SPECT, f"t{i}", p) for i, s in enumerate(study.spect) for p in _files(s)
        ]
    if masks:
        parts += [(pb.FILE_ROLE_MASKS, "", p) for p in _files(study.masks)]
    if ct:
        parts += [(pb.FILE_ROLE_CT, "", p) for p in _files(study.ct)]
    for role, series, path in parts:
        data = path.read_bytes()
        for start in range(0, len(data), CHUNK):
            yield pb.ComputeDoseRequest(
                chunk=pb.FileChunk(
                    role=role, series=series, name=path.name, data=data[start : start + CHUNK]
                )
            )


def _stub(channel):
    return dosimetry_pb2_grpc.DosimetryServiceStub(channel)


def test_compute_dose_equals_gpu_dose_in_process(channel, study, tmp_path):
    settings = pb.DoseSettings(protocol_ref="flex-mrt@1.0", return_rt_dose=True)
    answer = _stub(channel).ComputeDose(_stream(study, settings), timeout=120)
    lq = resolve("flex-mrt@1.0").kidney_lq()
    settings = dose_settings(resolve("flex-mrt@1.0"))
    expected = compute_dose(study.spect, study.masks, study.ct, settings)
    got = {s.name: s for s in answer.structures}
    assert set(got) == set(expected.structures) and "kidneys" in got
    for name, want in expected.structures.items():
        assert got[name].mean_gy == pytest.approx(want.mean_gy, rel=1e-6)
        assert got[name].mass_g == pytest.approx(want.mass_g, rel=1e-6)
        assert got[name].mean_bed_gy == pytest.approx(want.mean_bed_gy, rel=1e-6)
    assert answer.alpha_beta_gy == lq.alpha_beta_gy and answer.backend
    assert list(answer.notes[: len(settings.notes)]) == list(settings.notes)
    assert "cycles within the 39 Gy cap" in answer.notes[-1]
    assert answer.injection_time_source == "RadiopharmaceuticalStartDateTime (0018,1078)"
    assert got["tumour_1"].group == "tumour" and got["tumour_1"].alpha_beta_gy == 10.0
    assert got["kidneys"].teff_source == "population"
    assert answer.injected_gbq == pytest.approx(7.4)
    assert [t.series for t in answer.spect] == ["t0"]
    (tmp_path / "rtdose.dcm").write_bytes(answer.rt_dose_dicom)
    dose_gy, _ = read_rt_dose(tmp_path / "rtdose.dcm")
    assert float(dose_gy.max()) == pytest.approx(float(expected.dose_gy.max()), rel=1e-3)


def test_pluvicto_label_reply_claims_no_protocol_values(channel, study):
    """Was: 'α/β 2.6 Gy … from protocol pluvicto-label@1.0' (code defaults, no kidney cap)."""
    settings = pb.DoseSettings(protocol_ref="pluvicto-label@1.0", site_time_zone="Mars/Base")
    with pytest.raises(grpc.RpcError) as err:
        _stub(channel).ComputeDose(_stream(study, settings, ct=False), timeout=120)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    settings = pb.DoseSettings(protocol_ref="pluvicto-label@1.0")
    answer = _stub(channel).ComputeDose(_stream(study, settings, ct=False), timeout=120)
    assert list(answer.notes[:5]) == list(dose_settings(resolve("pluvicto-label@1.0")).notes)
    assert not any("from protocol pluvicto" in n for n in answer.notes)
    assert "kidney BED cap: none in pluvicto-label@1.0" in answer.notes


def test_rt_dose_only_on_request(channel, study):
    answer = _stub(channel).ComputeDose(
        _stream(study, pb.DoseSettings(tia_method=pb.TIA_METHOD_HANSCHEID), ct=False), timeout=120
    )
    assert answer.structures and not answer.rt_dose_dicom


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"masks": False}, "chunk.role"),
        ({"spect": False}, "chunk.role"),
    ],
)
def test_missing_parts_are_invalid_argument(channel, study, kwargs, field):
    with pytest.raises(grpc.RpcError) as err:
        _stub(channel).ComputeDose(_stream(study, pb.DoseSettings(), **kwargs), timeout=60)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in violations(err.value)] == [field]


def _requests(*items):
    yield from items


@pytest.mark.parametrize(
    ("requests", "field"),
    [
        (
            [pb.ComputeDoseRequest(chunk=pb.FileChunk(role=pb.FILE_ROLE_SPECT, name="a.dcm"))],
            "settings",
        ),
        (
            [
                pb.ComputeDoseRequest(settings=pb.DoseSettings()),
                pb.ComputeDoseRequest(chunk=pb.FileChunk(role=pb.FILE_ROLE_SPECT, name="../x")),
            ],
            "chunk.name",
        ),
        (
            [
                pb.ComputeDoseRequest(settings=pb.DoseSettings()),
                pb.ComputeDoseRequest(chunk=pb.FileChunk(name="a.dcm")),
            ],
            "chunk.role",
        ),
        (
            [pb.ComputeDoseRequest(settings=pb.DoseSettings(injection_time="2024-03-04T09:30"))],
            "chunk.role",
        ),
    ],
)
def test_malformed_streams_are_invalid_argument(channel, requests, field):
    with pytest.raises(grpc.RpcError) as err:
        _stub(channel).ComputeDose(_requests(*requests), timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in violations(err.value)] == [field]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (pb.DoseSettings(teff_h={"kidney": float("nan")}), "settings.teff_h[kidney]"),
        (pb.DoseSettings(teff_h={"kidney": -35.5}), "settings.teff_h[kidney]"),
        (pb.DoseSettings(teff_h={"kidney": float("inf")}), "settings.teff_h[kidney]"),
        (pb.DoseSettings(injected_gbq=-7.4), "settings.injected_gbq"),
        (pb.DoseSettings(injected_gbq=0.0), "settings.injected_gbq"),
        (pb.DoseSettings(injected_gbq=float("nan")), "settings.injected_gbq"),
        (pb.DoseSettings(injected_gbq=1e300), "settings.injected_gbq"),
        (
            pb.DoseSettings(calibration_bq_ml_per_count=float("nan")),
            "settings.calibration_bq_ml_per_count",
        ),
        (pb.DoseSettings(tia_method=99), "settings.tia_method"),
        (pb.DoseSettings(dose_method=99), "settings.dose_method"),
    ],
    ids=lambda v: str(v).replace("\n", " ")[:40] if not isinstance(v, str) else v,
)
def test_settings_no_dose_can_come_from_are_invalid_argument(channel, study, settings, field):
    """NaN or negative half-lives and activities used to give NaN or negative doses."""
    with pytest.raises(grpc.RpcError) as err:
        _stub(channel).ComputeDose(_stream(study, settings), timeout=60)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in violations(err.value)] == [field]


def test_bad_dicom_names_the_uploaded_file_and_tag(channel, study):
    def stream():
        yield pb.ComputeDoseRequest(settings=pb.DoseSettings())
        yield pb.ComputeDoseRequest(
            chunk=pb.FileChunk(
                role=pb.FILE_ROLE_SPECT, series="24h", name="junk.dcm", data=b"not dicom"
            )
        )
        for p in _files(study.masks):
            yield pb.ComputeDoseRequest(
                chunk=pb.FileChunk(role=pb.FILE_ROLE_MASKS, name=p.name, data=p.read_bytes())
            )

    with pytest.raises(grpc.RpcError) as err:
        _stub(channel).ComputeDose(stream(), timeout=60)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    ((field, description),) = violations(err.value)
    assert field.startswith("spect/24h") and "flexmrt-dose-" not in description


def test_in_flight_call_finishes_during_graceful_stop(tmp_path, study):
    """SIGTERM path: health NOT_SERVING, the call under way completes, then the server stops."""
    from grpc_health.v1 import health_pb2

    from flexmrt.server.app import create_server

    svc, port = create_server("127.0.0.1:0", db=tmp_path / "log.sqlite")
    svc.start()
    release, started = threading.Event(), threading.Event()

    def slow_upload():
        chunks = _stream(study, pb.DoseSettings())
        yield next(chunks)
        started.set()
        release.wait(5)  # the call stays in flight until the server is stopping
        yield from chunks

    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        future = _stub(ch).ComputeDose.future(slow_upload(), timeout=120)
        stopper = threading.Thread(target=svc.stop, kwargs={"grace": 10})
        try:
            assert started.wait(10)
            threading.Event().wait(0.2)
            stopper.start()
            threading.Event().wait(0.3)
            assert not future.done()
            assert svc.health._server_status[""] == health_pb2.HealthCheckResponse.NOT_SERVING
        finally:
            release.set()
        assert len(future.result().structures) >= 4
        stopper.join(30)
    assert not stopper.is_alive()


def _seg_truncated(root: Path) -> None:
    seg = root / "masks" / "seg.dcm"
    seg.write_bytes(seg.read_bytes()[:-200])


def _ct_position_deleted(root: Path) -> None:
    file = root / "ct" / "ct_0003.dcm"
    ds = pydicom.dcmread(file)
    del ds.ImagePositionPatient
    ds.save_as(file, enforce_file_format=True)


def _rwvm_slope_deleted(root: Path) -> None:
    file = root / "spect_24h" / "nm.dcm"
    ds = pydicom.dcmread(file)
    del ds.RealWorldValueMappingSequence[0].RealWorldValueSlope
    ds.save_as(file, enforce_file_format=True)


SENTINEL_NAME, SENTINEL_ID = "Sentinel^Uploaded", "SENTINEL-UPLOAD-0042"


@pytest.mark.parametrize(
    ("damage", "field", "code"),
    [
        (_seg_truncated, "masks/seg.dcm: PixelData (7FE0,0010)", "pixel_data_length"),
        (
            _ct_position_deleted,
            "ct/ct_0003.dcm: ImagePositionPatient (0020,0032)",
            "missing_attribute",
        ),
        (
            _rwvm_slope_deleted,
            "spect/t0/nm.dcm: RealWorldValueSlope (0040,9225)",
            "missing_attribute",
        ),
    ],
    ids=["seg-truncated", "ct-position-missing", "rwvm-slope-missing"],
)
def test_malformed_dicom_is_invalid_argument_naming_the_upload_and_logs_no_patient_value(
    channel, study, tmp_path, caplog, damage, field, code
):
    root = tmp_path / "upload"
    shutil.copytree(study.root, root)
    for file in root.rglob("*.dcm"):
        ds = pydicom.dcmread(file)
        ds.PatientName, ds.PatientID = SENTINEL_NAME, SENTINEL_ID
        ds.save_as(file, enforce_file_format=True)
    damage(root)
    uploaded = phantom.Phantom(root, [root / "spect_24h"], root / "ct", root / "masks")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(grpc.RpcError) as err:
        _stub(channel).ComputeDose(_stream(uploaded, pb.DoseSettings()), timeout=120)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    ((got, description),) = violations(err.value)
    assert got == field and f"[{code}]" in description and "fix:" in description
    assert "flexmrt-dose-" not in description
    assert SENTINEL_NAME not in caplog.text and SENTINEL_ID not in caplog.text
