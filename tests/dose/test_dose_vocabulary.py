"""Dosimetry's vocabularies are one set each: the gpu_dose registry beside the code
(pipeline.TIA_METHODS, convolve.METHODS, backend.PRECISIONS and DEVICES), the CLI's
choices and defaults, the wire enums of DosimetryService (proto TiaMethod, DoseMethod) and
the servicer's mapping of them, and what compute_dose accepts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
import pytest
from dose_helpers import host

from flexmrt.gpu_dose import Settings, compute_dose
from flexmrt.gpu_dose.backend import DEVICES, PRECISIONS
from flexmrt.gpu_dose.convolve import METHODS as DOSE_METHODS
from flexmrt.gpu_dose.convolve import absorbed_dose
from flexmrt.gpu_dose.errors import DoseError
from flexmrt.gpu_dose.grid import Geometry
from flexmrt.gpu_dose.pipeline import TIA_METHODS
from flexmrt.protocol import Registry
from flexmrt.server._gen.flexmrt.v1 import dosimetry_pb2 as pb
from flexmrt.server.cli import build_parser
from flexmrt.server.servicers import dosimetry
from flexmrt.server.status import RequestError


def _wire(enum: object, prefix: str) -> set[str]:
    """The names a proto enum gives its values, without the prefix and UNSPECIFIED, as the
    registry writes them: TIA_METHOD_PRIOR_HALF_LIFE → prior-half-life."""
    names = enum.DESCRIPTOR.values_by_name  # type: ignore[attr-defined]
    return {
        n.removeprefix(prefix + "_").lower().replace("_", "-")
        for n in names
        if n != f"{prefix}_UNSPECIFIED"
    }


def _option(flag: str) -> argparse.Action:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return next(a for a in sub.choices["dose"]._actions if flag in a.option_strings)


def test_tia_methods_are_one_set() -> None:
    assert set(TIA_METHODS) == _wire(pb.TiaMethod, "TIA_METHOD")
    assert tuple(_option("--method").choices) == tuple(TIA_METHODS)
    assert set(dosimetry._TIA.values()) == set(TIA_METHODS)
    assert set(dosimetry._TIA) == set(pb.TiaMethod.DESCRIPTOR.values_by_number)


def test_dose_methods_are_one_set() -> None:
    assert set(DOSE_METHODS) == _wire(pb.DoseMethod, "DOSE_METHOD")
    assert tuple(_option("--dose-method").choices) == tuple(DOSE_METHODS)
    assert set(dosimetry._DOSE.values()) == set(DOSE_METHODS)
    assert set(dosimetry._DOSE) == set(pb.DoseMethod.DESCRIPTOR.values_by_number)


def test_precisions_and_devices_are_the_cli_choices() -> None:
    assert tuple(_option("--precision").choices) == PRECISIONS
    assert tuple(_option("--device").choices) == DEVICES


def test_the_defaults_are_the_settings_defaults() -> None:
    """The CLI, an UNSPECIFIED wire value and Settings() pick the same method."""
    assert _option("--method").default == Settings.method == dosimetry._TIA[0]
    assert _option("--dose-method").default == Settings.dose_method == dosimetry._DOSE[0]
    assert _option("--precision").default == Settings.dtype


def test_building_the_cli_imports_no_dose_code() -> None:
    """The choices are read when a dose command needs them, not for every command."""
    code = (
        "import sys; from flexmrt.server.cli import build_parser; build_parser(); "
        "print(sorted(m for m in sys.modules if m.startswith(('flexmrt.gpu_dose', 'numpy'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("method", list(DOSE_METHODS))
def test_every_dose_method_computes_a_dose(method: str) -> None:
    tia = np.zeros((12, 12, 12))
    tia[6, 6, 6] = 1.0
    geometry = Geometry((12, 12, 12), np.diag([4.0, 4.0, 4.0, 1.0]), "1.2.3")
    dose = host(absorbed_dose(tia, geometry, method=method))
    assert dose.shape == tia.shape and dose[6, 6, 6] > 0


def test_an_unknown_precision_is_a_dose_error() -> None:
    with pytest.raises(DoseError) as err:
        compute_dose(["spect"], "masks", settings=Settings(dtype="int8"))
    assert err.value.code == "unknown_precision"
    assert "float32, float64" in (err.value.fix or "")


@pytest.mark.parametrize("field", ["tia_method", "dose_method"])
def test_an_unknown_wire_method_is_an_invalid_argument(field: str) -> None:
    """A value a newer client sends that this server does not know: INVALID_ARGUMENT naming
    the field and the values it knows, not an internal error."""
    settings = pb.DoseSettings()
    setattr(settings, field, 99)
    servicer = dosimetry.DosimetryServicer(Registry([]))
    with pytest.raises(RequestError) as err:
        servicer._settings(settings)
    assert err.value.field == f"settings.{field}"
    assert "unknown value 99" in err.value.message
    assert "UNSPECIFIED" in err.value.message
