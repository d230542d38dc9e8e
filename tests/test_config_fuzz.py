"""Every field of every Config: a bad value is refused, before any work starts, with an error that names it.

The allowed values of each field are written out here, independently of the checks in the package (only the
upper bounds of sizes are read from ``rlteach.checks``, where they are documented). Hypothesis draws a Config
with a bad value in ONE random field, the rest valid, and requires a ValueError or TypeError whose message
names that field; a second test draws whole valid Configs and requires that they construct. The draws are
derandomized, so CI runs the same examples every time.
"""

import dataclasses
import importlib.util
import math

import gymnasium as gym
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlteach import a3c, apex, checks, ddppo, impala, ppo, seed_rl
from rlteach import policy_gradient as a2c

M = checks
NONE_OK = "None allowed"


def Int(lo, hi=None, none_ok=False):
    return ("int", lo, hi, none_ok)


def Float(lo, hi=None, low_open=False, none_ok=False):
    return ("float", lo, hi, low_open, none_ok)


BOOL, HIDDEN, HIDDEN_NONEMPTY = ("bool",), ("hidden", True), ("hidden", False)
COMMON = {
    "env_id": ("env",), "env_kwargs": ("env_kwargs",), "seed": Int(0, M.MAX_SEED), "total_steps": Int(1),
    "eval_every": Int(1, none_ok=True),
    "eval_episodes": Int(1, M.MAX_EVAL_EPISODES), "stop_when_solved": BOOL, "device": ("device", False),
}
DISTRIBUTED = {"backend": ("choice", ("thread", "process", "ray")), "ray_address": ("ray_address",)}
FIELDS = {
    a2c: {**COMMON, "num_envs": Int(1, M.MAX_PARALLEL), "n_steps": Int(1, M.MAX_ROLLOUT), "gamma": Float(0, 1),
          "lam": Float(0, 1), "lr": Float(0, low_open=True), "rms_decay": Float(0, 1),
          "rms_eps": Float(0, low_open=True), "value_coef": Float(0), "entropy_coef": Float(0),
          "max_grad_norm": Float(0, low_open=True), "normalize_advantages": BOOL, "hidden": HIDDEN,
          "shared_torso": BOOL, "vectorization": ("choice", ("sync", "async", "vector_entry_point"))},
    a3c: {**COMMON, **DISTRIBUTED, "device": ("device", True), "num_workers": Int(1, M.MAX_PARALLEL),
          "lock": BOOL, "sync": ("sync",), "t_max": Int(1, M.MAX_ROLLOUT), "gamma": Float(0, 1),
          "lr": Float(0, low_open=True), "optimizer": ("choice", ("rmsprop", "adam")), "rms_decay": Float(0, 1),
          "rms_eps": Float(0, low_open=True), "value_coef": Float(0), "entropy_coef": Float(0),
          "max_grad_norm": Float(0, low_open=True, none_ok=True), "hidden": HIDDEN},
    apex: {**COMMON, **DISTRIBUTED, "num_actors": Int(1, M.MAX_PARALLEL), "epsilon": Float(0, 1),
           "epsilon_exponent": Float(0), "n_step": Int(1, M.MAX_ROLLOUT), "gamma": Float(0, 1),
           "buffer_size": Int(1, M.MAX_BUFFER), "priority_alpha": Float(0, 1), "priority_beta": Float(0, 1),
           "priority_eps": Float(0, low_open=True), "batch_size": Int(1, M.MAX_BATCH),
           "lr": Float(0, low_open=True), "learning_starts": Int(0), "env_steps_per_update": Int(1),
           "updates_per_target_copy": Int(1), "env_steps_per_weight_sync": Int(1),
           "transitions_per_message": Int(1, M.MAX_QUEUE), "max_grad_norm": Float(0, low_open=True),
           "hidden": HIDDEN_NONEMPTY, "dueling": BOOL},
    impala: {**COMMON, **DISTRIBUTED, "num_actors": Int(1, M.MAX_PARALLEL),
             "envs_per_actor": Int(1, M.MAX_PARALLEL), "unroll_length": Int(1, M.MAX_ROLLOUT),
             "batch_size": Int(1, M.MAX_PARALLEL), "unrolls_per_weight_pull": Int(1), "max_queue": Int(1, M.MAX_QUEUE),
             "gamma": Float(0, 1), "lr": Float(0, low_open=True), "value_coef": Float(0),
             "entropy_coef": Float(0), "max_grad_norm": Float(0, low_open=True),
             "clip_rho": Float(0, low_open=True, none_ok=True), "clip_c": Float(0, low_open=True, none_ok=True),
             "clip_pg_rho": Float(0, low_open=True, none_ok=True), "lam": Float(0, 1),
             "off_policy_correction": ("choice", ("vtrace", "one_step_is", "none")), "actor_epsilon": Float(0, 1),
             "replay_fraction": ("replay_fraction",), "replay_capacity_unrolls": Int(1, M.MAX_BUFFER),
             "hidden": HIDDEN},
    ppo: {**COMMON, "num_envs": Int(1, M.MAX_PARALLEL), "n_steps": Int(1, M.MAX_ROLLOUT), "update_epochs": Int(1),
          "num_minibatches": Int(1, M.MAX_BATCH), "clip_eps": Float(0, 1, low_open=True, none_ok=True),
          "gamma": Float(0, 1),
          "lam": Float(0, 1), "lr": Float(0, low_open=True), "anneal_lr": BOOL, "adam_eps": Float(0, low_open=True),
          "value_coef": Float(0), "entropy_coef": Float(0), "max_grad_norm": Float(0, low_open=True),
          "normalize_advantages": BOOL, "hidden": HIDDEN, "shared_torso": BOOL,
          "vectorization": ("choice", ("sync", "async", "vector_entry_point"))},
}
FIELDS[ddppo] = {**FIELDS[ppo], "device": ("device", True), "anneal_lr": ("only", False),
                 "num_workers": Int(1, M.MAX_PARALLEL), "backend": ("choice", ("process", "ray")),
                 "ray_address": ("ray_address",), "preemption_threshold": Float(0, 1, low_open=True),
                 "min_rollout_share": Float(0, 1, low_open=True), "collective_timeout": Float(0, 3600, low_open=True),
                 "slow_worker_ms": Float(0, 1000)}
FIELDS[seed_rl] = {**FIELDS[impala], "device": ("device", True), "backend": ("choice", ("thread", "process")),
                   "unrolls_per_weight_pull": ("only", 1), "replay_fraction": ("only", 0.0)}
MODULES = list(FIELDS)
IDS = ["a2c", "a3c", "apex", "impala", "ppo", "ddppo", "seed_rl"]

# --- bad values, by kind --------------------------------------------------------------------------------------

JUNK = st.one_of(st.none(), st.text(max_size=5), st.lists(st.integers(), max_size=2), st.just({"a": 1}))
REGISTERED = set(gym.registry)


def bad_values(kind):
    name = kind[0]
    if name == "int":
        _, lo, hi, none_ok = kind
        out = [st.integers(max_value=lo - 1), st.floats(), st.booleans(),
               JUNK.filter(lambda v: v is not None) if none_ok else JUNK]
        if hi is not None:
            out.append(st.integers(min_value=hi + 1, max_value=10**15))
        return st.one_of(out)
    if name == "float":
        _, lo, hi, low_open, none_ok = kind
        junk = JUNK.filter(lambda v: v is not None) if none_ok else JUNK
        out = [st.floats(max_value=lo, exclude_max=not low_open), st.sampled_from([math.nan, math.inf, -math.inf]),
               st.booleans(), junk, st.integers(max_value=math.floor(lo) - (0 if low_open and lo == int(lo) else 1))]
        if hi is not None:
            out.append(st.floats(min_value=hi, exclude_min=True))
        return st.one_of(out)
    if name == "bool":
        return st.one_of(st.integers(), st.floats(), st.sampled_from(["True", "False", "yes"]), JUNK)
    if name == "sync":                                 # True needs backend "ray"; the default backend is "thread"
        return st.one_of(st.just(True), st.integers(), st.text(max_size=3), st.none())
    if name == "choice":
        return st.one_of(st.text(max_size=8).filter(lambda v: v not in kind[1]), st.integers(), st.none())
    if name == "replay_fraction":                      # outside [0, 1], or (batch_size 2) not a whole unroll, or all
        return st.one_of(st.floats(max_value=0, exclude_max=True), st.floats(min_value=1),
                         st.sampled_from([math.nan, 0.3, 0.25, 0.75, 1.0, True]), JUNK)
    if name == "hidden":
        size = st.integers(1, M.MAX_HIDDEN)
        bad_size = st.one_of(st.integers(max_value=0), st.integers(min_value=M.MAX_HIDDEN + 1, max_value=10**12),
                             st.floats(), st.booleans(), st.text(max_size=2), st.none())
        out = [st.integers(), st.floats(), st.text(max_size=4), st.none(),
               st.tuples(size, bad_size), st.tuples(bad_size),
               st.lists(size, min_size=M.MAX_LAYERS + 1, max_size=M.MAX_LAYERS + 3).map(tuple)]
        if not kind[1]:
            out.append(st.just(()))
        return st.one_of(out)
    if name == "env":
        unknown = st.from_regex(r"\A[A-Z][a-z]{2,8}-v[0-9]\Z").filter(lambda v: v not in REGISTERED)
        fixed = ["Pendulum-v1", "MountainCarContinuous-v0", "FrozenLake-v1", "not an env", ""]
        if importlib.util.find_spec("Box2D") is None:
            fixed.append("LunarLander-v3")             # registered, but its package is missing here
        return st.one_of(unknown, st.sampled_from(fixed), st.integers(), st.none())
    if name == "env_kwargs":                           # not a dict of str keys; or a kwarg CartPole-v1 refuses
        return st.one_of(JUNK.filter(lambda v: v is not None and not isinstance(v, dict)), st.just({1: 2}),
                         st.sampled_from([{"delay_ms": 1.0}, {"mode": "busy"}, {"gravity": 9.8}]))
    if name == "device":
        fixed = ["gpu", "tpu", "mps", "cuda:99", "cpu cpu", ""] + (["cuda", "cuda:0"] if kind[1] else [])
        return st.one_of(st.sampled_from(fixed), st.integers(), st.none())
    if name == "ray_address":                          # any address is wrong with the default backend "thread"
        return st.one_of(st.text(max_size=8), st.integers(), st.just("auto"))
    if name == "only":                                 # a field inherited, with one value allowed here
        return st.one_of(st.integers(), st.floats(), st.booleans(), JUNK).filter(
            lambda v: not (isinstance(v, int | float) and v == kind[1]))
    raise AssertionError(kind)


@pytest.mark.parametrize("module", MODULES, ids=IDS)
def test_every_field_is_listed_here(module):
    assert set(FIELDS[module]) == {f.name for f in dataclasses.fields(module.Config)}


@pytest.mark.parametrize("module", MODULES, ids=IDS)
def test_a_bad_value_in_any_field_is_refused_with_an_error_naming_it(module):
    fields = FIELDS[module]
    tried = []

    @settings(max_examples=260, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(sorted(fields)).flatmap(lambda f: st.tuples(st.just(f), bad_values(fields[f]))))
    def check(bad):
        field, value = bad
        tried.append(field)
        with pytest.raises((ValueError, TypeError)) as caught:
            module.Config(**{field: value})
        assert field in str(caught.value), f"{field}={value!r}: the error does not name the field: {caught.value}"

    check()
    print(f"{module.__name__}: {len(tried)} bad Configs refused")
    assert len(tried) >= 200
    assert set(tried) == set(fields), f"never drawn: {set(fields) - set(tried)}"


# --- valid values, by kind -------------------------------------------------------------------------------------

VALID_ENVS = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0"]


def good_values(kind):
    name = kind[0]
    if name == "int":
        _, lo, hi, none_ok = kind
        value = st.integers(lo, hi if hi is not None else lo + 10**9)
        return st.one_of(value, st.none()) if none_ok else value
    if name == "float":
        _, lo, hi, low_open, none_ok = kind
        value = st.floats(lo, hi if hi is not None else 1e6, exclude_min=low_open, allow_nan=False)
        return st.one_of(value, st.none()) if none_ok else value
    if name == "bool":
        return st.booleans()
    if name == "sync":
        return st.booleans()
    if name == "choice":
        return st.sampled_from(kind[1])
    if name == "hidden":
        sizes = st.lists(st.integers(1, M.MAX_HIDDEN), min_size=0 if kind[1] else 1, max_size=M.MAX_LAYERS)
        return st.one_of(sizes, sizes.map(tuple))
    if name == "env":
        return st.sampled_from(VALID_ENVS)
    if name == "env_kwargs":
        return st.sampled_from([None, {}])
    if name == "device":
        return st.sampled_from(["cpu"] + (["cuda"] if torch.cuda.is_available() and not kind[1] else []))
    if name == "ray_address":
        return st.one_of(st.none(), st.sampled_from(["auto", "ray://head:10001"]))
    if name == "replay_fraction":                      # make_consistent picks a batch_size it fits
        return st.sampled_from([0.0, 0.5, 0.25, 0.75])
    if name == "only":
        return st.just(kind[1])
    raise AssertionError(kind)


def make_consistent(values):
    """The rules between fields: ray_address and sync=True need backend "ray"; a shared torso needs a layer;
    vectorization "vector_entry_point" needs an env that has a vectorized version (of these, CartPole-v1);
    IMPALA's clip_c is at most clip_rho (None: no clip, larger than any number); its replay_fraction times
    batch_size is a whole number of unrolls, fewer than batch_size; PPO's num_minibatches is at most the
    num_envs * n_steps steps of a rollout."""
    if values.get("backend") != "ray":
        values.update({k: v for k, v in (("ray_address", None), ("sync", False)) if k in values})
    if values.get("shared_torso") and not values["hidden"]:
        values["hidden"] = (64,)
    if values.get("vectorization") == "vector_entry_point":
        values["env_id"] = "CartPole-v1"
    if values.get("clip_rho") is not None and (values["clip_c"] is None or values["clip_c"] > values["clip_rho"]):
        values["clip_c"], values["clip_rho"] = values["clip_rho"], values["clip_c"]     # swapped: c_bar <= rho_bar
    if "num_minibatches" in values:
        values["num_minibatches"] = min(values["num_minibatches"], values["num_envs"] * values["n_steps"])
    if values.get("replay_fraction"):
        values["batch_size"] = 4 * max(1, values["batch_size"] // 4)                   # 0.25, 0.5 and 0.75 fit
    return values


@pytest.mark.parametrize("module", MODULES, ids=IDS)
def test_valid_configs_construct(module):
    fields = FIELDS[module]

    @settings(max_examples=60, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.fixed_dictionaries({f: good_values(kind) for f, kind in fields.items()}).map(make_consistent))
    def check(values):
        config = module.Config(**values)
        assert isinstance(config.hidden, tuple)

    check()


def _needs_a_missing_package(**kwargs):
    raise gym.error.DependencyNotInstalled('somesim is not installed, run `pip install "somesim[gym]"`')


def test_a_missing_env_package_names_env_id_and_what_to_install():
    """As LunarLander-v3 without Box2D: registered, but its package is missing (gymnasium's own message)."""
    if "rlteach-test/NeedsPackage-v0" not in gym.registry:
        gym.register("rlteach-test/NeedsPackage-v0", entry_point=_needs_a_missing_package)
    for module in MODULES:
        with pytest.raises(ValueError, match=r"env_id='rlteach-test/NeedsPackage-v0'.*pip install \"somesim"):
            module.Config(env_id="rlteach-test/NeedsPackage-v0")
