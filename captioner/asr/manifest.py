"""Captioner's own model-folder manifest (``captioner-model.json``), written by ``captioner export``.

The manifest records what the exporter knew for certain (NeMo's own streaming parameters per
lookahead), so loading a folder needs neither NeMo nor the ``.nemo`` archive.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from captioner.asr.errors import ModelFolderError
from captioner.asr.spec import (
    AttentionCache,
    CtcSpec,
    EncoderSpec,
    ModelLayout,
    ModelSpec,
    PreprocessorSpec,
    PromptSpec,
    RnntSpec,
    StreamingSpec,
)
from captioner.asr.weights_digest import WeightsDigest, digest_of

MANIFEST_NAME = "captioner-model.json"
FORMAT_NAME = "captioner-streaming-model"
FORMAT_VERSION = 1


def spec_to_dict(spec: ModelSpec) -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "name": spec.name,
        "source": spec.source,
        "nemo_version": spec.nemo_version,
        "quantization": spec.quantization,
        "weights": spec.weights_file,
        "preprocessor": asdict(spec.preprocessor),
        "encoder": asdict(spec.encoder),
        "streaming": [asdict(s) for s in spec.streaming],
        "vocabulary": {"size": spec.vocab_size, "blank_id": spec.blank_id, "tokenizer": spec.tokenizer_file},
        "decoders": {
            "rnnt": _rnnt_dict(spec.rnnt) if spec.rnnt else None,
            "ctc": asdict(spec.ctc) if spec.ctc else None,
        },
        **({"prompt": asdict(spec.prompt)} if spec.prompt else {}),
        **({"attention_cache": spec.attention_cache.value}
           if spec.attention_cache is not AttentionCache.LAYER_INPUTS else {}),
    }


def _rnnt_dict(rnnt: RnntSpec) -> dict[str, Any]:
    data = asdict(rnnt)
    if data.get("joiner_file") is None:
        data.pop("joiner_file", None)  # Captioner's folders have one decoder_joint graph
    return data


def write_manifest(spec: ModelSpec, folder: Path) -> Path:
    """Write the manifest, with the fingerprint of the folder's ``weights.bin`` when it has one."""
    path = folder / MANIFEST_NAME
    data = spec_to_dict(spec)
    if spec.weights_file and (folder / spec.weights_file).is_file():
        digest = digest_of(folder / spec.weights_file)
        data["weights_digest"] = {"size": digest.size, "sha256": digest.sha256, "sampled_sha256": digest.sampled_sha256}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def read_manifest(path: Path) -> ModelSpec:
    """Parse a manifest; any missing or ill-typed field becomes a ``ModelFolderError`` naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFolderError(
            f"{path} is not a readable Captioner manifest ({exc}).",
            f"Re-export the model with `captioner export MODEL.nemo {path.parent}`.",
        ) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ModelFolderError(
            f"{path} is not a Captioner model manifest (its 'format' is not '{FORMAT_NAME}').",
            "Point Captioner at a folder written by `captioner export`, or remove the stray file.",
        )
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFolderError(
            f"{path} has manifest format version {version!r}; this Captioner reads version {FORMAT_VERSION}.",
            "Re-export the model with this version of `captioner export`.",
        )
    try:
        voc = data["vocabulary"]
        dec = data["decoders"]
        streaming = tuple(
            StreamingSpec(
                att_context_size=_pair(s["att_context_size"]),
                chunk_frames=_pair(s["chunk_frames"]),
                shift_frames=_pair(s["shift_frames"]),
                valid_out_len=int(s["valid_out_len"]),
                pre_encode_cache_size=int(s["pre_encode_cache_size"]),
                drop_extra_pre_encoded=int(s["drop_extra_pre_encoded"]),
                last_channel_cache_size=int(s["last_channel_cache_size"]),
                encoder_file=str(s["encoder_file"]),
                first_chunk_encoder_file=s.get("first_chunk_encoder_file"),
                ctc_file=s.get("ctc_file"),
            )
            for s in data["streaming"]
        )
        return ModelSpec(
            name=str(data["name"]),
            source=data.get("source"),
            nemo_version=data.get("nemo_version"),
            quantization=data.get("quantization"),
            weights_file=data.get("weights"),
            preprocessor=PreprocessorSpec(**data["preprocessor"]),
            encoder=EncoderSpec(**data["encoder"]),
            streaming=streaming,
            vocab_size=int(voc["size"]),
            blank_id=int(voc["blank_id"]),
            tokenizer_file=str(voc["tokenizer"]),
            rnnt=RnntSpec(**dec["rnnt"]) if dec.get("rnnt") else None,
            ctc=CtcSpec(**dec["ctc"]) if dec.get("ctc") else None,
            layout=ModelLayout.MANIFEST,
            prompt=_prompt(data.get("prompt")),
            attention_cache=AttentionCache(data.get("attention_cache", AttentionCache.LAYER_INPUTS.value)),
            weights_digest=WeightsDigest(**data["weights_digest"]) if data.get("weights_digest") else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFolderError(
            f"{path} is missing or mistypes a field ({type(exc).__name__}: {exc}).",
            f"Re-export the model with `captioner export MODEL.nemo {path.parent}`.",
        ) from exc


def _prompt(value: Any) -> PromptSpec | None:
    if value is None:
        return None
    dictionary = {str(k): int(v) for k, v in dict(value["dictionary"]).items()}
    return PromptSpec(dictionary=dictionary, num_prompts=int(value["num_prompts"]), default=str(value["default"]))


def _pair(value: Any) -> tuple[int, int]:
    first, second = value
    return int(first), int(second)
