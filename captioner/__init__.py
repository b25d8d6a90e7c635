"""Captioner: live, private captions from NVIDIA NeMo cache-aware streaming models, on this machine.

No audio and no text leave the machine. ONNX Runtime, left to itself, writes a device id and event
records under ``~/.cache/Microsoft`` and may look up a telemetry host; ``ORT_DISABLE_TELEMETRY`` stops it
only when set before onnxruntime is imported. Every entry point (the app, the command line, the frozen
bundle, the tests) imports this package first, so it is set here, unconditionally.
"""

import os

os.environ["ORT_DISABLE_TELEMETRY"] = "1"
