"""Captioner: live, private captions from NVIDIA NeMo cache-aware streaming models, on this machine.

No audio and no text leave the machine. ONNX Runtime, left to itself, writes a device id and event
records under ``~/.cache/Microsoft`` and may look up a telemetry host; ``ORT_DISABLE_TELEMETRY`` stops it
only when set before onnxruntime is imported. Every entry point (the app, the command line, the frozen
bundle, the tests) imports this package first, so it is set here, unconditionally.

numpy's OpenBLAS keeps a pool of threads that spin after each call. The only matrix product on the live path
(the mel filterbank, a few frames wide) gains nothing from it, and with a 0.6 B model, whose long steps let
audio pile up into wider calls, the spinning pool cost 7-10 % of a core (benchmarks/README.md, section 12).
So numpy gets one thread unless the user asks for more.
"""

import os

os.environ["ORT_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
