"""Every claim shown: the papers' own experiments at laptop scale, with seeds, beside the papers' results.

    .venv/bin/python benchmarks/claims.py            # all four (make claims: at most 30 minutes on 2 cores)
    .venv/bin/python benchmarks/claims.py --quick    # fewer seeds and sizes (development)
    .venv/bin/python benchmarks/claims.py --only cliffwalk off_policy    # some of them; the others are kept

The four experiments, one key each in benchmarks/results/claims.json:

    cliffwalk      prioritized replay on the Blind Cliffwalk (Schaul et al. 2016, section 3, figures 1 and 2)
    off_policy     no correction, 1-step importance sampling and V-trace, with and without replay
                   (Espeholt et al. 2018, section 5.2, Table 2), on CartPole and the one-hot cliff
    a3c_scaling    A3C with 1, 2, 4 and 8 thread workers on SlowCartPole (Mnih et al. 2016, Table 2)
    apex_scaling   Ape-X with 1, 2, 4 and 8 actors on SlowCartPole (Horgan et al. 2018, section 4)

Writes benchmarks/results/claims.{json,md,png}. Like every script here it measures and reports; it
asserts nothing. The notebooks (03, 04, 05) read claims.json for the full runs and run short live versions.
The verdicts' sentences and the papers' results are rlteach.paper_claims's: the notebooks rebuild each verdict
from claims.json in the reader's language; this script writes them in English.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rlteach import paper_claims
from rlteach.messages import set_language

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
EXPERIMENTS = ("cliffwalk", "off_policy", "a3c_scaling", "apex_scaling")


def cliffwalk(quick: bool) -> dict:
    """Blind Cliffwalk: updates to learn against the chain's length, four replay strategies."""
    from rlteach import blind_cliffwalk as bc

    ns = list(range(2, 10 if quick else 12))
    seeds = list(range(100, 105 if quick else 110))       # not the seeds 0..4 the module was developed on
    runs = bc.sweep(ns, bc.REPLAYS, seeds)
    medians = bc.medians(runs)
    return {
        "settings": {"gamma": "1 - 1/n", "step_size": bc.ETA, "threshold": f"mean (Q - Q*)^2 < {bc.THRESHOLD}",
                     "q_init": f"N(0, {bc.Q_INIT_STD}) from the seed", "alpha": bc.ALPHA, "eps": bc.EPS,
                     "importance_sampling": "none (beta = 0)", "memory": "all 2^n action sequences, 2^(n+1) - 2 "
                     "transitions", "ns": ns, "seeds": seeds, "replays": list(bc.REPLAYS)},
        "runs": runs,
        "medians": {f"{replay} n={n}": m for (replay, n), m in sorted(medians.items(), key=lambda kv: kv[0][1])},
        "gap_uniform_over_oracle": {str(n): round(bc.gap(runs, n), 2) for n in ns},
        "paper": bc.PAPER_RESULT,
        "verdict": bc.verdict(runs),
    }


# --- off_policy: Espeholt et al. 2018, section 5.2, Table 2 ----------------------------------------------------

# The paper's result, in words (its numbers: Table 2 of the paper): rlteach.paper_claims.IMPALA_TABLE_2.
# The shown setting: exploring actors on the one-hot cliff (a linear network is a table of 48 x 4 logits).
CLIFF = dict(env_id="rlteach/OneHotCliffWalking-v1", hidden=(), lr=0.05, total_steps=100_000, num_actors=2,
             envs_per_actor=4, actor_epsilon=0.2, eval_episodes=1, stop_when_solved=False)
CARTPOLE_REPLAY = dict(lr=1e-3, total_steps=60_000, replay_fraction=0.5, replay_capacity_unrolls=500,
                       eval_every=4000, stop_when_solved=False)
LAST_EVALUATIONS = 3                  # a run's score: its mean evaluation return over its last 3 evaluations


def impala_run(settings: dict, seed: int, correction: str) -> dict:
    """One IMPALA run: its score, when it first reached the threshold, and on the cliff its greedy path."""
    from rlteach import impala
    from rlteach.envs import ONE_HOT_CLIFF, cliff_path

    start = time.time()
    result = impala.train(impala.Config(**settings, seed=seed, off_policy_correction=correction), progress=False)
    run = {"seed": seed, "correction": correction, "replay_fraction": settings.get("replay_fraction", 0.0),
           "score": float(sum(e[2] for e in result.evals[-LAST_EVALUATIONS:]) / LAST_EVALUATIONS),
           "solved_at_steps": result.solved_at_steps, "seconds": round(time.time() - start, 1)}
    if settings.get("env_id") == ONE_HOT_CLIFF:
        run["path"] = cliff_path(lambda obs: result.model.greedy(obs).numpy())
    print(f"{settings.get('env_id', 'CartPole-v1')} {correction} replay {run['replay_fraction']} seed {seed}: "
          f"score {run['score']:.1f} ({run['seconds']:.0f} s)", file=sys.stderr, flush=True)
    return run


def off_policy(quick: bool) -> dict:
    """IMPALA's corrections with exploring actors on the one-hot cliff, and with replay on both tasks."""
    import dataclasses

    import numpy as np

    from rlteach import impala
    from rlteach.envs import reward_threshold

    seeds = list(range(100, 102 if quick else 106))          # not the seeds the settings were found on (0-7)
    replay_seeds = seeds[:2] if quick else seeds[:5]
    cliff_replay = {**CLIFF, "replay_fraction": 0.5, "replay_capacity_unrolls": 500}
    cartpole = {**CARTPOLE_REPLAY, "total_steps": 20_000} if quick else CARTPOLE_REPLAY
    runs = {"cliff": [impala_run(CLIFF, s, c) for c in impala.CORRECTIONS for s in seeds],
            "cliff_replay": [impala_run(cliff_replay, s, c) for c in ("vtrace", "none") for s in replay_seeds],
            "cartpole_replay": [impala_run(cartpole, s, c) for c in ("vtrace", "none") for s in replay_seeds]}
    medians = {part: {c: float(np.median([r["score"] for r in rs if r["correction"] == c]))
                      for c in dict.fromkeys(r["correction"] for r in rs)} for part, rs in runs.items()}
    threshold = reward_threshold(CLIFF["env_id"])
    solved = {c: sum(r["score"] >= threshold for r in runs["cliff"] if r["correction"] == c)
              for c in impala.CORRECTIONS}
    config = dataclasses.asdict(impala.Config(**CLIFF))
    for field in ("seed", "off_policy_correction"):
        del config[field]
    config["hidden"] = list(config["hidden"])
    verdict = paper_claims.off_policy_verdict(medians, solved, seeds)
    return {"config": config, "cartpole_replay_config": cartpole, "seeds": seeds, "replay_seeds": replay_seeds,
            "score": f"mean evaluation return over the last {LAST_EVALUATIONS} evaluations",
            "threshold": threshold, "runs": runs, "medians": medians, "solved": solved, "verdict": verdict,
            "paper": paper_claims.IMPALA_TABLE_2}


# --- a3c_scaling and apex_scaling: more workers, faster learning? ------------------------------------------

WORKER_COUNTS = (1, 2, 4, 8)
SCALING_DELAY_MS = 2.0      # SlowCartPole sleeping 2 ms a step: one worker's env is the slow part, as Atari was
# The papers' results: rlteach.paper_claims.A3C_PAPER and APEX_PAPER.


def scaling_run(module, config, workers: int, max_seconds: float) -> dict:
    """One run, timed as benchmarks/side_by_side.py times its runs (``rlteach.side_by_side.run_one``): train until
    solved, stopping at the first evaluation after ``max_seconds`` (then unsolved). Without its profiler: the
    profiler's 20-microsecond switch interval and its looks slow a run of many threads (a 1-actor Ape-X run on
    2 ms steps: 264 env steps/s profiled, 376 not), and here the time is the result."""
    from rlteach.side_by_side import time_limit
    result = module.train(config, progress=False, callback=time_limit(max_seconds))
    solved = result.solved and result.solved_at_seconds <= max_seconds
    run = {"workers": workers, "seed": config.seed,
           "seconds_to_solve": round(result.solved_at_seconds, 2) if solved else None,
           "steps_to_solve": result.solved_at_steps if solved else None,
           "env_steps": result.env_steps, "seconds": round(result.seconds, 2),
           "steps_per_second": round(result.env_steps / result.seconds) if result.seconds else 0}
    if "updates" in result.records and isinstance(result.records["updates"], int):
        run["updates_per_second"] = round(result.records["updates"] / result.seconds) if result.seconds else 0
    return run


def scaling_runs(module, make_config, seeds, max_seconds, name) -> list[dict]:
    """Every worker count for one seed, then the next seed: a machine that gets busier or quieter during the
    experiment then shifts every count alike instead of one."""
    runs = []
    for seed in seeds:
        for k in WORKER_COUNTS:
            run = scaling_run(module, make_config(k, seed), k, max_seconds)
            runs.append(run)
            shown = (f"{run['seconds_to_solve']:.1f} s, {run['steps_to_solve']:,} steps" if run["steps_to_solve"]
                     else "unsolved")
            print(f"  {name} x{k} seed {seed}: {shown} ({run['steps_per_second']:,} env steps/s)",
                  file=sys.stderr, flush=True)
    return runs


def scaling_summary(runs) -> dict:
    """Medians per worker count (an unsolved run counts as slower than every solved one) and speed-ups (median
    seconds at 1 / median seconds at k); the verdict from them: rlteach.paper_claims.scaling_verdict."""
    import statistics

    from rlteach.side_by_side import median_solved
    medians, speedup = {}, {}
    for k in WORKER_COUNTS:
        mine = [r for r in runs if r["workers"] == k]
        if not mine:
            continue
        medians[k] = {"solved": sum(r["seconds_to_solve"] is not None for r in mine), "runs": len(mine),
                      "seconds_to_solve": median_solved([r["seconds_to_solve"] for r in mine]),
                      "steps_to_solve": median_solved([r["steps_to_solve"] for r in mine]),
                      "steps_per_second": statistics.median(r["steps_per_second"] for r in mine)}
        if "updates_per_second" in mine[0]:
            medians[k]["updates_per_second"] = statistics.median(r["updates_per_second"] for r in mine)
    base = medians.get(1, {}).get("seconds_to_solve")
    for k, m in medians.items():
        speedup[k] = round(base / m["seconds_to_solve"], 2) if base and m["seconds_to_solve"] else None
    return {"medians": medians, "speedup": speedup}


def a3c_summary(runs) -> dict:
    """``scaling_summary`` and the verdict (rlteach.paper_claims.a3c_verdict): do more workers solve faster, and
    what held the speed-up below the worker count (env steps/s against the count times one worker's, and the
    extra env steps to solve)?"""
    summary = scaling_summary(runs)
    summary["verdict"] = paper_claims.a3c_verdict(summary["medians"], summary["speedup"],
                                                  paper_claims.A3C_PAPER["speedup"])
    return summary


def a3c_scaling(quick: bool) -> dict:
    """A3C: seconds and env steps to solve SlowCartPole (sleep) with 1, 2, 4 and 8 thread workers."""
    from rlteach import a3c
    from rlteach.envs import SLOW_CARTPOLE
    seeds = range(100, 102) if quick else range(100, 107)       # developed on seeds 0-1
    max_seconds = 60.0 if quick else 90.0
    env_kwargs = {"delay_ms": SCALING_DELAY_MS, "mode": "sleep"}

    def make_config(k, seed):           # A3C's defaults; only the worker count changes
        return a3c.Config(env_id=SLOW_CARTPOLE, env_kwargs=env_kwargs, seed=seed, num_workers=k, backend="thread")

    runs = scaling_runs(a3c, make_config, seeds, max_seconds, "a3c")
    return {"settings": {"env_id": SLOW_CARTPOLE, "env_kwargs": env_kwargs, "backend": "thread",
                         "workers": list(WORKER_COUNTS), "seeds": list(seeds), "max_seconds": max_seconds,
                         "config": "rlteach.a3c.Config defaults (t_max, lr, shared RMSProp, ...)",
                         "solved": "rlteach.monitor: 10 greedy episodes every 2000 env steps, on the env without "
                                   "its delay, mean >= 475"},
            "paper": paper_claims.A3C_PAPER, "runs": runs, **a3c_summary(runs)}


def learner_alone(config, updates=300) -> float:
    """Updates per second of ``apex.learner_step`` alone in this thread, on a replay of random transitions:
    what the learner could do if no actor thread wanted the GIL."""
    import copy

    import numpy as np
    import torch

    from rlteach import apex
    from rlteach.nets import torch_threads
    from rlteach.replay import PrioritizedReplay
    rng = np.random.default_rng(0)
    n = 20_000
    batch = {"obs": rng.normal(size=(n, 4)).astype(np.float32), "action": rng.integers(0, 2, n),
             "reward": rng.random(n).astype(np.float32), "discount": np.full(n, config.gamma ** config.n_step,
                                                                              np.float32),
             "next_obs": rng.normal(size=(n, 4)).astype(np.float32), "done": np.zeros(n, np.float32)}
    with torch_threads(1):
        q = apex.build_model(config)
        target, optimizer = copy.deepcopy(q), torch.optim.Adam(q.parameters(), lr=config.lr, foreach=True)
        replay = PrioritizedReplay(config.buffer_size, config.priority_alpha, seed=0)
        replay.add_batch(batch, rng.random(n) + 0.1)
        for _ in range(20):
            apex.learner_step(q, target, optimizer, replay, config)
        start = time.perf_counter()
        for _ in range(updates):
            apex.learner_step(q, target, optimizer, replay, config)
        return updates / (time.perf_counter() - start)


def apex_cap(make_config, env_steps: int) -> dict:
    """Where an Ape-X run's time goes with 1, 2, 4 and 8 thread actors: a run of ``env_steps`` env steps (no
    evaluation) under ``rlteach.side_by_side.Profiler`` (time shares; the profiler slows it, so its env steps
    and updates per second are a second run's, unprofiled), beside the learner's updates per second alone."""
    from rlteach import apex
    from rlteach.side_by_side import Profiler
    out = {"learner_alone_updates_per_second": round(learner_alone(make_config(1, 0)))}
    for k in WORKER_COUNTS:
        config = make_config(k, 0)
        config.total_steps, config.eval_every = env_steps, None
        with Profiler() as profiler:
            apex.train(config, progress=False)
        result = apex.train(config, progress=False)
        out[k] = {"steps_per_second": round(result.env_steps / result.seconds),
                  "updates_per_second": round(result.records["updates"] / result.seconds),
                  "time_shares": {p: round(s, 3) for p, s in profiler.shares().items()}}
        print(f"  apex cap x{k}: {out[k]}", file=sys.stderr, flush=True)
    return out


def apex_scaling(quick: bool) -> dict:
    """Ape-X: seconds and env steps to solve SlowCartPole (sleep) with 1, 2, 4 and 8 actors."""
    from rlteach import apex
    from rlteach.envs import SLOW_CARTPOLE
    seeds = range(100, 101) if quick else range(100, 105)       # developed on seeds 0-1
    max_seconds = 45.0 if quick else 60.0
    env_kwargs = {"delay_ms": SCALING_DELAY_MS, "mode": "sleep"}

    def make_config(k, seed):           # Ape-X's defaults; the worker count and with it the epsilon ladder change
        return apex.Config(env_id=SLOW_CARTPOLE, env_kwargs=env_kwargs, seed=seed, num_actors=k, backend="thread")

    runs = scaling_runs(apex, make_config, seeds, max_seconds, "apex")
    config = make_config(1, 0)
    cap = apex_cap(make_config, 4000)
    summary = scaling_summary(runs)
    summary["verdict"] = paper_claims.apex_verdict(summary["medians"], summary["speedup"], cap,
                                                   config.env_steps_per_update)
    return {"settings": {"env_id": SLOW_CARTPOLE, "env_kwargs": env_kwargs, "backend": "thread",
                         "workers": list(WORKER_COUNTS), "seeds": list(seeds), "max_seconds": max_seconds,
                         "epsilons": {k: apex.epsilon_ladder(k, config.epsilon, config.epsilon_exponent).round(5)
                                      .tolist() for k in WORKER_COUNTS},
                         "config": "rlteach.apex.Config defaults (env_steps_per_update "
                                   f"{config.env_steps_per_update}, batch_size {config.batch_size}, ...)",
                         "confound": "each count has its own epsilon ladder, as in the paper: 1 actor explores "
                                     "with eps = 0.4 only, 8 actors mostly near-greedy (down to 0.4^8)",
                         "solved": "rlteach.monitor: 10 greedy episodes every 2000 env steps, on the env without "
                                   "its delay, mean >= 475"},
            "paper": paper_claims.APEX_PAPER, "runs": runs, "cap": cap, **summary}


# --- writing the results: claims.json (above), claims.md, claims.png and the README's summary -----------------

TITLES = {"cliffwalk": "Prioritized replay on the Blind Cliffwalk (Schaul et al. 2016)",
          "off_policy": "Off-policy corrections, with exploring actors and with replay (Espeholt et al. 2018)",
          "a3c_scaling": "A3C: more workers, faster learning? (Mnih et al. 2016)",
          "apex_scaling": "Ape-X: more actors, faster learning? (Horgan et al. 2018)"}


def scaling_table(result) -> list[str]:
    """The medians per worker count of an a3c_scaling or apex_scaling experiment (an unsolved run counted as
    slower than every solved one, as in its verdict), as markdown rows."""
    rows = ["| workers | solved | median seconds to solve | speed-up | median env steps to solve |",
            "|---|---|---|---|---|"]
    for k, m in result["medians"].items():
        sec, steps, up = m["seconds_to_solve"], m["steps_to_solve"], result["speedup"].get(k)
        rows.append(f"| {k} | {m['solved']} of {m['runs']} | {'-' if sec is None else f'{sec:.1f}'} | "
                    f"{'-' if up is None else f'{up:.1f}x'} | {'-' if steps is None else f'{steps:,.0f}'} |")
    return rows


def markdown(results: dict, quick: bool) -> str:
    """claims.md: each experiment's settings, medians, the paper's result and our verdict."""
    lines = [f"# Every claim shown{' (--quick)' if quick else ''}", "",
             "Written by `benchmarks/claims.py` (`make claims`); every seed's outcome is in claims.json. "
             "The notebooks show each one where its algorithm is taught: 03 (A3C), 04 (the Blind Cliffwalk, "
             "Ape-X), 05 (the corrections).", ""]
    for key, title in TITLES.items():
        if key not in results:
            continue
        r = results[key]
        lines += [f"## {title}", "", f"Ran in {r.get('seconds', 0):.0f} s.", ""]
        if key == "cliffwalk":
            ns = r["settings"]["ns"]
            lines += ["| n | N | " + " | ".join(r["settings"]["replays"]) + " | uniform / oracle |",
                      "|---" * (len(r["settings"]["replays"]) + 3) + "|"]
            for n in ns:
                cells = [f"{r['medians'][f'{replay} n={n}']:,.0f}" for replay in r["settings"]["replays"]]
                lines.append(f"| {n} | {2 ** (n + 1) - 2:,} | " + " | ".join(cells)
                             + f" | {r['gap_uniform_over_oracle'][str(n)]:.1f} |")
            lines += ["", "Median updates to learn over the seeds " + ", ".join(map(str, r["settings"]["seeds"]))
                      + f". Paper: {r['paper']}"]
        elif key == "off_policy":
            lines += ["| experiment | correction | median score | seeds |", "|---|---|---|---|"]
            for part, medians in r["medians"].items():
                for c, m in medians.items():
                    n = sum(run["correction"] == c for run in r["runs"][part])
                    lines.append(f"| {part} | {c} | {m:.1f} | {n} |")
            lines += ["", f"Score: {r['score']}. Paper ({r['paper']['cited']}): {r['paper']['result']}."]
        else:
            lines += scaling_table(r)
            paper = r["paper"]
            ups = ", ".join(f"{v:g}x with {k}" for k, v in paper.get("speedup", {}).items())
            lines += ["", f"Paper: {paper['source']}" + (f": speed-up {ups}." if ups else f"; {paper['shape']}.")]
        if r.get("verdict"):
            lines += ["", f"**Ours:** {r['verdict']}"]
        lines.append("")
    return "\n".join(lines)


def figure(results: dict):
    """claims.png: one row per experiment, stacked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from rlteach.plotting import plot_blind_cliffwalk, plot_correction_scores
    from rlteach.plotting.a3c import plot_worker_scaling

    figures = []
    if "cliffwalk" in results:
        figures.append(plot_blind_cliffwalk(results["cliffwalk"]["runs"]))
    if "off_policy" in results:
        off = results["off_policy"]
        panels = {title: {c: [run["score"] for run in off["runs"][part] if run["correction"] == c]
                          for c in off["medians"][part]}
                  for part, title in (("cliff", "cliff, exploring actors"), ("cliff_replay", "cliff + replay"),
                                      ("cartpole_replay", "CartPole + replay"))}
        figures.append(plot_correction_scores(panels, threshold={"cliff, exploring actors": off["threshold"],
                                                                 "cliff + replay": off["threshold"]}))
    for key in ("a3c_scaling", "apex_scaling"):
        if key in results:
            paper = results[key]["paper"].get("speedup")
            figures.append(plot_worker_scaling(results[key]["runs"], title=TITLES[key],
                                               unit="workers" if key == "a3c_scaling" else "actors",
                                               paper_speedup={int(k): v for k, v in paper.items()} if paper else None))
    images = []
    for fig in figures:
        fig.set_dpi(80)
        fig.canvas.draw()
        images.append(np.asarray(fig.canvas.buffer_rgba())[..., :3])
        plt.close(fig)
    width = max(im.shape[1] for im in images)
    padded = [np.pad(im, ((0, 0), (0, width - im.shape[1]), (0, 0)), constant_values=255) for im in images]
    return np.concatenate(padded, axis=0)


def write(results: dict, quick: bool):
    import matplotlib.pyplot as plt

    name = "claims_quick" if quick else "claims"
    (RESULTS / f"{name}.md").write_text(markdown(results, quick))
    plt.imsave(RESULTS / f"{name}.png", figure(results))
    readme = ROOT / "README.md"
    if quick or not readme.exists():
        return
    summary = "\n".join(f"- {TITLES[key]}: {results[key]['verdict']}" for key in TITLES
                         if results.get(key, {}).get("verdict"))
    summary += ("\n\nSettings, every seed and the paper's results beside ours: "
                "[benchmarks/results/claims.md](benchmarks/results/claims.md); the plots: "
                "[claims.png](benchmarks/results/claims.png).")
    text = readme.read_text()
    start, end = "<!-- claims:start -->", "<!-- claims:end -->"
    if start in text and end in text:
        text = text[:text.index(start) + len(start)] + "\n" + summary + "\n" + text[text.index(end):]
        readme.write_text(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and sizes (development)")
    parser.add_argument("--only", nargs="+", choices=EXPERIMENTS, default=list(EXPERIMENTS))
    args = parser.parse_args(argv)
    set_language("en")          # claims.json, claims.md and the README are English (RLTEACH_LANG notwithstanding)
    name = "claims_quick" if args.quick else "claims"
    path = RESULTS / f"{name}.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    for key in args.only:
        start = time.time()
        print(f"--- {key}", file=sys.stderr, flush=True)
        results[key] = globals()[key](args.quick)
        results[key]["seconds"] = round(time.time() - start, 1)
        path.write_text(json.dumps(results, indent=1) + "\n")
        print(f"--- {key}: {results[key]['seconds']:.0f} s", file=sys.stderr, flush=True)
    write(results, args.quick)


if __name__ == "__main__":
    main()
