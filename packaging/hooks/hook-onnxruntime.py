"""Replaces pyinstaller-hooks-contrib's onnxruntime hook to leave out the TensorRT provider (GPU variant).

Captioner runs on CUDA or the CPU, never TensorRT; its provider library links TensorRT, which is not bundled, and
would only add "Library not found" lines and a plugin that cannot load.
"""

import os

from PyInstaller.utils.hooks import collect_dynamic_libs

binaries = [entry for entry in collect_dynamic_libs("onnxruntime")
            if not os.path.basename(entry[0]).startswith("libonnxruntime_providers_tensorrt")]
