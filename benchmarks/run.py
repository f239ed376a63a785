"""``make bench``: run every benchmark, print one table, write docs/performance.md.

Each benchmark runs in a process of its own (``bench_*.py``; its stdout ends
with its rows as JSON, see ``common.emit``), so one cannot disturb another's
memory or imports. The tracking comparison runs in ``.venv-bench`` (MLflow 3,
Data Workspaces and pyinstrument cannot share ``.venv`` with Airflow); without
it the comparators are left out and said to be. Everything else runs in the
interpreter running this script (``.venv``: Airflow, Prefect, playwright).

Modes: full (``make bench``, under 20 minutes on 2 cores once the 1M-edge
catalogs are cached), ``--quick`` (under 3 minutes: smaller graph, file and
fewer rounds) and ``--tiny`` (seconds; the smoke test uses it, figures
meaningless). ``--profile NAME`` writes a pyinstrument profile of one
benchmark under .bench-cache/ instead of measuring.

Usage:
    .venv/bin/python benchmarks/run.py [--quick | --tiny] [--only tracking,lineage --output -]
    .venv/bin/python benchmarks/run.py --profile tracking
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.metadata
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, PG_ADMIN_URL, ROOT, Row, parse_rows  # noqa: E402

BENCH_VENV = ROOT / ".venv-bench" / "bin" / "python"
HERE = Path(__file__).resolve().parent


@dataclasses.dataclass(frozen=True)
class Bench:
    """One benchmark script and its arguments per mode."""

    name: str
    script: str
    title: str
    full: tuple[str, ...]
    quick: tuple[str, ...]
    tiny: tuple[str, ...]
    comparators_venv: bool = False  # runs in .venv-bench when it exists
    timeout: int = 900


BENCHES = [
    Bench("tracking", "bench_tracking.py", "1. Tracking cost per step",
          ("--steps", "200", "--rounds", "5"), ("--steps", "50", "--rounds", "2", "--warmup", "3"),
          ("--steps", "3", "--rounds", "1", "--warmup", "1"), comparators_venv=True),
    Bench("airflow", "bench_orchestrators.py", "2. Airflow: 50-task DAG, dag.test()",
          ("airflow", "--tasks", "50", "--rounds", "5"), ("airflow", "--tasks", "10",
                                                           "--rounds", "1"),
          ("airflow", "--tasks", "2", "--rounds", "1")),
    Bench("prefect", "bench_orchestrators.py", "2. Prefect: 50-task flow",
          ("prefect", "--tasks", "50", "--rounds", "5"), ("prefect", "--tasks", "10",
                                                           "--rounds", "1"),
          ("prefect", "--tasks", "2", "--rounds", "1")),
    Bench("lineage", "bench_lineage.py", "3. Lineage queries at scale",
          ("--edges", "1000000", "--rounds", "3", "--samples", "30", "--closure-samples", "5"),
          ("--edges", "50000", "--rounds", "1", "--samples", "10", "--closure-samples", "2"),
          ("--edges", "2000", "--rounds", "1", "--samples", "3", "--closure-samples", "1"),
          timeout=1800),
    Bench("ingest", "bench_ingest.py", "4. Bulk ingestion",
          ("--records", "10000", "--rounds", "3"), ("--records", "1000", "--rounds", "1"),
          ("--records", "20", "--rounds", "1")),
    Bench("staging", "bench_staging.py", "5. Staging a large file",
          ("--size-mib", "1024", "--rounds", "3"), ("--size-mib", "128", "--rounds", "2"),
          ("--size-mib", "4", "--rounds", "1")),
    Bench("footprint", "bench_footprint.py", "6. Import time and catalog size",
          ("--imports", "20", "--executions", "500", "--rounds", "3"),
          ("--imports", "10", "--executions", "100", "--rounds", "2"),
          ("--imports", "2", "--executions", "5", "--rounds", "1")),
    Bench("web", "bench_ui.py", "7. Web app: 2,000-node lineage",
          ("--nodes", "2000", "--runs", "5"), ("--nodes", "1000", "--runs", "2"),
          ("--nodes", "40", "--runs", "1", "--no-browser")),
]


USE_BENCH_VENV = True  # --no-bench-venv: everything in this interpreter (the smoke test)


def _python_for(bench: Bench) -> str:
    if bench.comparators_venv and USE_BENCH_VENV and BENCH_VENV.exists():
        return str(BENCH_VENV)
    return sys.executable


def run_bench(bench: Bench, mode: str, log_dir: Path) -> tuple[list[Row], float]:
    """Run one benchmark process; its rows, or one row saying why there are none."""
    args = getattr(bench, mode)
    cmd = [_python_for(bench), str(HERE / bench.script), *args]
    log = log_dir / f"{bench.name}.log"
    started = time.perf_counter()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with log.open("w") as fh:
        fh.write(" ".join(cmd) + "\n")
        fh.flush()
        try:
            done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=fh, text=True, env=env,
                                  timeout=bench.timeout, cwd=ROOT)
            out, code = done.stdout, done.returncode
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            code = f"timeout after {bench.timeout} s"
        fh.write(out)
    took = time.perf_counter() - started
    rows = parse_rows(out)
    if code != 0 or not rows:
        rows.append(Row(bench.name, f"{bench.title}: benchmark did not finish", "", [],
                        note=f"exit {code}; see {log.relative_to(ROOT)}"))
    return rows, took


def machine() -> dict[str, str]:
    """CPU, cores, RAM and OS of this machine."""
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text()
                   .splitlines() if line.startswith("MemTotal"))
        ram = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        ram = "?"
    os_name = platform.platform()
    try:
        os_name = next(line.split("=", 1)[1].strip('"') for line in
                       Path("/etc/os-release").read_text().splitlines()
                       if line.startswith("PRETTY_NAME")) + f" (kernel {platform.release()})"
    except (OSError, StopIteration):
        pass
    return {"CPU": cpu, "cores": str(os.cpu_count()), "RAM": ram, "OS": os_name}


def _dist_version(name: str, python: str | None = None) -> str:
    if python is None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"
    done = subprocess.run([python, "-c", "import importlib.metadata as m, sys\ntry: print("
                           f"m.version({name!r}))\nexcept m.PackageNotFoundError: print('not "
                           "installed')"], capture_output=True, text=True)
    return done.stdout.strip() or "?"


def versions() -> dict[str, str]:
    """Versions of everything the figures depend on."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip() or "?"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no",
                            "provider"], capture_output=True, text=True, cwd=ROOT).stdout
    pg = "unreachable"
    try:
        from sqlalchemy import create_engine, text

        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 5})
        with eng.connect() as conn:
            pg = conn.execute(text("SHOW server_version")).scalar_one()
        eng.dispose()
    except Exception:  # noqa: BLE001 - reported as unreachable
        pass
    bench = str(BENCH_VENV) if BENCH_VENV.exists() else None
    out = {"python": platform.python_version(),
           "steplineage": f"{_dist_version('steplineage')} @ {commit}"
                          + (" + uncommitted changes in provider/" if dirty else ""),
           "SQLite": sqlite3.sqlite_version, "PostgreSQL server": pg,
           "SQLAlchemy": _dist_version("sqlalchemy"),
           "apache-airflow": _dist_version("apache-airflow"),
           "prefect": _dist_version("prefect"), "networkx": _dist_version("networkx")}
    for name in ("mlflow-skinny", "dataworkspaces", "openlineage-python"):
        out[f"{name} (.venv-bench)"] = _dist_version(name, bench) if bench else "no .venv-bench"
    if bench:
        out["SQLAlchemy (.venv-bench)"] = _dist_version("sqlalchemy", bench)
    return out


def status(row: Row) -> str:
    if not row.values:
        return f"not measured: {row.note}" if row.note else "not measured"
    met = row.met()
    return "" if met is None else ("met" if met else "MISSED")


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def print_table(rows: list[Row], title: str) -> None:
    """The one table ``make bench`` prints."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col, just in (("section", "left"), ("figure", "left"), ("min", "right"),
                      ("median", "right"), ("max", "right"), ("unit", "left"),
                      ("target", "left"), ("status", "left"), ("compared", "left")):
        table.add_column(col, justify=just, overflow="fold")  # type: ignore[arg-type]
    for row in rows:
        s = row.summary()
        st = status(row)
        shown = f"[bold red]{st}[/]" if st == "MISSED" else st
        table.add_row(row.section, row.label, *(_fmt(s[k]) if s else "" for k in
                                                ("min", "median", "max")),
                      row.unit, row.target, shown, row.ratio)
    Console(width=200).print(table)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _definition(bench: Bench) -> str:
    """A benchmark's workload definition: its module docstring without usage lines."""
    import ast

    doc = ast.get_docstring(ast.parse((HERE / bench.script).read_text())) or ""
    return doc.split("\nUsage:")[0].strip()


def write_markdown(path: Path, rows: list[Row], mode: str, took: dict[str, float],
                   started: datetime.datetime) -> None:
    """docs/performance.md: context, results with targets, how to read and reproduce."""
    lines = ["# Performance", "",
             "What steplineage costs and how fast it answers, measured by `make bench` "
             "(`benchmarks/`) and compared side by side with MLflow, Data Workspaces, "
             "OpenLineage and networkx. This page is written by `benchmarks/run.py`; "
             "run it again rather than editing it.", "",
             f"Latest run: **{started:%Y-%m-%d %H:%M} UTC**, mode **{mode}**"
             + ("" if mode == "full" else
                " (smaller workloads: not the figures the targets are about)")
             + f", {sum(took.values()) / 60:.1f} minutes in all.", "",
             "## Machine and versions", "", "| | |", "| --- | --- |"]
    lines += [f"| {k} | {_md(v)} |" for k, v in {**machine(), **versions()}.items()]
    lines += ["", "## Results", "",
              "Each figure is measured over repeated runs (rounds); min / median / max are "
              "over those rounds. The target is checked against the median. **MISSED** marks "
              "a missed target; \"compared\" holds ratios against alternatives measured in the "
              "same process or run.", ""]
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            lines += ["", f"### {section}", "",
                      "| figure | min | median | max | unit | target | status | compared |",
                      "| --- | ---: | ---: | ---: | --- | --- | --- | --- |"]
        s = row.summary()
        st = status(row)
        lines.append("| " + " | ".join([
            _md(row.label), *(_fmt(s[k]) if s else "" for k in ("min", "median", "max")),
            row.unit, _md(row.target), f"**{st}**" if st == "MISSED" else _md(st),
            _md(row.ratio)]) + " |")
    lines += ["", "Time per benchmark in this run: "
              + ", ".join(f"{k} {v:.0f} s" for k, v in took.items()) + ".", "",
              "## How to read and reproduce", "",
              "```console",
              "$ make bench                      # full run; builds .venv-bench the first time",
              "$ make bench ARGS=--quick         # the same workloads, smaller (< 3 minutes)",
              "$ .venv/bin/python benchmarks/run.py --only tracking,lineage   # some of them",
              "$ .venv/bin/python benchmarks/run.py --profile tracking        # pyinstrument",
              "$ .venv/bin/python benchmarks/bench_tracking.py --backend sqlite --steps 500",
              "```", "",
              "* Every benchmark is a script in `benchmarks/` that also runs on its own and "
              "prints its figures; `run.py` runs each in a fresh process and collects them. "
              "Raw output of the latest run: `.bench-cache/logs/<benchmark>.log`.",
              "* Comparisons run both sides in one process (tracking, staging, lineage vs "
              "networkx) or in one run, alternating (Airflow, Prefect), so machine noise "
              "hits both; ratios are medians of per-round ratios.",
              "* The 1,000,000-edge catalogs are generated once and cached (`.bench-cache/`, "
              "and the `steplineage_bench_lineage_*` databases on 127.0.0.1:5432); delete them "
              "to regenerate, or bump `GENERATOR_VERSION` in `benchmarks/synthetic_catalog.py`.",
              "* A missed target is explained with a profile: `--profile <benchmark>` writes "
              "`.bench-cache/profile-<benchmark>.html` (pyinstrument, from `.venv-bench`).",
              "* The figures depend on the machine and on what else runs on it: compare runs "
              "from one machine, not figures from different ones.", "",
              "## Workloads", ""]
    for bench in BENCHES:
        if bench.name == "prefect":
            continue  # one docstring covers Airflow and Prefect
        title = ("2. Airflow and Prefect: 50 tasks, tracked vs untracked"
                 if bench.name == "airflow" else bench.title)
        lines += [f"### {title}", "", f"`benchmarks/{bench.script}`", "", _definition(bench),
                  ""]
    path.write_text("\n".join(lines).rstrip() + "\n")


def profile(name: str) -> int:
    """Profile one benchmark (its quick workload) with pyinstrument into .bench-cache/."""
    bench = next((b for b in BENCHES if b.name == name), None)
    if bench is None:
        raise SystemExit(f"no benchmark {name!r}; choose from {[b.name for b in BENCHES]}")
    CACHE.mkdir(exist_ok=True)
    if name == "tracking":  # profiles steplineage's steps only, not the comparators
        cmd = [_python_for(bench), str(HERE / bench.script), "--backend", "sqlite", "--profile",
               "--steps", "300"]
        return subprocess.run(cmd, cwd=ROOT).returncode
    out = CACHE / f"profile-{name}.html"
    env = dict(os.environ)
    python = _python_for(bench)
    check = subprocess.run([python, "-c", "import pyinstrument"], capture_output=True)
    if check.returncode != 0:
        # .venv lacks pyinstrument: borrow .venv-bench's copy (same Python, no dependencies)
        # through a directory that holds nothing else, so no other package is shadowed
        found = list((ROOT / ".venv-bench" / "lib").glob("python*/site-packages/pyinstrument"))
        if not found:
            raise SystemExit("--profile needs pyinstrument: run `make bench-venv` first")
        shim = CACHE / "pyinstrument-path"
        shim.mkdir(exist_ok=True)
        link = shim / "pyinstrument"
        if not link.exists():
            link.symlink_to(found[0])
        env["PYTHONPATH"] = str(shim) + os.pathsep + env.get("PYTHONPATH", "")
    session = out.with_suffix(".pyisession")
    cmd = [python, "-m", "pyinstrument", "-r", "pyisession", "-o", str(session),
           str(HERE / bench.script), *bench.quick]
    code = subprocess.run(cmd, cwd=ROOT, env=env).returncode
    load = [python, "-m", "pyinstrument", "--load", str(session)]
    subprocess.run([*load, "-r", "html", "-o", str(out)], cwd=ROOT, env=env, check=True)
    subprocess.run([*load, "-r", "text", "--unicode", "-o", str(out.with_suffix(".txt"))],
                   cwd=ROOT, env=env, check=True)
    print(f"profile written: {out} (and .txt)")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smaller workloads, < 3 minutes")
    mode.add_argument("--tiny", action="store_true", help="seconds; for the smoke test")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--no-bench-venv", action="store_true",
                        help="run the tracking comparison in this interpreter, without the "
                             "comparators that need .venv-bench")
    parser.add_argument("--profile", metavar="NAME", help="pyinstrument profile of one benchmark")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the report ('-' for nowhere); default "
                             "docs/performance.md, or nowhere with --only (a partial run must "
                             "not replace the whole page)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    global USE_BENCH_VENV
    USE_BENCH_VENV = not args.no_bench_venv
    if args.profile:
        return profile(args.profile)
    mode_name = "quick" if args.quick else "tiny" if args.tiny else "full"
    chosen = [b for b in BENCHES if not args.only or b.name in args.only.split(",")]
    unknown = set(filter(None, args.only.split(","))) - {b.name for b in BENCHES}
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}; choose from "
                         f"{[b.name for b in BENCHES]}")
    log_dir = CACHE / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    rows: list[Row] = []
    took: dict[str, float] = {}
    for bench in chosen:
        print(f"running {bench.name} ({mode_name}) ...", flush=True)
        bench_rows, took[bench.name] = run_bench(bench, mode_name, log_dir)
        rows += bench_rows
    print_table(rows, f"steplineage benchmarks ({mode_name}, {started:%Y-%m-%d %H:%M} UTC)")
    output = args.output or (None if args.only else ROOT / "docs" / "performance.md")
    if output is not None and str(output) != "-":
        write_markdown(output, rows, mode_name, took, started)
        print(f"wrote {output}")
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(r) for r in rows], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
