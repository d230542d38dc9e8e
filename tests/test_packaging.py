"""pyproject.toml and environment.yml must list the same packages (conda calls PyTorch "pytorch")."""

import re
import sys
from pathlib import Path

import yaml
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"pytorch": "torch", "ray-core": "ray", "playwright-python": "playwright"}
CONDA_ONLY = {"python", "pip"}
ENV_PYTHON = {"python_version": "3.11", "python_full_version": "3.11.0"}


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]
            + project["optional-dependencies"]["ray"]]
    return {norm(r.name): str(r.specifier) for r in reqs if r.marker is None or r.marker.evaluate(ENV_PYTHON)}


def conda_packages():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out, pip_section = {}, None
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_section = dep["pip"]
            continue
        name, spec = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", dep).groups()
        if name not in CONDA_ONLY:
            out[norm(CONDA_TO_PIP.get(name, name))] = spec.replace("=", "==") if re.match(r"^=\d", spec) else spec
    return out, pip_section


def test_same_packages_and_bounds():
    pip_side, (conda_side, _) = pyproject_packages(), conda_packages()
    assert set(pip_side) == set(conda_side), (
        f"only in pyproject.toml: {sorted(set(pip_side) - set(conda_side))}; "
        f"only in environment.yml: {sorted(set(conda_side) - set(pip_side))}")
    for name, spec in pip_side.items():
        assert conda_side[name] == spec, f"{name}: pyproject says {spec!r}, environment.yml says {conda_side[name]!r}"


def test_environment_installs_the_package_with_dev_ray_and_zh_extras():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    assert "python=3.11" in env["dependencies"]
    _, pip_section = conda_packages()
    assert pip_section == ["-e .[dev,ray,zh]"]


def test_constraints_pin_every_dependency():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[norm(name)] = version
    for name, spec in pyproject_packages().items():
        if name == "torch":  # installed first, per platform (see Makefile)
            assert name not in pins
            continue
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert Requirement(f"{name}{spec}").specifier.contains(pins[name]), f"{name}=={pins[name]} breaks {spec}"
