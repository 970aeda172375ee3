"""What the numbers were measured on: date, machine, versions."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

PACKAGES = (
    "werkzeug",
    "itsdangerous",
    "flask",
    "beaker",
    "flask-session",
    "cachelib",
    "msgspec",
    "redis",
    "psycopg",
    "psycopg-pool",
    "gunicorn",
    "matplotlib",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def wsgisession_version() -> str:
    """The package version, and the checkout's commit (``+`` when
    ``wsgisession/`` has uncommitted changes)."""
    import wsgisession

    text = wsgisession.__version__
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "wsgisession"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return text
    return f"{text} (commit {commit}{' + uncommitted changes' if dirty else ''})"


def load_average() -> str:
    """The 1-minute load average: above 0.5 or so, something else was running."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def describe(servers: dict[str, str], method: str, load_before: str) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "wsgisession": wsgisession_version(),
        "packages": package_versions(),
        "servers": servers,
        "method": method,
        "load": f"{load_before} before, {load_average()} after",
    }
