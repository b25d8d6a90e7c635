"""Will a model keep up on this computer? Measured, not guessed: a few seconds of audio through the recognizer.

A live caption step must finish well within the audio it covers, or captions fall behind and the pipeline skips
ahead. The check streams ``seconds`` of speech-shaped noise through the model at a lookahead and times every
step; for a float folder it can also try the weight-only quantised copies ``captioner quantize`` makes, so the
Models page can say which of them this machine keeps up with and offer the fastest.
"""

from __future__ import annotations

import enum
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import StreamingRecognizer
from captioner.errors import CaptionerError

CHECK_SECONDS = 8.0
COMFORTABLE_LOAD = 0.5
"""Half of real time at most, on average and for the slowest steps: room for a second source, a meeting app
and a busy moment."""
TIGHT_LOAD = 0.9
AS_INSTALLED = "as installed"
SCHEMES_TO_TRY = ("int8-block", "int4-block")


class Verdict(enum.Enum):
    COMFORTABLE = "keeps up comfortably"
    TIGHT = "keeps up, with little to spare"
    TOO_SLOW = "too slow here"


@dataclass(frozen=True)
class SpeedResult:
    scheme: str
    lookahead_ms: int
    rtf: float
    """Compute time over audio time."""
    step_p95: float
    """The slowest steps (95th percentile) as a share of the audio each covers."""
    size_bytes: int
    folder: Path

    @property
    def verdict(self) -> Verdict:
        load = max(self.rtf, self.step_p95)
        if load <= COMFORTABLE_LOAD:
            return Verdict.COMFORTABLE
        return Verdict.TIGHT if load <= TIGHT_LOAD else Verdict.TOO_SLOW

    def describe(self) -> str:
        return (f"{self.scheme}: {self.verdict.value} at {self.lookahead_ms} ms "
                f"(computes {self.rtf:.2f} s per second of audio; slowest steps {self.step_p95:.0%} of theirs)")


def check_audio(seconds: float, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """Noise shaped like speech: syllable-rate bursts of a low-passed signal, quiet gaps between words."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    noise = rng.standard_normal(n).astype(np.float32)
    kernel = np.hanning(24).astype(np.float32)
    voiced = np.convolve(noise, kernel / kernel.sum(), mode="same")
    t = np.arange(n) / sample_rate
    envelope = np.clip(np.sin(2 * np.pi * 4.0 * t), 0, None) * (np.sin(2 * np.pi * 0.3 * t) > -0.6)
    shaped: np.ndarray = (0.3 * voiced * envelope).astype(np.float32)
    return shaped


def measure(folder: Path, lookahead_ms: int, *, seconds: float = CHECK_SECONDS, scheme: str = AS_INSTALLED,
            cancelled: Callable[[], bool] = lambda: False) -> SpeedResult:
    """Stream the test audio through ``folder`` at ``lookahead_ms`` on the CPU provider's settings the app uses."""
    rec = StreamingRecognizer(load_model_folder(folder), lookahead_ms=lookahead_ms)
    audio = check_audio(seconds, rec.sample_rate)
    step = max(1, int(0.1 * rec.sample_rate))
    rec.accept(audio[: rec.sample_rate // 2])  # the first steps pay for ONNX Runtime's warm-up: not counted
    rec.reset()
    rec.step_seconds.clear()
    started = time.perf_counter()
    for i in range(0, len(audio), step):
        if cancelled():
            raise CheckCancelledError("The speed check was cancelled.")
        rec.accept(audio[i : i + step])
    rec.finish()
    compute = time.perf_counter() - started
    steps = np.array(rec.step_seconds, dtype=np.float64)
    shift_s = rec.streaming.shift_frames[1] * rec.spec.preprocessor.frame_ms / 1000.0
    p95 = float(np.percentile(steps, 95)) / shift_s if steps.size else 0.0
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    return SpeedResult(scheme, lookahead_ms, compute / seconds, p95, size, folder)


class CheckCancelledError(CaptionerError):
    pass


def check_schemes(folder: Path, lookahead_ms: int, workdir: Path, *, schemes: tuple[str, ...] = SCHEMES_TO_TRY,
                  seconds: float = CHECK_SECONDS, cancelled: Callable[[], bool] = lambda: False
                  ) -> Iterator[SpeedResult]:
    """``folder`` as installed, then each quantised copy (written under ``workdir``) that can be made from it."""
    yield measure(folder, lookahead_ms, seconds=seconds, cancelled=cancelled)
    spec = load_model_folder(folder).spec
    if spec.layout != "manifest" or (spec.quantization and spec.quantization != "float16-weights"):
        return  # a hand-made export or an already quantised folder: nothing more to try
    from captioner.export.quantize import quantize_folder

    for scheme in schemes:
        if cancelled():
            raise CheckCancelledError("The speed check was cancelled.")
        target = Path(tempfile.mkdtemp(prefix=f"{scheme}-", dir=workdir))
        try:
            quantize_folder(folder, target, scheme)
            result = measure(target, lookahead_ms, seconds=seconds, scheme=scheme, cancelled=cancelled)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)  # a copy nobody will see again
            raise
        yield result


def best(results: list[SpeedResult]) -> SpeedResult | None:
    """The copy to recommend, in the order measured (as installed, then the more exact schemes first): the first
    that keeps up comfortably, else the first that keeps up at all; None when none does."""
    for verdict in (Verdict.COMFORTABLE, Verdict.TIGHT):
        found = next((r for r in results if r.verdict is verdict), None)
        if found is not None:
            return found
    return None


def work_dir(root: Path | None = None) -> Path:
    """Where quantised trial copies are made: beside the models folder (same disk, so keeping one is a rename),
    not inside it (it would be listed as a model)."""
    from captioner.paths import user_data_dir

    folder = (root.parent if root is not None else user_data_dir()) / "speed-check"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep(result: SpeedResult, name: str, root: Path | None = None) -> Path:
    """Move a trial copy into the models folder as ``<name>-<scheme>``; returns its new folder."""
    from captioner.model_manager.store import free_folder_name
    from captioner.paths import user_models_dir

    models = root or user_models_dir()
    models.mkdir(parents=True, exist_ok=True)
    target = free_folder_name(models, f"{name}-{result.scheme}")
    result.folder.rename(target)
    return target
