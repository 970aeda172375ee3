"""Benchmark wsgisession against its peers.

    python bench/run.py            # in process, ~1 minute:  bench/results/latest.{md,json,png}
    python bench/run.py --quick    # a short, noisier run:    bench/results/quick.{md,json,png}
    python bench/run.py --wrk      # gunicorn + wrk, ~4 minutes: bench/results/wrk.{md,json}
    python bench/run.py --profile wsgisession-memory:read   # cProfile of one configuration

See bench/README.md for what is measured and how to read the table.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import machine
import servers
from apps import BY_KEY, CONFIGS, Built, Config, Resources
from driver import SCENARIOS, calibrate, environ_for, prepare, timed_run
from report import NOISY, Cell, Measured, Results, write

RESULTS = Path(__file__).resolve().parent / "results"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark wsgisession against Beaker, Flask-Session and Flask's cookie"
        " sessions, in process (default) or under gunicorn with wrk (--wrk).",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a short run (3 repetitions, 0.03 s per run)"
    )
    parser.add_argument("--reps", type=int, help="repetitions (default 5; 3 with --quick)")
    parser.add_argument(
        "--seconds",
        type=float,
        help="target length of one run of one (configuration, scenario), in seconds"
        " (default 0.25; 0.03 with --quick)",
    )
    parser.add_argument(
        "--seed", type=int, default=5, help="seed of the shuffled order (default 5)"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="measure only configurations whose key contains TEXT (repeatable); their bare"
        f" applications are always included. Keys: {', '.join(BY_KEY)}",
    )
    parser.add_argument(
        "--name",
        help="base name of the result files (default: latest, or quick with --quick, partial"
        " with --only; with --wrk: wrk, wrk-quick, wrk-partial)",
    )
    parser.add_argument(
        "--wrk", action="store_true", help="serve each under gunicorn, load it with wrk"
    )
    parser.add_argument(
        "--duration", type=int, help="wrk seconds per scenario (default 5; 1 with --quick)"
    )
    parser.add_argument(
        "--profile",
        metavar="KEY:SCENARIO",
        help="profile one configuration and scenario with cProfile instead (prints the top 25)",
    )
    parser.add_argument("--profile-requests", type=int, default=5000, metavar="N")
    parser.add_argument(
        "--profile-sort",
        default="cumulative",
        choices=["cumulative", "tottime", "ncalls"],
        help="the order of --profile's table (default: cumulative)",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument(
        "--postgres-dsn",
        default=os.environ.get("BENCH_POSTGRES_DSN", "host=127.0.0.1 port=5432 dbname=test"),
    )
    args = parser.parse_args(argv)
    args.reps = args.reps or (3 if args.quick else 5)
    args.seconds = args.seconds or (0.03 if args.quick else 0.25)
    args.duration = args.duration or (1 if args.quick else 5)
    if args.name is None:
        # Only a full run of everything is "latest" (or "wrk"), the one to publish.
        kind = "quick" if args.quick else "partial" if args.only else ""
        args.name = "-".join(filter(None, ("wrk" if args.wrk else "", kind))) or "latest"
    return args


def selected(only: list[str]) -> list[Config]:
    if not only:
        return list(CONFIGS)
    chosen = {c.key for c in CONFIGS if any(text in c.key for text in only)}
    unknown = [text for text in only if not any(text in c.key for c in CONFIGS)]
    if unknown:
        raise SystemExit(
            f"--only {', '.join(unknown)}: no such configuration ({', '.join(BY_KEY)})"
        )
    chosen |= {BY_KEY[key].baseline for key in chosen if BY_KEY[key].baseline}  # type: ignore[misc]
    return [c for c in CONFIGS if c.key in chosen]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def run_resources(args: argparse.Namespace) -> Iterator[tuple[Resources, dict[str, str | None]]]:
    """The run's private keys, table and directory, removed afterwards
    however the run ends (an interrupt or SIGTERM included)."""
    workdir = Path(tempfile.mkdtemp(prefix="wsgisession-bench-"))
    resources = Resources(
        run_id=f"{os.getpid()}_{secrets.token_hex(3)}",
        workdir=workdir,
        redis_url=args.redis_url,
        postgres_dsn=args.postgres_dsn,
    )
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    status = servers.check(resources)
    try:
        yield resources, status
    finally:
        try:
            servers.cleanup(resources, status)
        except Exception as error:
            log(f"cleaning up the servers failed: {error}")
        shutil.rmtree(workdir, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def skipped_for(configs: list[Config], status: dict[str, str | None]) -> dict[str, str]:
    skipped = {}
    for config in configs:
        reasons = [status[need] for need in config.needs if status.get(need)]
        if reasons:
            skipped[config.key] = "; ".join(r for r in reasons if r)
    return skipped


def in_process(args: argparse.Namespace) -> int:
    configs = selected(args.only)
    started, load = time.monotonic(), machine.load_average()
    with run_resources(args) as (resources, status):
        skipped = skipped_for(configs, status)
        for key, reason in skipped.items():
            log(f"skipping {key}: {reason}")
        configs = [c for c in configs if c.key not in skipped]
        server_versions = servers.versions(resources, status)
        built: dict[str, Built] = {}
        try:
            measured = measure(args, configs, resources, built)
        finally:
            for key, item in built.items():
                try:
                    item.close()
                except Exception as error:
                    log(f"closing {key} failed: {error}")
    method = (
        "in process: the WSGI callable called directly with prepared environs (werkzeug"
        " EnvironBuilder, copied per request), the body consumed and closed;"
        f" median of {args.reps} interleaved repetitions (every (configuration, scenario) once"
        f" per repetition, in an order shuffled with seed {args.seed});"
        f" each run about {args.seconds:g} s of requests (N calibrated per configuration and"
        " scenario); store operations counted over all repetitions, divided by the requests"
    )
    meta = machine.describe(server_versions, method, load)
    results = Results(measured, skipped)
    print(results.markdown(meta))
    paths = write(results, meta, RESULTS, args.name)
    if results.typical_spread() > NOISY:
        log(f"noisy run (typical spread {results.typical_spread():.0%}): run again when quiet")
    log(f"wrote {', '.join(str(p) for p in paths)} in {time.monotonic() - started:.0f} s")
    return 0


def measure(
    args: argparse.Namespace, configs: list[Config], resources: Resources, built: dict[str, Built]
) -> list[Measured]:
    templates: dict[str, dict[str, Any]] = {}
    for config in configs:
        log(f"setting up {config.key}")
        built[config.key] = item = config.build(resources)
        before = item.counter.snapshot() if item.counter else None
        cookies = prepare(item.app, config.cookie)
        if item.counter is not None and before == item.counter.snapshot():
            # New visitors were saved, so the store was used: the counter missed it.
            raise SystemExit(f"{config.key}: its store operations are not being counted")
        templates[config.key] = {s: environ_for(s, cookies[s]) for s in SCENARIOS}
    log("calibrating")
    sizes = {
        (key, s): calibrate(built[key].app, templates[key][s], args.seconds)
        for key in built
        for s in SCENARIOS
    }
    cells = {key: {s: Cell() for s in SCENARIOS} for key in built}
    order = list(sizes)
    shuffle = random.Random(args.seed)
    for repetition in range(args.reps):
        began = time.monotonic()
        shuffle.shuffle(order)
        for key, scenario in order:
            item, n = built[key], sizes[key, scenario]
            gc.collect()
            if item.counter is None:
                seconds = timed_run(item.app, templates[key][scenario], n)
                cells[key][scenario].add(seconds, n, {}, 0)
                continue
            before = item.counter.snapshot()
            seconds = timed_run(item.app, templates[key][scenario], n)
            ops, trips = item.counter.delta(before, item.counter.snapshot())
            cells[key][scenario].add(seconds, n, ops, trips)
        log(f"repetition {repetition + 1}/{args.reps}: {time.monotonic() - began:.1f} s")
    return [Measured(c, built[c.key].counter, cells[c.key]) for c in configs]


def profile(args: argparse.Namespace) -> int:
    key, _, scenario = args.profile.partition(":")
    if key not in BY_KEY or scenario not in SCENARIOS:
        raise SystemExit(
            f"--profile KEY:SCENARIO: KEY one of {', '.join(BY_KEY)};"
            f" SCENARIO one of {', '.join(SCENARIOS)}"
        )
    config = BY_KEY[key]
    with run_resources(args) as (resources, status):
        reasons = skipped_for([config], status)
        if reasons:
            raise SystemExit(reasons[key])
        item = config.build(resources)
        try:
            template = environ_for(scenario, prepare(item.app, config.cookie)[scenario])
            calibrate(item.app, template, 0.2)
            profiler = cProfile.Profile()
            profiler.enable()
            seconds = timed_run(item.app, template, args.profile_requests)
            profiler.disable()
        finally:
            item.close()
    each = seconds / args.profile_requests * 1e6
    print(f"{key} {scenario}: {args.profile_requests} requests, {each:.1f} µs each under cProfile")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats(args.profile_sort).print_stats(25)
    return 0


def require() -> None:
    """Fail now, not after the measurements, when the bench extra is missing."""
    import importlib

    missing = []
    for module in (
        "flask",
        "beaker",
        "flask_session",
        "cachelib",
        "redis",
        "psycopg",
        "matplotlib",
    ):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise SystemExit(
            f"missing {', '.join(missing)}: install the benchmark's environment with"
            " pip install -e '.[bench]' (see bench/README.md)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    require()
    if args.profile:
        return profile(args)
    if args.wrk:
        import loadtest

        configs, load = selected(args.only), machine.load_average()
        with run_resources(args) as (resources, status):
            return loadtest.run(args, configs, resources, status, RESULTS, load)
    return in_process(args)


if __name__ == "__main__":
    sys.exit(main())
