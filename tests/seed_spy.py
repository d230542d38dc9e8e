"""Records the seed each random source of a worker is given: its env's reset, its env's action space."""


def spy_on_env_seeds(monkeypatch, module, seeds: list) -> None:
    """Replace ``module.make_env`` by one whose envs append ("env", seed) to ``seeds`` on a seeded reset and
    ("action_space", seed) when their action space is seeded."""
    make_env = module.make_env

    def recording_make_env(*args, **kwargs):
        env = make_env(*args, **kwargs)
        reset, space = env.reset, env.action_space
        seed_space = space.seed

        def seeded_reset(*, seed=None, **options):
            if seed is not None:
                seeds.append(("env", seed))
            return reset(seed=seed, **options)

        def seeded_space(seed=None):
            seeds.append(("action_space", seed))
            return seed_space(seed)

        env.reset, space.seed = seeded_reset, seeded_space
        return env

    monkeypatch.setattr(module, "make_env", recording_make_env)
