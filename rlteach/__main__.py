"""Command line: ``python -m rlteach train a2c --env CartPole-v1 --seed 0 [--total-steps N] [--out DIR]``.

A3C, Ape-X and IMPALA also take ``--backend thread|process|ray``, DD-PPO ``process|ray`` and SEED RL
``thread|process``; for Ray, ``--ray-address auto`` joins the cluster this machine belongs to (started with
``ray start``).

Trains one algorithm with its default Config (overridden by the flags), prints one summary line
(solved at X steps / Y s, or not) and, with --out, saves the result (see ``rlteach.monitor``).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys

from rlteach.messages import tr
from rlteach.monitor import ALGORITHMS
from rlteach.workers import ALL_BACKENDS


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlteach", description="rlteach: train an algorithm.")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train one algorithm and print whether it solved the env",
                                description="Train one algorithm with its default settings and print one summary "
                                            "line.")
    train.add_argument("algorithm", choices=sorted(ALGORITHMS), help="which algorithm")
    train.add_argument("--env", default="CartPole-v1", help="Gymnasium environment id (default: CartPole-v1)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--total-steps", type=int, default=None, help="env step budget (default: the algorithm's)")
    train.add_argument("--backend", default=None, choices=ALL_BACKENDS,
                       help="where the workers run (a3c, apex, impala, ddppo, seedrl; default: the algorithm's)")
    train.add_argument("--ray-address", default=None, help="with --backend ray: a cluster to join, e.g. 'auto'")
    train.add_argument("--out", default=None, help="folder to save config, history and model into")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)

    module = importlib.import_module(ALGORITHMS[args.algorithm])
    overrides = {"env_id": args.env, "seed": args.seed}
    if args.total_steps is not None:
        overrides["total_steps"] = args.total_steps
    for flag, name in (("--backend", "backend"), ("--ray-address", "ray_address")):
        if getattr(args, name) is not None:
            if name not in {f.name for f in dataclasses.fields(module.Config)}:
                train.error(f"{args.algorithm} has no {flag}: it runs in one process")
            overrides[name] = getattr(args, name)
    try:
        config = module.Config(**overrides)
    except (TypeError, ValueError) as exc:
        train.error(str(exc))
    result = module.train(config, progress=not args.no_progress)
    print(result.summary())
    if args.out:
        print(tr("saved to {path}", path=result.save(args.out)))
    return 0 if result.solved or not result.interrupted else 130


if __name__ == "__main__":
    sys.exit(main())
