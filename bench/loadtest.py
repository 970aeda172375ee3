"""``run.py --wrk``: each configuration served by gunicorn (2 sync workers on
127.0.0.1) and loaded with ``wrk -t2 -c16`` for requests per second.

Every gunicorn is started in a process group of its own and always stopped:
SIGTERM to its master, then SIGKILL to its group after a bounded wait. Every
wait (readiness, wrk) is bounded too.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import machine
import servers
from apps import Config, Resources
from driver import BARE_COOKIE, RETURNING, SCENARIOS
from report import SCENARIO_TITLES

BENCH = Path(__file__).resolve().parent
READY_SECONDS = 30.0
STOP_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def gunicorn(config: Config, resources: Resources, log_path: Path) -> Iterator[tuple[int, Path]]:
    """Serve ``config`` under gunicorn; yields its port and seed file."""
    port = free_port()
    seed_file = resources.workdir / f"{config.key}.cookies.json"
    env = {**os.environ, **resources.to_env(), "BENCH_CONFIG": config.key}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        "2",
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--pythonpath",
        str(BENCH),
        "--log-level",
        "warning",
        "--timeout",
        "30",
        "--graceful-timeout",
        "3",
    ]
    if config.process_local:
        # Sessions in process memory: make them in the master, before the
        # fork, so that both workers know the returning visitors.
        env["BENCH_SEED_FILE"] = str(seed_file)
        command.append("--preload")
    command.append("apps:serve()")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=BENCH,
        )
        try:
            wait_ready(process, port, log_path)
            yield port, seed_file
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_SECONDS)
    # The master's group holds its workers: make sure none outlives it.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        print(f"gunicorn {process.pid} did not exit after SIGKILL", file=sys.stderr)


def wait_ready(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    """Until both workers are likely up: a few answered requests in a row."""
    deadline = time.monotonic() + READY_SECONDS
    answered = 0
    while answered < 6:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}):\n{_tail(log_path)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn not ready in {READY_SECONDS:g} s:\n{_tail(log_path)}")
        try:
            status, _ = http_get(port, "/unused", None)
            answered = answered + 1 if status == 200 else 0
        except OSError:
            answered = 0
            time.sleep(0.1)


def http_get(port: int, path: str, cookie: str | None) -> tuple[int, list[str]]:
    """Status and ``Set-Cookie`` headers of one GET."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        response.read()
        return response.status, response.headers.get_all("Set-Cookie") or []
    finally:
        connection.close()


def cookies_over_http(port: int, config: Config) -> dict[str, str | None]:
    """A session per returning-visitor scenario, made by a real request."""
    if config.cookie is None:
        return {"new": None, **dict.fromkeys(RETURNING, BARE_COOKIE)}
    cookies: dict[str, str | None] = {"new": None}
    for scenario in RETURNING:
        status, headers = http_get(port, "/new", None)
        pairs = [h.split(";", 1)[0].strip() for h in headers]
        found = [p for p in pairs if p.split("=", 1)[0] == config.cookie]
        if status != 200 or not found:
            raise RuntimeError(f"{config.key}: /new answered {status} without a session cookie")
        cookies[scenario] = found[0]
    return cookies


_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_LATENCY = re.compile(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_TOTAL = re.compile(r"(\d+) requests in")


def wrk(port: int, scenario: str, cookie: str | None, duration: int) -> dict[str, Any]:
    command = ["wrk", "-t2", "-c16", f"-d{duration}s", "--timeout", "5s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    command.append(f"http://127.0.0.1:{port}/{scenario}")
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=duration + 30,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return {"error": "wrk did not finish in time"}
    output = done.stdout
    rps = _RPS.search(output)
    if done.returncode != 0 or rps is None:
        return {"error": (done.stderr or output).strip()[-500:]}
    result: dict[str, Any] = {"requests_per_second": float(rps.group(1))}
    total = _TOTAL.search(output)
    result["requests"] = int(total.group(1)) if total else None
    latency = _LATENCY.search(output)
    if latency:
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[latency.group(2)]
        result["p50_ms"] = round(float(latency.group(1)) * scale, 3)
    errors = 0
    non_2xx = _NON_2XX.search(output)
    if non_2xx:
        errors += int(non_2xx.group(1))
        result["non_2xx"] = int(non_2xx.group(1))
    sockets = _SOCKET.search(output)
    if sockets:
        result["socket_errors"] = dict(
            zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()), strict=True)
        )
        errors += sum(map(int, sockets.groups()))
    result["errors"] = errors
    return result


def run(
    args: argparse.Namespace,
    configs: list[Config],
    resources: Resources,
    status: dict[str, str | None],
    directory: Path,
    load: str,
) -> int:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    started = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for config in configs:
        reasons = [status[need] for need in config.needs if status.get(need)]
        if reasons:
            skipped[config.key] = "; ".join(r for r in reasons if r)
            print(f"skipping {config.key}: {skipped[config.key]}", file=sys.stderr)
            continue
        print(f"serving {config.key}", file=sys.stderr, flush=True)
        log_path = resources.workdir / f"{config.key}.log"
        try:
            with gunicorn(config, resources, log_path) as (port, seed_file):
                cookies = (
                    json.loads(seed_file.read_text())
                    if config.process_local
                    else cookies_over_http(port, config)
                )
                results[config.key] = {
                    s: wrk(port, s, cookies[s], args.duration) for s in SCENARIOS
                }
        except RuntimeError as error:
            skipped[config.key] = str(error)[-500:]
            print(f"{config.key} failed: {error}", file=sys.stderr)
        for scenario, result in results.get(config.key, {}).items():
            print(f"  {scenario}: {result}", file=sys.stderr)
    meta = machine.describe(
        servers.versions(resources, status),
        f"gunicorn {machine.package_versions()['gunicorn']}, 2 sync workers on 127.0.0.1;"
        f" wrk -t2 -c16 -d{args.duration}s per scenario, on the same {os.cpu_count()} cores"
        " as the server; configurations one after another",
        load,
    )
    text = markdown(configs, results, skipped, meta)
    print(text)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{args.name}.md").write_text(text)
    raw = {"meta": meta, "results": results, "skipped": skipped}
    (directory / f"{args.name}.json").write_text(json.dumps(raw, indent=2) + "\n")
    print(
        f"wrote {directory / args.name}.md and .json in {time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )
    return 0


def markdown(
    configs: list[Config],
    results: dict[str, dict[str, Any]],
    skipped: dict[str, str],
    meta: dict[str, Any],
) -> str:
    lines = ["# wsgisession benchmark: gunicorn + wrk", ""]
    packages = ", ".join(f"{name} {version}" for name, version in meta["packages"].items())
    lines += [
        f"- Date: {meta['date']}",
        f"- Machine: {meta['machine']}, {meta['cpu']}, {meta['cores']} cores",
        f"- Python {meta['python']}; wsgisession {meta['wsgisession']}",
        f"- Packages: {packages}",
        f"- Servers: {', '.join(f'{k} {v}' for k, v in meta['servers'].items()) or 'none'}",
        f"- Method: {meta['method']}",
        f"- Load average (1 min): {meta['load']}",
        "",
        "## Requests per second (median latency)",
        "",
        "| peer | store | " + " | ".join(SCENARIO_TITLES[s] for s in SCENARIOS) + " |",
        "|---|---|" + "---:|" * len(SCENARIOS),
    ]
    for config in configs:
        if config.key not in results:
            continue
        cells = []
        for scenario in SCENARIOS:
            result = results[config.key][scenario]
            if "error" in result:
                cells.append("error")
                continue
            cell = f"{result['requests_per_second']:,.0f}"
            if "p50_ms" in result:
                cell += f" ({result['p50_ms']:.1f} ms)"
            if result.get("errors"):
                cell += f" ⚠ {result['errors']} errors"
            cells.append(cell)
        lines.append(f"| {config.peer} | {config.store} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Higher is better. wrk and both workers share the machine's cores, so these numbers"
        " say more about ordering than about absolute capacity; the in-process table"
        " (latest.md) isolates each configuration's own cost."
    )
    if skipped:
        lines += ["", "## Not measured", ""]
        lines += [f"- {key}: {reason}" for key, reason in skipped.items()]
    lines.append("")
    return "\n".join(lines)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
