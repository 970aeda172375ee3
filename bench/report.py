"""Turning the measurements into the table, the targets, the JSON and the chart."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps import Config
from counting import CATEGORIES, OpCounter
from driver import SCENARIOS

SCENARIO_TITLES = {
    "new": "new visitor",
    "read": "read",
    "modify": "modify",
    "unused": "session unused",
}

#: Amortised maintenance below this many operations per request (the SQL
#: stores prune expired rows every 100 writes) does not count against the
#: round-trip targets.
AMORTISED = 0.05

#: A typical spread of the repetitions above this marks the run as noisy.
NOISY = 0.25


@dataclass
class Cell:
    """One (configuration, scenario): its repetitions and what they cost the store."""

    seconds: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    ops: dict[str, int] = field(default_factory=dict)
    trips: int = 0

    def add(self, seconds: float, n: int, ops: Mapping[str, int], trips: int) -> None:
        self.seconds.append(seconds)
        self.requests.append(n)
        for op, count in ops.items():
            self.ops[op] = self.ops.get(op, 0) + count
        self.trips += trips

    @property
    def samples_us(self) -> list[float]:
        return [s / n * 1e6 for s, n in zip(self.seconds, self.requests, strict=True)]

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples_us)

    @property
    def spread(self) -> float:
        """(max − min) / median of the repetitions."""
        samples = self.samples_us
        return (max(samples) - min(samples)) / statistics.median(samples)

    def per_request(self) -> dict[str, float]:
        total = sum(self.requests)
        return {op: count / total for op, count in sorted(self.ops.items())}

    def trips_per_request(self) -> float:
        return self.trips / sum(self.requests)


@dataclass
class Measured:
    """A configuration's results: a cell per scenario, and the counter of its
    store operations (``None``: it has no store)."""

    config: Config
    counter: OpCounter | None
    cells: dict[str, Cell]

    @property
    def unit(self) -> str | None:
        """What its store operations are (``"Redis commands"``); ``None``: no store."""
        return None if self.counter is None else self.counter.unit

    def categories(self, scenario: str) -> dict[str, float]:
        totals = dict.fromkeys(CATEGORIES, 0.0)
        if self.counter is not None:
            for op, count in self.cells[scenario].per_request().items():
                totals[self.counter.classify(op)] += count
        return totals


@dataclass
class Target:
    name: str
    #: ``None``: not evaluated (a configuration it needs was not measured).
    met: bool | None
    detail: str


class Results:
    def __init__(self, measured: list[Measured], skipped: dict[str, str]) -> None:
        self.measured = {m.config.key: m for m in measured}
        self.skipped = skipped

    def get(self, key: str) -> Measured | None:
        return self.measured.get(key)

    def overhead(self, key: str, scenario: str) -> float | None:
        measured = self.measured.get(key)
        if measured is None or measured.config.baseline is None:
            return None
        baseline = self.measured.get(measured.config.baseline)
        if baseline is None:
            return None
        return measured.cells[scenario].median_us - baseline.cells[scenario].median_us

    # The targets of issue 5.

    def targets(self) -> list[Target]:
        targets: list[Target] = []
        for scenario in SCENARIOS:
            ours = self.overhead("wsgisession-memory", scenario)
            beaker = self.overhead("beaker-memory", scenario)
            factor = 1.0 if scenario == "unused" else 0.4
            name = (
                f"MemoryStore overhead, {SCENARIO_TITLES[scenario]}: ≤ {factor:g} × Beaker memory's"
            )
            targets.append(_bound(name, ours, beaker, factor, "Beaker memory"))
        for scenario in SCENARIOS:
            ours = self.overhead("wsgisession-redis", scenario)
            peers = {
                label: self.overhead(key, scenario)
                for key, label in (
                    ("beaker-redis", "Beaker"),
                    ("flask-session-redis", "Flask-Session"),
                )
            }
            known = {label: value for label, value in peers.items() if value is not None}
            name = (
                f"RedisStore overhead, {SCENARIO_TITLES[scenario]}: ≤ 0.5 × the best Redis peer's"
            )
            if not known:
                targets.append(_bound(name, ours, None, 0.5, "the best Redis peer"))
            else:
                label = min(known, key=lambda item: known[item])
                targets.append(_bound(name, ours, known[label], 0.5, f"{label} (best)"))
        for measured in self.wsgisession():
            store = measured.config.store
            unused = measured.categories("unused")
            targets.append(
                Target(
                    f"{store}, session unused: no store read",
                    unused["read"] < 0.005,
                    f"reads per request: {_fmt_count(unused['read'])}"
                    f" ({describe_ops(measured, 'unused')})",
                )
            )
            for scenario, rule, check in (
                ("read", "≤ 1 read + 1 expiry update", _read_ok),
                ("modify", "= 1 read + 1 write", _modify_ok),
                ("new", "= 1 write", _new_ok),
            ):
                targets.append(
                    Target(
                        f"{store}, {SCENARIO_TITLES[scenario]}: {rule}",
                        check(measured.categories(scenario)),
                        describe_ops(measured, scenario),
                    )
                )
        return targets

    def typical_spread(self) -> float:
        """The median, over every (configuration, scenario), of the spread of
        its repetitions: a quiet machine keeps it below 15 % or so."""
        return statistics.median(
            cell.spread for m in self.measured.values() for cell in m.cells.values()
        )

    def wsgisession(self) -> list[Measured]:
        return [m for m in self.measured.values() if m.config.peer == "wsgisession"]

    # Output.

    def to_json(self, meta: Mapping[str, Any]) -> dict[str, Any]:
        configs = []
        for measured in self.measured.values():
            config = measured.config
            scenarios = {}
            for scenario, cell in measured.cells.items():
                scenarios[scenario] = {
                    "median_us": round(cell.median_us, 3),
                    "overhead_us": _round(self.overhead(config.key, scenario)),
                    "spread": round(cell.spread, 4),
                    "samples_us": [round(x, 3) for x in cell.samples_us],
                    "requests": cell.requests,
                    "ops_per_request": (
                        None
                        if measured.unit is None
                        else {op: round(n, 4) for op, n in cell.per_request().items()}
                    ),
                    "categories_per_request": (
                        None
                        if measured.unit is None
                        else {k: round(v, 4) for k, v in measured.categories(scenario).items()}
                    ),
                    "round_trips_per_request": (
                        round(cell.trips_per_request(), 4) if cell.trips else None
                    ),
                }
            configs.append(
                {
                    "key": config.key,
                    "peer": config.peer,
                    "store": config.store,
                    "baseline": config.baseline,
                    "options": config.options,
                    "counted": measured.unit,
                    "scenarios": scenarios,
                }
            )
        return {
            "meta": dict(meta),
            "configs": configs,
            "skipped": self.skipped,
            "typical_spread": round(self.typical_spread(), 4),
            "targets": [{"name": t.name, "met": t.met, "detail": t.detail} for t in self.targets()],
        }

    def markdown(self, meta: Mapping[str, Any]) -> str:
        lines = ["# wsgisession benchmark: in process", ""]
        lines += _meta_lines(meta)
        spread = self.typical_spread()
        if spread > NOISY:
            lines += [
                f"**Noisy run**: the repetitions of a configuration typically differ by"
                f" {spread:.0%} (max − min over median); something else was using the machine"
                " (see the load average). Run again before comparing numbers.",
                "",
            ]
        peers = [m for m in self.measured.values() if m.config.baseline is not None]
        bases = [m for m in self.measured.values() if m.config.baseline is None]
        head = "| peer | store | " + " | ".join(SCENARIO_TITLES[s] for s in SCENARIOS) + " |"
        rule = "|---|---|" + "---:|" * len(SCENARIOS)

        lines += ["## Overhead over the bare application (µs per request)", ""]
        lines += [head, rule]
        for measured in peers:
            cells = [_signed(self.overhead(measured.config.key, s)) for s in SCENARIOS]
            lines.append(_row(measured.config, cells))
        lines.append("")
        lines.append(
            "Each peer is measured against its own bare application, in the same run: "
            + "; ".join(
                f"{m.config.peer} ({m.config.options}) takes "
                + ", ".join(f"{m.cells[s].median_us:.1f}" for s in SCENARIOS)
                + " µs"
                for m in bases
            )
            + ". wsgisession and Beaker wrap the bare WSGI app; Flask-Session and Flask's"
            " cookie sessions run in the bare Flask app."
        )
        lines.append("")

        lines += [
            "## Time per request (µs, median of the repetitions; ±: (max − min) / median)",
            "",
        ]
        lines += [head, rule]
        for measured in bases + peers:
            cells = [
                f"{measured.cells[s].median_us:.1f} ±{measured.cells[s].spread:.0%}"
                for s in SCENARIOS
            ]
            lines.append(_row(measured.config, cells))
        lines.append("")

        lines += ["## Store operations per request", ""]
        lines += [
            "| peer | store | counted | "
            + " | ".join(SCENARIO_TITLES[s] for s in SCENARIOS)
            + " |",
            "|---|---|---|" + "---|" * len(SCENARIOS),
        ]
        for measured in peers:
            counted = measured.unit or "no store"
            cells = [describe_ops(measured, s) for s in SCENARIOS]
            lines.append(_row(measured.config, [counted, *cells]))
        lines.append("")
        lines.append(
            "A number is operations per request, then what they were (×: per request, when"
            " not 1). Redis commands are counted as `INFO commandstats` counts them; a"
            " pipeline's round trips are added when fewer. SQL statements include amortised"
            " pruning of expired rows. In-process stores count method calls."
        )
        lines.append("")

        lines += ["## Targets (issue 5)", ""]
        lines += [_target_line(t) for t in self.targets()]
        lines.append("")
        if self.skipped:
            lines += ["## Not measured", ""]
            lines += [f"- {key}: {reason}" for key, reason in self.skipped.items()]
            lines.append("")
        lines += ["## Configurations", ""]
        lines += [
            f"- **{m.config.label}** (`{m.config.key}`): {m.config.options}" for m in bases + peers
        ]
        lines.append("")
        return "\n".join(lines)

    def chart(self, path: Path, meta: Mapping[str, Any]) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        peers = [m for m in self.measured.values() if m.config.baseline is not None]
        local = [
            m for m in peers if "redis" not in m.config.needs and "postgres" not in m.config.needs
        ]
        remote = [m for m in peers if m not in local]
        panels = [
            (p, t) for p, t in ((local, "in-process stores"), (remote, "Redis and PostgreSQL")) if p
        ]
        heights = [len(p) for p, _ in panels]
        figure, axes = plt.subplots(
            len(panels),
            1,
            figsize=(11, 1.0 + 0.85 * sum(heights) + 0.9 * len(panels)),
            gridspec_kw={"height_ratios": heights},
            squeeze=False,
        )
        colours = ["#4c72b0", "#55a868", "#dd8452", "#8172b3"]
        width = 0.2
        for (group, title), axis in zip(panels, axes[:, 0], strict=True):
            for index, scenario in enumerate(SCENARIOS):
                values = [self.overhead(m.config.key, scenario) or 0.0 for m in group]
                positions = [row + (index - 1.5) * width for row in range(len(group))]
                bars = axis.barh(
                    positions,
                    values,
                    height=width,
                    color=colours[index],
                    label=SCENARIO_TITLES[scenario],
                )
                axis.bar_label(bars, labels=[f"{v:+.0f}" for v in values], padding=3, fontsize=7)
            axis.set_yticks(range(len(group)))
            axis.set_yticklabels([m.config.label for m in group], fontsize=9)
            axis.invert_yaxis()
            axis.axvline(0, color="black", linewidth=0.6)
            axis.set_title(f"Overhead over the bare application, {title}", fontsize=10, loc="left")
            axis.set_xlabel(
                "µs per request over the bare WSGI app (wsgisession, Beaker) or the bare Flask"
                " app (Flask-Session, Flask); median",
                fontsize=8,
            )
            axis.margins(x=0.12)
            axis.grid(axis="x", alpha=0.3)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        figure.legend(
            handles,
            labels,
            loc="upper center",
            ncol=4,
            fontsize=9,
            frameon=False,
            bbox_to_anchor=(0.5, 0.965),
        )
        figure.suptitle(
            f"wsgisession vs peers, in process · {meta.get('date', '')} · {meta.get('cpu', '')}"
            f" ({meta.get('cores', '?')} cores) · Python {meta.get('python', '')}",
            fontsize=10,
        )
        figure.tight_layout(rect=(0, 0, 1, 0.95))
        figure.savefig(path, dpi=110)
        plt.close(figure)


def _bound(name: str, ours: float | None, theirs: float | None, factor: float, who: str) -> Target:
    if ours is None or theirs is None:
        return Target(name, None, "not measured in this run")
    limit = factor * theirs
    met = ours <= limit
    detail = f"{ours:+.1f} µs vs {who} {theirs:+.1f} µs → limit {limit:+.1f} µs"
    if not met:
        detail += f"; missed by {ours - limit:.1f} µs"
        if limit > 0:
            detail += f" ({ours / limit:.1f}× the limit)"
    return Target(name, met, detail)


def _near(value: float, expected: float) -> bool:
    return abs(value - expected) <= AMORTISED


def _read_ok(c: dict[str, float]) -> bool:
    return (
        c["read"] <= 1 + AMORTISED
        and c["expire"] <= 1 + AMORTISED
        and c["write"] <= AMORTISED
        and c["other"] <= AMORTISED
    )


def _modify_ok(c: dict[str, float]) -> bool:
    return (
        _near(c["read"], 1)
        and _near(c["write"], 1)
        and c["expire"] <= AMORTISED
        and c["other"] <= AMORTISED
    )


def _new_ok(c: dict[str, float]) -> bool:
    return (
        c["read"] <= AMORTISED
        and _near(c["write"], 1)
        and c["expire"] <= AMORTISED
        and c["other"] <= AMORTISED
    )


def describe_ops(measured: Measured, scenario: str) -> str:
    """``"2: GET + PEXPIRE"``: operations per request, then which."""
    if measured.unit is None:
        return "—"
    cell = measured.cells[scenario]
    ops = cell.per_request()
    if not ops:
        return "0"
    total = sum(ops.values())
    parts = []
    for op, count in sorted(ops.items(), key=lambda item: (-item[1], item[0])):
        parts.append(op if _near_int(count, 1) else f"{op}×{_fmt_count(count)}")
    text = f"{_fmt_count(total)}: " + " + ".join(parts)
    trips = cell.trips_per_request()
    if cell.trips and trips < total - 0.005:
        text += f" (in {_fmt_count(trips)} round trips)"
    return text


def _near_int(value: float, target: int) -> bool:
    return abs(value - target) < 0.005


def _fmt_count(value: float) -> str:
    if abs(value - round(value)) < 0.005:
        return str(round(value))
    return f"{value:.2f}"


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _row(config: Config, cells: Iterable[str]) -> str:
    return f"| {config.peer} | {config.store} | " + " | ".join(cells) + " |"


def _target_line(target: Target) -> str:
    mark = {True: "met", False: "**NOT met**", None: "not evaluated"}[target.met]
    return f"- {mark}: {target.name} — {target.detail}"


def _meta_lines(meta: Mapping[str, Any]) -> list[str]:
    packages = ", ".join(f"{name} {version}" for name, version in meta["packages"].items())
    servers = ", ".join(f"{name} {version}" for name, version in meta["servers"].items())
    return [
        f"- Date: {meta['date']}",
        f"- Machine: {meta['machine']}, {meta['cpu']}, {meta['cores']} cores",
        f"- Python {meta['python']}; wsgisession {meta['wsgisession']}",
        f"- Packages: {packages}",
        f"- Servers: {servers or 'none'}",
        f"- Method: {meta['method']}",
        f"- Load average (1 min): {meta['load']}",
        "",
    ]


def write(results: Results, meta: Mapping[str, Any], directory: Path, name: str) -> list[Path]:
    """Write ``name``.md, .json and .png into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    markdown = directory / f"{name}.md"
    markdown.write_text(results.markdown(meta))
    raw = directory / f"{name}.json"
    raw.write_text(json.dumps(results.to_json(meta), indent=2, ensure_ascii=False) + "\n")
    chart = directory / f"{name}.png"
    results.chart(chart, meta)
    return [markdown, raw, chart]
