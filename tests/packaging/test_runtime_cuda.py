"""CUDA requested but not loadable: the error names the missing library and the provider that would run instead.

This is what the GPU installer relies on: never captioning silently on the CPU when the user asked for CUDA.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Iterator

import onnxruntime as ort
import pytest

from captioner.asr import runtime
from captioner.asr.runtime import CPU, CUDA, ProviderError


@pytest.fixture(autouse=True)
def fresh_probe() -> Iterator[None]:
    runtime.cuda_load_problem.cache_clear()
    yield
    runtime.cuda_load_problem.cache_clear()


def needs_cuda_build() -> None:
    if CUDA not in ort.get_available_providers():
        pytest.skip("this onnxruntime has no CUDA provider (onnxruntime-gpu is the Linux x86-64 default)")


def test_no_driver_names_libcuda_and_the_cpu_provider() -> None:
    needs_cuda_build()
    if runtime.cuda_driver_present():
        pytest.skip("this machine has the NVIDIA driver")
    with pytest.raises(ProviderError) as err:
        runtime.resolve_providers("cuda")
    assert "libcuda.so.1" in str(err.value) and CPU in str(err.value)
    assert "libcuda.so.1" in (runtime.cuda_load_problem() or "")


def test_missing_cuda_library_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a driver but without (some of) NVIDIA's CUDA wheels, the first library that does not load is named."""
    needs_cuda_build()
    monkeypatch.setattr(runtime, "cuda_driver_present", lambda: True)
    problem = runtime.cuda_load_problem()
    if problem is None:
        pytest.skip("the CUDA provider and all its libraries load here")
    found = re.match(r"(lib[\w.+-]+\.so\.\d+) cannot be loaded", problem)
    assert found, problem
    # The named library really is the one missing (when the driver is faked, libcuda itself is expected too).
    if found.group(1) != "libcuda.so.1":
        with pytest.raises(OSError):
            ctypes.CDLL(found.group(1))
    with pytest.raises(ProviderError) as err:
        runtime.resolve_providers("cuda")
    assert found.group(1) in str(err.value) and f"would run on {CPU}" in str(err.value)


def test_cpu_and_auto_never_raise_without_cuda() -> None:
    assert runtime.resolve_providers("cpu") == [CPU]
    assert runtime.resolve_providers("auto")[-1] == CPU
