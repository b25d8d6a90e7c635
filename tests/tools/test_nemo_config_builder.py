"""``tools/nemo_config_builder.py`` against the configs NeMo saved in the committed ``.nemo`` fixtures.

Every key the builder writes for a fixture model is in that model's ``model_config.yaml``, in the same order
and with the same value, except the fields NeMo fills in when it builds the model (the tokenizer folder, the
CTC head's input width, class count and vocabulary). Needs neither NeMo nor OmegaConf.
"""

from __future__ import annotations

import tarfile
from typing import Any

import pytest
import yaml

from tests.conftest import FIXTURES
from tools.make_fixtures import MODELS, config_dict, nemo_rel_path

FILLED_BY_NEMO = {("tokenizer", "dir"), ("aux_ctc", "decoder", "feat_in"), ("aux_ctc", "decoder", "num_classes"),
                  ("aux_ctc", "decoder", "vocabulary")}


def mismatches(built: Any, saved: Any, path: tuple[str, ...] = ()) -> list[str]:
    """Where ``saved`` differs from ``built`` in a key ``built`` has (its order included)."""
    if path in FILLED_BY_NEMO:
        return []
    if not isinstance(built, dict):
        return [] if built == saved else [f"{'.'.join(path)}: {built!r} != {saved!r}"]
    if not isinstance(saved, dict):
        return [f"{'.'.join(path)}: not a section in the saved config"]
    found = [key for key in saved if key in built]
    out = [] if found == list(built) else [f"{'.'.join(path) or 'top level'}: keys {list(built)} saved as {found}"]
    for key in found:
        out += mismatches(built[key], saved[key], (*path, key))
    return out


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_builder_makes_the_config_of_each_committed_fixture(name: str) -> None:
    with tarfile.open(FIXTURES / nemo_rel_path(name)) as archive:
        [member] = [m for m in archive.getmembers() if m.name.endswith("model_config.yaml")]
        handle = archive.extractfile(member)
        assert handle is not None
        saved = yaml.safe_load(handle.read())
    assert mismatches(config_dict(MODELS[name], "tokenizer"), saved) == []


def test_a_changed_value_or_order_is_caught() -> None:
    built = config_dict(MODELS["tiny-c"], "tokenizer")
    changed = {**built, "encoder": {**built["encoder"], "n_heads": 3}}
    assert mismatches(built, changed) == ["encoder.n_heads: 4 != 3"]
    reordered = dict(reversed(list(built["joint"].items())))
    assert mismatches(built, {**built, "joint": reordered})[0].startswith("joint: keys")
