"""A saved run loads back, and a damaged or tampered one is refused with a clear error, with nothing in it run."""

import json

import pytest
import torch

from rlteach import monitor
from rlteach import policy_gradient as pg
from rlteach.monitor import CheckpointError, TrainResult


@pytest.fixture
def saved(tmp_path):
    config = pg.Config(total_steps=1000)
    result = TrainResult(config=config, model=pg.build_model(config), episode_returns=[9.0], episode_steps=[9],
                         episode_seconds=[0.1], evals=[(1000, 0.5, 20.0)], env_steps=1000, seconds=0.5)
    return result, result.save(tmp_path / "run")


class Planted:
    """Unpickling this object would create ``path``: proof that a pickle ran code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def test_a_saved_run_loads_back_with_weights_only(saved, monkeypatch):
    result, directory = saved
    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **kw: calls.append(kw) or real_load(*a, **kw))
    loaded = monitor.load(directory)
    assert calls and all(kw.get("weights_only") is True for kw in calls)
    assert loaded.config == result.config and loaded.evals == result.evals
    for a, b in zip(result.model.state_dict().values(), loaded.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_a_pickle_holding_an_object_is_refused_and_not_run(saved, tmp_path):
    _, directory = saved
    marker = tmp_path / "ran"
    torch.save({"weights": Planted(marker)}, directory / "model.pt")
    with pytest.raises(CheckpointError, match=r"model\.pt was refused.*weights_only=True"):
        monitor.load(directory)
    assert not marker.exists(), "loading the checkpoint ran code from the pickle"


@pytest.mark.parametrize("name", ["model.pt", "config.json", "history.json"])
def test_a_truncated_file_is_refused(saved, name):
    _, directory = saved
    path = directory / name
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(CheckpointError, match=name.replace(".", r"\.")):
        monitor.load(directory)


def test_a_model_of_another_shape_is_refused(saved):
    _, directory = saved
    torch.save({"not.a.layer": torch.zeros(3)}, directory / "model.pt")
    with pytest.raises(CheckpointError, match="model's tensors"):
        monitor.load(directory)


@pytest.mark.parametrize("algorithm", ["planted_module", "rlteach.apex", "os", None])
def test_a_config_naming_an_unknown_algorithm_is_refused_and_nothing_imported(saved, tmp_path, monkeypatch,
                                                                               algorithm):
    _, directory = saved
    marker = tmp_path / "imported"
    (tmp_path / "planted_module.py").write_text(f"open({str(marker)!r}, 'w')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = json.loads((directory / "config.json").read_text())
    config["algorithm"] = algorithm
    (directory / "config.json").write_text(json.dumps(config))
    known = r"\['a2c', 'a3c', 'apex', 'ddppo', 'impala', 'ppo', 'seedrl'\]"
    with pytest.raises(CheckpointError, match=r"names algorithm .*one of " + known):
        monitor.load(directory)
    assert not marker.exists(), "loading the checkpoint imported the module it named"


def test_a_config_with_an_unknown_field_is_refused(saved):
    _, directory = saved
    config = json.loads((directory / "config.json").read_text())
    config["config"]["run_this"] = "rm -rf /"
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="run_this"):
        monitor.load(directory)
