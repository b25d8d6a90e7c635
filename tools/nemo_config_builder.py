"""The NeMo config of a cache-aware streaming FastConformer, built in one place for every tool that makes one.

:func:`fastconformer_config` returns the plain dict that ``OmegaConf.create`` turns into the ``cfg`` of
NeMo's ``EncDecHybridRNNTCTCBPEModel`` (RNNT + CTC), ``EncDecRNNTBPEModel`` (RNNT only, ``ctc_loss_weight=None``)
or ``EncDecRNNTBPEModelWithPrompt`` (``prompt=...``), modelled on NeMo's
``fastconformer_hybrid_transducer_ctc_bpe_streaming.yaml``: 16 kHz log-mel features without normalisation,
causal dw-striding x8 subsampling, chunked-limited attention with the given ``att_context_size`` lookaheads,
causal convolutions, an LSTM prediction network and a ReLU joint, greedy decoding.

Users: the test fixtures (``tools/make_fixtures.py``), the full-size and Nemotron-shaped benchmark models
(``tools/make_fullsize_model.py``, ``tools/make_nemotron_shape_model.py``) and the demo model's training
(``tools/demo_model/train.py``). Its key order is the order of the YAML NeMo saves in a ``.nemo``, so the
fixtures' archives stay byte for byte what they were. Needs neither NeMo nor OmegaConf.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SAMPLE_RATE = 16000


def fastconformer_config(
    tokenizer_dir: Path | str,
    *,
    n_layers: int,
    d_model: int,
    n_heads: int,
    ff_expansion_factor: int,
    conv_kernel_size: int,
    subsampling_conv_channels: int,
    pred_hidden: int,
    joint_hidden: int,
    att_context_size: list[list[int]],
    n_mels: int = 80,
    conv_norm_type: str = "layer_norm",
    pred_rnn_layers: int = 1,
    pos_emb_max_len: int = 5000,
    untie_biases: bool | None = True,
    ctc_loss_weight: float | None = 0.3,
    spec_augment: dict[str, Any] | None = None,
    prompt: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The model config as a plain dict, keys in NeMo's order.

    ``untie_biases=None`` leaves the key out (NeMo's default, True, applies). ``ctc_loss_weight=None`` gives an
    RNNT-only model (no ``aux_ctc`` section). ``spec_augment`` (``freq_masks``, ``freq_width``, ``time_masks``,
    ``time_width``) adds NeMo's SpectrogramAugmentation. ``prompt`` (``num_prompts`` and ``prompt_dictionary``,
    locale -> prompt index) makes the config of a language-prompt model.
    """
    model_defaults: dict[str, Any] = {"enc_hidden": d_model, "pred_hidden": pred_hidden, "joint_hidden": joint_hidden}
    cfg: dict[str, Any] = {
        "sample_rate": SAMPLE_RATE,
        "compute_eval_loss": False,
        "log_prediction": False,
        "skip_nan_grad": False,
        "model_defaults": model_defaults,
        "tokenizer": {"dir": str(tokenizer_dir), "type": "bpe"},
        "preprocessor": {
            "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
            "sample_rate": SAMPLE_RATE,
            "normalize": "NA",
            "window_size": 0.025,
            "window_stride": 0.01,
            "window": "hann",
            "features": n_mels,
            "n_fft": 512,
            "frame_splicing": 1,
            "dither": 1.0e-05,
            "pad_to": 0,
        },
    }
    if spec_augment is not None:
        cfg["spec_augment"] = {
            "_target_": "nemo.collections.asr.modules.SpectrogramAugmentation",
            "freq_masks": spec_augment["freq_masks"],
            "time_masks": spec_augment["time_masks"],
            "freq_width": spec_augment["freq_width"],
            "time_width": spec_augment["time_width"],
        }
    encoder: dict[str, Any] = {
        "_target_": "nemo.collections.asr.modules.ConformerEncoder",
        "feat_in": n_mels,
        "feat_out": -1,
        "n_layers": n_layers,
        "d_model": d_model,
        "use_bias": True,
        "subsampling": "dw_striding",
        "subsampling_factor": 8,
        "subsampling_conv_channels": subsampling_conv_channels,
        "causal_downsampling": True,
        "ff_expansion_factor": ff_expansion_factor,
        "self_attention_model": "rel_pos",
        "n_heads": n_heads,
        "att_context_size": att_context_size,
        "att_context_style": "chunked_limited",
        "att_context_probs": None,
        "xscaling": True,
    }
    if untie_biases is not None:
        encoder["untie_biases"] = untie_biases
    encoder.update({
        "pos_emb_max_len": pos_emb_max_len,
        "conv_kernel_size": conv_kernel_size,
        "conv_norm_type": conv_norm_type,
        "conv_context_size": "causal",
        "dropout": 0.1,
        "dropout_pre_encoder": 0.1,
        "dropout_emb": 0.0,
        "dropout_att": 0.1,
        "stochastic_depth_drop_prob": 0.0,
        "stochastic_depth_mode": "linear",
        "stochastic_depth_start_layer": 1,
    })
    cfg["encoder"] = encoder
    cfg["decoder"] = {
        "_target_": "nemo.collections.asr.modules.RNNTDecoder",
        "normalization_mode": None,
        "random_state_sampling": False,
        "blank_as_pad": True,
        "prednet": {"pred_hidden": pred_hidden, "pred_rnn_layers": pred_rnn_layers, "t_max": None, "dropout": 0.2},
    }
    cfg["joint"] = {
        "_target_": "nemo.collections.asr.modules.RNNTJoint",
        "log_softmax": None,
        "preserve_memory": False,
        "fuse_loss_wer": False,
        "jointnet": {"joint_hidden": joint_hidden, "activation": "relu", "dropout": 0.2},
    }
    cfg["decoding"] = {"strategy": "greedy_batch", "greedy": {"max_symbols": 10}}
    if ctc_loss_weight is not None:
        cfg["aux_ctc"] = {
            "ctc_loss_weight": ctc_loss_weight,
            "use_cer": False,
            "ctc_reduction": "mean_batch",
            "decoder": {
                "_target_": "nemo.collections.asr.modules.ConvASRDecoder",
                "feat_in": None,
                "num_classes": -1,
                "vocabulary": [],
            },
            "decoding": {"strategy": "greedy"},
        }
    cfg["optim"] = None
    if prompt is not None:
        model_defaults["num_prompts"] = prompt["num_prompts"]
        model_defaults["prompt_dictionary"] = dict(prompt["prompt_dictionary"])
        model_defaults["initialize_prompt_feature"] = True
        cfg["subsampling_factor"] = 8
    return cfg
