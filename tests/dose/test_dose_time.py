"""Injection time and time zones for dosimetry (MISSION.md "Injection time", "Time")."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pydicom
import pytest

from flexmrt.gpu_dose import dicom_io, phantom
from flexmrt.gpu_dose.dose_settings import dose_settings
from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.pipeline import Settings, compute_dose
from flexmrt.gpu_dose.record import injection_from_record
from flexmrt.server.cli import main

SHAPE = (24, 28, 32)
LA = dt.timezone(dt.timedelta(hours=-8))  # Los Angeles in March 2024 before DST (10 March)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return phantom.make_phantom(tmp_path_factory.mktemp("time") / "s", shape=SHAPE)


def _edit(src, dst, edit):
    ds = pydicom.dcmread(src)
    edit(ds)
    dst.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(dst, enforce_file_format=True)
    return dst


def _time_only(ds):
    """The injection as RadiopharmaceuticalStartTime alone, 24.5 h before the scan."""
    item = ds.RadiopharmaceuticalInformationSequence[0]
    del item.RadiopharmaceuticalStartDateTime
    item.RadiopharmaceuticalStartTime = "090000"  # the day before the 09:30 scan


def _code(call, *args, **kw) -> DoseError:
    with pytest.raises(DoseError) as err:
        call(*args, **kw)
    return err.value


def test_time_without_date_is_refused_naming_the_tag_and_fix(study, tmp_path):
    """Was: date from SeriesDate → 0.5 h after injection, dose ~50× too low, no warning."""
    nm = _edit(study.spect[0], tmp_path / "nm.dcm", _time_only)
    err = _code(dicom_io.read_spect, nm)
    assert err.code == "injection_date_missing"
    assert "(0018,1072)" in err.tag and "--injection-time" in err.fix and "--record" in err.fix


def test_explicit_injection_time_wins_and_is_named(study, tmp_path):
    nm = _edit(study.spect[0], tmp_path / "nm.dcm", _time_only)
    when = phantom.INJECTION - dt.timedelta(minutes=30)
    image = dicom_io.read_spect(nm, injection_time=when, injection_source="--injection-time")
    assert image.hours_post_injection == pytest.approx(24.5)
    assert image.injection_source == "--injection-time"
    dicom = dicom_io.read_spect(study.spect[0])
    assert dicom.injection_source == "RadiopharmaceuticalStartDateTime (0018,1078)"


def _record(tmp_path, dtc):
    from flexmrt.server.cli.engine_cmds import read_record

    text = (
        "record_version: 1\nsubject: {id: FLX-900, sex: M, birth_date: '1950-01-01'}\n"
        f"administrations:\n  - {{cycle: 1, dtc: '{dtc}', activity: {{value: 7.4, unit: GBq}}}}\n"
    )
    (tmp_path / "r.yaml").write_text(text)
    return read_record(str(tmp_path / "r.yaml"))


def test_record_administration_with_a_time_is_the_injection(tmp_path):
    when, source = injection_from_record(_record(tmp_path, "2024-03-04T09:30:00+01:00"), 1)
    assert when == phantom.INJECTION and "administrations (cycle 1).dtc" in source
    err = _code(injection_from_record, _record(tmp_path, "2024-03-04"), 1)
    assert err.code == "injection_date_only" and "dtc" in err.tag
    assert _code(injection_from_record, _record(tmp_path, "2024-03-04"), 2).code == (
        "no_administration"
    )


def test_cli_record_injection(study, tmp_path, capsys):
    nm = _edit(study.spect[0], tmp_path / "nm" / "nm.dcm", _time_only)
    _record(tmp_path, "2024-03-04T09:00:00+01:00")
    args = ["dose", "--spect", str(nm), "--masks", str(study.masks), "--out", str(tmp_path / "o")]
    rc = main([*args, "--record", str(tmp_path / "r.yaml"), "--cycle", "1", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["spect"][0]["hours_post_injection"] == pytest.approx(24.5)
    assert "administrations (cycle 1)" in out["injection_time_source"]
    assert main(args) == 1 and "[injection_date_missing]" in capsys.readouterr().err


@pytest.mark.parametrize("hours", [-2.0, 0.0, 170.0])
def test_scan_outside_0_to_168_h_is_refused(study, hours):
    when = phantom.INJECTION + dt.timedelta(hours=24) - dt.timedelta(hours=hours)
    settings = Settings(injection_time=when, method="hanscheid")
    err = _code(compute_dose, study.spect, study.masks, settings=settings)
    assert err.code == "scan_outside_window" and "(0008,002A)" in err.tag


def test_scan_outside_24_to_72_h_is_warned_in_results_and_cli(study, tmp_path, capsys):
    when = phantom.INJECTION + dt.timedelta(hours=24) - dt.timedelta(hours=96)
    rc = main(
        [
            "dose",
            *("--spect", str(study.spect[0]), "--masks", str(study.masks)),
            *("--out", str(tmp_path), "--injection-time", when.isoformat()),
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0 and "warning:" in text and "outside the protocol's 24–72 h window" in text
    payload = json.loads((tmp_path / "results.json").read_text())
    assert any("scan_outside_protocol_window" in w for w in payload["warnings"])
    assert payload["injection_time_source"] == "--injection-time"
    inside = compute_dose(study.spect, study.masks, settings=Settings(method="hanscheid"))
    assert not any("protocol_window" in w for w in inside.warnings)


def _no_offsets(ds):
    """A scanner that writes local times without any offset (no (0008,0201))."""
    del ds.TimezoneOffsetFromUTC
    item = ds.RadiopharmaceuticalInformationSequence[0]
    del item.RadiopharmaceuticalStartDateTime
    ds.AcquisitionDate, ds.AcquisitionTime = "20240305", "093000"


def test_time_without_offset_is_site_local_time(study, tmp_path):
    """Was: read as UTC, so with an explicit −08:00 injection the scan moved by 8 h."""
    nm = _edit(study.spect[0], tmp_path / "nm.dcm", _no_offsets)
    injected = dt.datetime(2024, 3, 4, 9, 30, tzinfo=LA)
    err = _code(dicom_io.read_spect, nm, injection_time=injected)
    assert err.code == "missing_time_zone" and "(0008,0201)" in err.tag
    image = dicom_io.read_spect(nm, injection_time=injected, site_time_zone="America/Los_Angeles")
    assert image.hours_post_injection == pytest.approx(24.0)
    assert image.time_zone == "site time zone America/Los_Angeles"


def test_timezone_offset_from_utc_wins_over_the_site(study, tmp_path):
    def edit(ds):
        _no_offsets(ds)
        ds.TimezoneOffsetFromUTC = "+0100"

    nm = _edit(study.spect[0], tmp_path / "nm.dcm", edit)
    image = dicom_io.read_spect(
        nm, injection_time=phantom.INJECTION, site_time_zone="America/Los_Angeles"
    )
    assert image.hours_post_injection == pytest.approx(24.0)
    assert image.time_zone == "TimezoneOffsetFromUTC (0008,0201) +0100"


def test_site_zone_follows_daylight_saving(study, tmp_path):
    """10 March 2024, 02:00 PST → 03:00 PDT: a scan 23 h of wall clock later is 22 h real."""

    def edit(ds):
        _no_offsets(ds)
        ds.AcquisitionDate, ds.AcquisitionTime = "20240310", "080000"

    nm = _edit(study.spect[0], tmp_path / "nm.dcm", edit)
    injected = dt.datetime(2024, 3, 9, 9, 0, tzinfo=LA)
    image = dicom_io.read_spect(nm, injection_time=injected, site_time_zone="America/Los_Angeles")
    assert image.hours_post_injection == pytest.approx(22.0)


def test_unknown_site_time_zone_is_refused():
    err = _code(dose_settings, None, site_time_zone="Mars/Olympus")
    assert err.code == "unknown_time_zone"


def test_results_name_injection_source_and_time_zone(study):
    result = compute_dose(study.spect, study.masks, settings=Settings(method="hanscheid"))
    payload = result.to_dict()
    assert payload["injection_time_source"] == "RadiopharmaceuticalStartDateTime (0018,1078)"
    assert payload["time_zone"] == "TimezoneOffsetFromUTC (0008,0201) +0100"
    assert np.isfinite(payload["structures"]["kidneys"]["mean_gy"])
