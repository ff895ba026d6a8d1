"""`flexmrt dose` and `flexmrt dose-batch` on a phantom written to disk."""

from __future__ import annotations

import json

import pytest

from flexmrt.gpu_dose import phantom
from flexmrt.server.cli import main

SHAPE = (24, 28, 32)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return phantom.make_phantom(tmp_path_factory.mktemp("cli") / "s1", shape=SHAPE)


def test_dose_json_with_protocol_and_record_entry(study, tmp_path, capsys):
    rc = main(
        [
            "dose",
            "--spect",
            str(study.spect[0]),
            "--masks",
            str(study.masks),
            "--protocol",
            "flex-mrt",
            "--teff-h",
            "kidney=40",
            "--out",
            str(tmp_path),
            "--cycle",
            "3",
            "--json",
            "--device",
            "cpu",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["alpha_beta_gy"] == 2.6 and out["repair_half_time_h"] == 2.8
    assert out["record_entry"]["cycle"] == 3 and out["record_entry"]["kidney_teff_h"] == 40.0
    assert (tmp_path / "rtdose.dcm").exists() and (tmp_path / "results.json").exists()


def test_dose_table_output(study, tmp_path, capsys):
    assert (
        main(
            [
                "dose",
                "--spect",
                str(study.spect[0]),
                "--masks",
                str(study.masks),
                "--ct",
                str(study.ct),
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "kidneys" in text and "default [assumed]" in text and "warning: single scan" in text


def test_invalid_input_exit_1_names_code_and_file(study, tmp_path, capsys):
    rc = main(
        ["dose", "--spect", str(study.spect[0]), "--masks", str(study.ct), "--out", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "[no_masks]" in err and str(study.ct) in err


def test_truncated_seg_exit_1_names_file_tag_and_fix_without_traceback(study, tmp_path, capsys):
    masks = tmp_path / "masks"
    masks.mkdir()
    data = (study.masks / "seg.dcm").read_bytes()
    (masks / "seg.dcm").write_bytes(data[: len(data) // 2])
    rc = main(
        ["dose", "--spect", str(study.spect[0]), "--masks", str(masks), "--out", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert f"{masks / 'seg.dcm'}: PixelData (7FE0,0010)" in err and "fix:" in err


@pytest.mark.parametrize(
    "bad",
    [
        ["--teff-h", "kidney"],
        ["--injection-time", "yesterday"],
        ["--injection-time", "2024-03-04T09:30:00"],
    ],
)
def test_malformed_option_exit_2(study, tmp_path, bad, capsys):
    rc = main(
        [
            "dose",
            "--spect",
            str(study.spect[0]),
            "--masks",
            str(study.masks),
            "--out",
            str(tmp_path),
            *bad,
        ]
    )
    assert rc == 2 and "usage error" in capsys.readouterr().err


def test_dose_batch(study, tmp_path, capsys):
    rc = main(["dose-batch", str(study.root.parent), "--out", str(tmp_path), "--json"])
    captured = capsys.readouterr()
    summaries = json.loads(captured.out)
    assert rc == 0 and summaries[0]["status"] == "ok" and "1/1" in captured.err
