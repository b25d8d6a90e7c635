"""ONNX Runtime sessions: which execution provider runs, and with how many threads.

``onnxruntime-gpu`` lists the CUDA provider as available whether or not a GPU exists and, when
asked for it on a machine without one, logs errors and silently falls back. So "auto" first checks
that the CUDA driver library loads, and every session reports the provider that really runs.
When CUDA is requested and cannot load, the error names the library that is missing (the driver,
cuBLAS, cuDNN...) and the provider that would run instead, rather than captioning on the CPU.

The CUDA/cuDNN libraries come from NVIDIA's pip wheels (``nvidia/<pkg>/lib``), in a venv or in the
GPU installer; ``onnxruntime.preload_dlls()`` loads them from there before the first CUDA session.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import io
import os
import re
import sys
from pathlib import Path

import onnxruntime as ort

from captioner.asr.choices import Provider
from captioner.errors import CaptionerError

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


class ProviderError(CaptionerError):
    """The requested execution provider cannot run here."""


def cuda_driver_present() -> bool:
    """True when the NVIDIA driver library can be loaded (a GPU is likely usable)."""
    name = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


@functools.cache
def preload_cuda_libraries() -> None:
    """Load the CUDA/cuDNN libraries from NVIDIA's wheels (or the GPU bundle) once, if this onnxruntime has CUDA.

    ``preload_dlls`` prints its failures; they are swallowed here because ``cuda_load_problem`` reports
    the missing library in the words the user sees.
    """
    preload = getattr(ort, "preload_dlls", None)
    if preload is None or CUDA not in ort.get_available_providers():
        return
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
        preload()


def _cuda_library_names() -> list[str]:
    """The CUDA/cuDNN libraries onnxruntime's CUDA provider loads, in dependency order."""
    listing = getattr(ort, "_get_nvidia_dll_paths", None)
    if listing is not None:
        with contextlib.suppress(Exception):
            return [str(path[-1]) for path in listing(sys.platform == "win32", True, True)]
    return ["libcublasLt.so.12", "libcublas.so.12", "libcurand.so.10", "libcufft.so.11", "libcudart.so.12",
            "libcudnn.so.9"]


_MISSING_SO = re.compile(r"([\w.+-]+\.so(?:\.[\w.]+)?): cannot open shared object file")


@functools.cache
def cuda_load_problem() -> str | None:
    """Why the CUDA provider cannot run here, naming the first library that does not load; ``None`` if it can."""
    if CUDA not in ort.get_available_providers():
        return "this onnxruntime build has no CUDA provider"
    if not cuda_driver_present():
        driver = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
        return f"the NVIDIA driver library {driver} cannot be loaded (no NVIDIA GPU driver on this machine)"
    preload_cuda_libraries()
    capi = Path(ort.__file__).resolve().parent / "capi"
    provider = capi / ("onnxruntime_providers_cuda.dll" if sys.platform == "win32"
                       else "libonnxruntime_providers_cuda.so")
    try:
        ctypes.CDLL(str(provider))
    except OSError as exc:
        found = _MISSING_SO.search(str(exc))
        if found:
            return f"{found.group(1)} cannot be loaded (needed by onnxruntime's CUDA provider)"
    for name in _cuda_library_names():
        try:
            ctypes.CDLL(name)
        except OSError:
            return f"{name} cannot be loaded (a CUDA/cuDNN library onnxruntime's CUDA provider needs)"
    return None


def resolve_providers(preference: Provider | str) -> list[str]:
    """ONNX Runtime's provider list for ``preference``."""
    try:
        preference = Provider(preference)
    except ValueError:
        choices = ", ".join(p.value for p in Provider)
        raise ProviderError(f"Unknown execution provider {preference!r}; choose one of {choices}.") from None
    compiled = ort.get_available_providers()
    if preference is Provider.CPU:
        return [CPU]
    if preference is Provider.CUDA:
        if CUDA not in compiled:
            raise ProviderError(
                "CUDA was requested but this onnxruntime build has no CUDA provider "
                f"(it has {', '.join(compiled)}). Install onnxruntime-gpu, or choose the CPU provider."
            )
        if not cuda_driver_present():
            raise ProviderError(
                "CUDA was requested but the NVIDIA driver library (libcuda.so.1 / nvcuda.dll) cannot be "
                f"loaded: this machine has no usable NVIDIA GPU driver, so Captioner would run on {CPU}. "
                "Install the driver, or choose the CPU provider."
            )
        problem = cuda_load_problem()
        if problem is not None:
            raise ProviderError(
                f"CUDA was requested but cannot start: {problem}, so Captioner would run on {CPU}. "
                "Install the CUDA and cuDNN libraries (pip install 'onnxruntime-gpu[cuda,cudnn]', or use the "
                "GPU installer), or choose the CPU provider."
            )
        return [CUDA, CPU]
    if CUDA in compiled and cuda_driver_present():
        preload_cuda_libraries()
        return [CUDA, CPU]
    return [CPU]


SMALL_MODEL_BYTES = 64 * 2**20
"""Below this many bytes of encoder weights a second intra-op thread costs more than it gives: on 2 cores the
6.7 M-parameter demo model ran at 0.75-0.85x the speed with 2 threads for 40-60 % more CPU, the 114 M one
1.15-1.3x faster (``benchmarks/thread_count.py``, benchmarks/README.md)."""


def default_threads() -> int:
    """Intra-op threads: all physical-ish cores up to 4 (more rarely helps a batch-1 stream)."""
    return max(1, min(4, os.cpu_count() or 1))


def threads_for(encoder_weight_bytes: int) -> int:
    """Intra-op threads for a model whose encoder step reads this many bytes of weights.

    A small model's step is a few hundred tiny operators, and handing each one to a second thread costs
    more than splitting it saves; a large model's step is a weight read that two cores stream faster.
    """
    return 1 if encoder_weight_bytes < SMALL_MODEL_BYTES else default_threads()


def create_session(path: Path, preference: str = "auto", threads: int | None = None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    # Idle ORT workers otherwise spin and steal the cores from the next session's call (encoder and
    # decoder alternate every chunk): measured 1.42x faster at 80 ms lookahead on 2 cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = resolve_providers(preference)
    session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    if preference == "cuda" and session.get_providers()[0] != CUDA:
        raise ProviderError(
            f"CUDA was requested but onnxruntime could not start it for {path.name} (running on "
            f"{session.get_providers()[0]} instead): the CUDA or cuDNN libraries onnxruntime-gpu needs are "
            "missing or do not match the driver. Install them (pip install 'onnxruntime-gpu[cuda,cudnn]'), "
            "or choose the CPU provider."
        )
    return session


def active_provider(session: ort.InferenceSession) -> str:
    return str(session.get_providers()[0])
