"""The words of `make claims` (benchmarks/claims.py): each experiment's verdict, computed from its numbers in
claims.json, in the reader's language; and the papers' results as the script cites them.

    claims = paper_claims.load()                 # benchmarks/results/claims.json, found from any notebook folder
    print(paper_claims.verdict("a3c_scaling", claims["a3c_scaling"]))          # the sentences under "verdict"
    print(paper_claims.paper_text(claims["a3c_scaling"]["paper"]["source"]))   # a paper's text, translated

``verdict(key, result)`` rebuilds the verdict of claims.json's entry ``key`` from that entry alone ("cliffwalk",
"off_policy", "a3c_scaling", "apex_scaling"); in English it is the stored "verdict", byte for byte, because
benchmarks/claims.py writes it with these same functions. The papers' texts are the messages below (the Blind
Cliffwalk's: ``rlteach.blind_cliffwalk.PAPER_RESULT``); ``paper_text`` looks one up.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from rlteach.messages import N_, tr

__all__ = ["load", "IMPALA_TABLE_2", "A3C_PAPER", "APEX_PAPER", "paper_text", "off_policy_verdict", "scaling_verdict",
           "a3c_throughput_sentence", "a3c_verdict", "apex_cap_sentence", "apex_verdict", "verdict"]

def load(start: Path | None = None) -> dict:
    """The committed results of `make claims`: benchmarks/results/claims.json in ``start`` (default: the current
    folder) or the nearest folder above it that has one (notebooks/ and notebooks/zh/ both find the clone's)."""
    here = Path.cwd() if start is None else Path(start)
    for folder in (here, *here.parents):
        path = folder / "benchmarks" / "results" / "claims.json"
        if path.is_file():
            return json.loads(path.read_text())
    raise FileNotFoundError(f"no benchmarks/results/claims.json in {here} or above it (`make claims` writes it)")


# The papers' results, as claims.json's "paper" entries hold them (their numbers: the papers' tables).
IMPALA_TABLE_2 = {
    "cited": N_("Espeholt et al. 2018, section 5.2, Table 2"),
    "setting": N_("5 DeepMind Lab tasks; no correction, epsilon-correction, 1-step importance sampling and V-trace, "
                  "each without and with experience replay (half of each batch replayed)"),
    "result": N_("V-trace scored highest, or level with the best, on most tasks, both without and with replay; "
                 "no correction scored lowest"),
}
A3C_PAPER = {"source": N_("Mnih et al. 2016, arXiv 1602.01783, Table 2: A3C's training speed-up over 1 thread, "
                          "averaged over seven Atari games (as reported in the paper; not checked against its text "
                          "here)"),
             "speedup": {1: 1.0, 2: 2.1, 4: 3.7, 8: 6.9, 16: 12.5}}
APEX_PAPER = {"source": N_("Horgan et al. 2018, arXiv 1803.00933, section 4, the experiment that varies the number "
                           "of actors with one learner (as recalled; not checked against the paper's text here)"),
              "shape": N_("performance consistently improved as the number of actors increased: more actors, a "
                          "better score at the same training time")}

# The scaling verdicts' sentences that name what was scaled: worker (A3C) or actor (Ape-X).
UNITS = ("workers", "actors")
NOT_SOLVED_WITH_ONE = {
    "workers": N_("With 1 worker the median run did not solve within the time limit, so no speed-up can be given."),
    "actors": N_("With 1 actor the median run did not solve within the time limit, so no speed-up can be given."),
}
NOT_FASTER = {"workers": N_("More workers did not solve faster: median {first} with 1, {others}."),
              "actors": N_("More actors did not solve faster: median {first} with 1, {others}.")}
FASTER = {  # (unit, whether the paper has a speed-up for that count)
    ("workers", True): N_("More workers solved faster up to {best}: median {first} with 1, {seconds} with {best} "
                          "({speedup:.1f}x; the paper: {paper:.1f}x){beyond}."),
    ("workers", False): N_("More workers solved faster up to {best}: median {first} with 1, {seconds} with {best} "
                           "({speedup:.1f}x){beyond}."),
    ("actors", True): N_("More actors solved faster up to {best}: median {first} with 1, {seconds} with {best} "
                         "({speedup:.1f}x; the paper: {paper:.1f}x){beyond}."),
    ("actors", False): N_("More actors solved faster up to {best}: median {first} with 1, {seconds} with {best} "
                          "({speedup:.1f}x){beyond}."),
}


def paper_text(text: str) -> str:
    """A paper's text from claims.json (one of the messages above) in the reader's language; a text that is not
    one of them comes back as it is."""
    return tr(text)


def listing(items) -> str:
    """Items in a row, "a, b, c", with the reader's language's separator."""
    items = list(items)
    text = items[0] if items else ""
    for item in items[1:]:
        text = tr("{earlier}, {later}", earlier=text, later=item)
    return text


def sentences(*texts: str) -> str:
    """Sentences one after the other, as the reader's language spaces them."""
    text = texts[0]
    for sentence in texts[1:]:
        text = tr("{sentence} {next_sentence}", sentence=text, next_sentence=sentence)
    return text


def by_count(table: dict) -> dict:
    """The entries of a per-worker-count table, keyed by the count as an int (claims.json's keys are strings;
    other keys, like cap's "learner_alone_updates_per_second", are left out)."""
    return {int(k): v for k, v in table.items() if isinstance(k, int) or k.isdigit()}


def off_policy_verdict(medians: dict, solved: dict, seeds: list) -> str:
    """Does V-trace beat no correction with exploring actors on the cliff (the paper's ordering), and with
    replay? From claims.json's off_policy: its medians, solved and seeds."""
    cliff = medians["cliff"]
    fields = dict(vtrace=cliff["vtrace"], none=cliff["none"], solved_vtrace=solved["vtrace"],
                  solved_none=solved["none"], seeds=len(seeds))
    if cliff["vtrace"] > cliff["none"]:
        exploring = tr("With exploring actors on the cliff, V-trace was ahead of no correction (median score "
                       "{vtrace:.0f} against {none:.0f}; the optimal path on {solved_vtrace} and {solved_none} of "
                       "{seeds} seeds): the paper's ordering, V-trace above no correction, reproduces.", **fields)
    else:
        exploring = tr("With exploring actors on the cliff, V-trace was not ahead of no correction (median score "
                       "{vtrace:.0f} against {none:.0f}; the optimal path on {solved_vtrace} and {solved_none} of "
                       "{seeds} seeds): the paper's ordering does not reproduce here.", **fields)
    one_step = tr("1-step importance sampling: median {median:.0f}, the optimal path on {solved} of {seeds}.",
                  median=cliff["one_step_is"], solved=solved["one_step_is"], seeds=len(seeds))
    cliff_replay = tr("With replay on the cliff, V-trace's median {vtrace:.0f} against {none:.0f} without a "
                      "correction.", vtrace=medians["cliff_replay"]["vtrace"], none=medians["cliff_replay"]["none"])
    cartpole_replay = tr("With replay on CartPole, V-trace's median {vtrace:.0f} against {none:.0f} without a "
                         "correction.", vtrace=medians["cartpole_replay"]["vtrace"],
                         none=medians["cartpole_replay"]["none"])
    return sentences(exploring, one_step, cliff_replay, cartpole_replay)


def median_seconds(median: dict) -> str:
    """A worker count's median seconds to solve, as the scaling verdicts show it."""
    seconds = median["seconds_to_solve"]
    return tr("unsolved") if seconds is None else f"{seconds:.1f} s"


def scaling_verdict(medians: dict, speedup: dict, unit: str, paper_speedup: dict | None = None) -> str:
    """From claims.json's a3c_scaling or apex_scaling (medians, speedup; the paper's speed-ups where it gives
    them): do more workers (or actors: ``unit``) solve faster, and where does it stop?"""
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r}: one of {UNITS}")
    medians, speedup, paper_speedup = by_count(medians), by_count(speedup), by_count(paper_speedup or {})
    counts = sorted(medians)
    if medians.get(1, {}).get("seconds_to_solve") is None:
        return tr(NOT_SOLVED_WITH_ONE[unit])
    first = median_seconds(medians[1])
    faster = [k for k in counts if k > 1 and speedup.get(k) and speedup[k] > 1]
    if not faster:
        others = listing(tr("{seconds} with {count}", seconds=median_seconds(medians[k]), count=k)
                         for k in counts if k > 1)
        return tr(NOT_FASTER[unit], first=first, others=others)
    best = max(faster, key=lambda k: speedup[k])
    beyond = [k for k in counts if k > best]
    stopped = ""
    if beyond:
        shown = [tr("{seconds} with {count} ({speedup:.1f}x)", seconds=median_seconds(medians[k]), count=k,
                    speedup=speedup[k]) if speedup.get(k) else
                 tr("{seconds} with {count}", seconds=median_seconds(medians[k]), count=k) for k in beyond]
        stopped = tr("; beyond that it stopped improving: {counts}", counts=listing(shown))
    text = tr(FASTER[unit, best in paper_speedup], best=best, first=first, seconds=median_seconds(medians[best]),
              speedup=speedup[best], paper=paper_speedup.get(best), beyond=stopped)
    steps = [medians[k]["steps_to_solve"] for k in (1, counts[-1])]
    if all(steps):
        text = sentences(text, tr("Median env steps to solve: {first:,.0f} with 1, {last:,.0f} with {count} "
                                  "({ratio:.1f}x the data).", first=steps[0], last=steps[1], count=counts[-1],
                                  ratio=steps[1] / steps[0]))
    return text


def a3c_throughput_sentence(medians: dict) -> str:
    """What held A3C's speed-up below the worker count, from claims.json's a3c_scaling medians: env steps/s
    against the count times one worker's, and the extra env steps to solve."""
    medians = by_count(medians)
    k = max(medians)
    one, many = medians[1]["steps_per_second"], medians[k]["steps_per_second"]
    steps_1, steps_k = medians[1]["steps_to_solve"], medians[k]["steps_to_solve"]
    throughput = many / one < 0.9 * k
    data = bool(steps_1 and steps_k and steps_k > steps_1)
    fields = dict(one=one, many=many, count=k, ratio=many / one)
    if throughput and data:
        return tr("Env steps/s: {one:,.0f} with 1, {many:,.0f} with {count} ({ratio:.1f}x, where {count} sleeping "
                  "envs alone would allow {count}x): throughput and data efficiency held the speed-up below the "
                  "worker count.", **fields)
    if throughput:
        return tr("Env steps/s: {one:,.0f} with 1, {many:,.0f} with {count} ({ratio:.1f}x, where {count} sleeping "
                  "envs alone would allow {count}x): throughput held the speed-up below the worker count.", **fields)
    if data:
        return tr("Env steps/s: {one:,.0f} with 1, {many:,.0f} with {count} ({ratio:.1f}x, where {count} sleeping "
                  "envs alone would allow {count}x): data efficiency held the speed-up below the worker count.",
                  **fields)
    return tr("Env steps/s: {one:,.0f} with 1, {many:,.0f} with {count} ({ratio:.1f}x, where {count} sleeping envs "
              "alone would allow {count}x).", **fields)


def a3c_verdict(medians: dict, speedup: dict, paper_speedup: dict) -> str:
    """claims.json's a3c_scaling verdict: the scaling verdict, then what held the speed-up back."""
    return sentences(scaling_verdict(medians, speedup, "workers", paper_speedup), a3c_throughput_sentence(medians))


def apex_cap_sentence(medians: dict, cap: dict, env_steps_per_update: int) -> str:
    """What caps Ape-X's scaling, from claims.json's apex_scaling (medians, cap; the Config's
    env_steps_per_update): flow control ties the actors' env steps to the learner's updates, and the learner,
    beside thread actors, updates at a rate two actors already reach."""
    medians, profiled = by_count(medians), by_count(cap)
    k = max(medians)
    ups = medians[k]["updates_per_second"]
    rates = listing(tr("{rate:,.0f} with {count}", rate=medians[n]["steps_per_second"], count=n)
                    for n in sorted(medians))
    return tr("What caps it: flow control lets the actors take {per_update} env steps per learner update, and beside "
              "{count} actor threads the learner made {updates:,.0f} updates/s while solving ({alone} alone, with no "
              "actor thread beside it), so about {most:,.0f} env steps/s at most; median env steps/s while solving: "
              "{rates}; with {count} actors the profiler filed {waiting} of the thread time under waiting.",
              per_update=env_steps_per_update, count=k, updates=ups, alone=cap["learner_alone_updates_per_second"],
              most=env_steps_per_update * ups, rates=rates,
              waiting=f"{100 * profiled[k]['time_shares']['waiting']:.0f}%")


def apex_verdict(medians: dict, speedup: dict, cap: dict, env_steps_per_update: int) -> str:
    """claims.json's apex_scaling verdict: the scaling verdict, then what caps it."""
    return sentences(scaling_verdict(medians, speedup, "actors"), apex_cap_sentence(medians, cap, env_steps_per_update))


def stored_env_steps_per_update(settings: dict) -> int:
    """Ape-X's env_steps_per_update as claims.json's apex_scaling settings record it (in "config")."""
    found = re.search(r"env_steps_per_update (\d+)", settings["config"])
    if found is None:
        raise ValueError(f"apex_scaling settings: no env_steps_per_update in {settings['config']!r}")
    return int(found.group(1))


def verdict(key: str, result: dict) -> str:
    """The verdict of claims.json's entry ``key`` ("cliffwalk", "off_policy", "a3c_scaling" or "apex_scaling"),
    rebuilt from that entry ``result`` in the reader's language."""
    if key == "cliffwalk":
        from rlteach import blind_cliffwalk
        return blind_cliffwalk.verdict(result["runs"])
    if key == "off_policy":
        return off_policy_verdict(result["medians"], result["solved"], result["seeds"])
    if key == "a3c_scaling":
        return a3c_verdict(result["medians"], result["speedup"], result["paper"]["speedup"])
    if key == "apex_scaling":
        return apex_verdict(result["medians"], result["speedup"], result["cap"],
                            stored_env_steps_per_update(result["settings"]))
    raise ValueError(f"claims.json has no experiment {key!r}: cliffwalk, off_policy, a3c_scaling or apex_scaling")
