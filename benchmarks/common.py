"""What every benchmark shares: result rows, statistics, PostgreSQL databases, profiles.

A benchmark module measures and returns :class:`Row` objects; ``run.py`` collects
them (each benchmark in its own process), prints one table and writes
docs/performance.md. A row holds one value per repeated run (a round), so the
report can show min/median/max over runs, plus the target it is held to.

Example:
    >>> row = Row("tracking", "p50 per step", "ms", [1.2, 1.0, 1.4], target="<= 2")
    >>> row.summary()["median"], row.met()
    (1.2, True)
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import shutil
import statistics
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Generated catalogs, the large staging file, logs and profiles (gitignored).
CACHE = Path(os.environ.get("STEPLINEAGE_BENCH_CACHE") or ROOT / ".bench-cache")
# Databases the benchmarks make on the PostgreSQL server start with this.
DB_PREFIX = os.environ.get("STEPLINEAGE_BENCH_DB_PREFIX", "steplineage_bench")
PG_ADMIN_URL = os.environ.get("STEPLINEAGE_BENCH_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ROWS_MARK = "STEPLINEAGE-BENCH-ROWS "  # a worker's last stdout line: this + JSON rows


@dataclasses.dataclass
class Row:
    """One measured figure: a value per repeated run, and what it is held to.

    ``target`` reads like ``"<= 2"`` or ``">= 10000"`` (in ``unit``); ``ratio`` is
    free text comparing with an alternative measured in the same process; a row
    with ``values=[]`` and a ``note`` says why it was not measured.
    """

    section: str
    label: str
    unit: str
    values: list[float]
    target: str = ""
    ratio: str = ""
    note: str = ""

    def summary(self) -> dict[str, float]:
        """min / median / max over the runs."""
        if not self.values:
            return {}
        return {"min": min(self.values), "median": statistics.median(self.values),
                "max": max(self.values)}

    def met(self) -> bool | None:
        """Whether the median meets the target (None: no target or not measured)."""
        if not self.target or not self.values:
            return None
        op, _, bound = self.target.partition(" ")
        median, limit = statistics.median(self.values), float(bound)
        return median <= limit if op == "<=" else median >= limit


def private_home(name: str, parent: Path | None = None) -> Path:
    """A temporary work dir for one benchmark process, removed at exit, whose ``home/`` is
    STEPLINEAGE_HOME (and no STEPLINEAGE_CATALOG_URL leaks in): every figure starts from an
    empty embedded catalog."""
    work = Path(tempfile.mkdtemp(prefix=f"sl-bench-{name}-", dir=parent))
    atexit.register(shutil.rmtree, work, True)
    os.environ["STEPLINEAGE_HOME"] = str(work / "home")
    os.environ.pop("STEPLINEAGE_CATALOG_URL", None)
    return work


def percentile(samples: Sequence[float], pct: int) -> float:
    """The ``pct`` percentile (1-99) of ``samples``, interpolated between ranks."""
    if len(samples) == 1:
        return float(samples[0])
    return statistics.quantiles(samples, n=100, method="inclusive")[pct - 1]


def ratio_text(ours: Sequence[float], theirs: Sequence[float], who: str) -> str:
    """"<who> N.N× cheaper" (or dearer) from per-round paired costs, ``ours`` being who's.

    The ratio is the median of the per-round ratios, so both sides of a pair saw
    the same machine noise.
    """
    pairs = [(a, b) for a, b in zip(ours, theirs, strict=False) if a > 0 and b > 0]
    if not pairs:
        return ""
    r = statistics.median(b / a for a, b in pairs)
    return f"{who} {r:.1f}× cheaper" if r >= 1 else f"{who} {1 / r:.1f}× dearer"


def emit(rows: list[Row]) -> None:
    """Print the rows for ``run.py`` (one marked JSON line) and as plain text for humans."""
    for row in rows:
        s = row.summary()
        shown = (f"min {s['min']:.3g} / median {s['median']:.3g} / max {s['max']:.3g} {row.unit}"
                 if s else f"not measured: {row.note}")
        print(f"  {row.section:>12} | {row.label}: {shown}"
              + (f" (target {row.target} {row.unit})" if row.target else "")
              + (f" [{row.ratio}]" if row.ratio else ""))
    print(ROWS_MARK + json.dumps([dataclasses.asdict(r) for r in rows]), flush=True)


def parse_rows(stdout: str) -> list[Row]:
    """The rows a worker printed with :func:`emit` (the last marked line)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(ROWS_MARK):
            return [Row(**r) for r in json.loads(line[len(ROWS_MARK):])]
    return []


def pg_database(name: str, fresh: bool, template: str | None = None) -> str | None:
    """URL of database ``name`` on the benchmark PostgreSQL, migrated; None if unreachable.

    ``fresh`` drops and re-creates it; otherwise an existing one is kept (a cache).
    ``template`` names a migrated database to copy (much faster than migrating).
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from steplineage.store import engine as engines

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}).first() is not None
            if exists and fresh:
                # the name comes from this module, never from input; identifiers can't be bound
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            if fresh or not exists:
                copy = f' TEMPLATE "{template}"' if template else ""
                conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no PostgreSQL"
        print(f"PostgreSQL at {PG_ADMIN_URL} unavailable: {exc}")
        return None
    finally:
        admin.dispose()
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    if template:
        return url
    eng = engines.create_catalog_engine(url)
    engines.upgrade(eng)
    eng.dispose()
    return url


def drop_pg_database(name: str) -> None:
    """Drop a scratch benchmark database (ignored when PostgreSQL is unreachable)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with contextlib.suppress(Exception), admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextlib.contextmanager
def profiled(name: str | None, enabled: bool) -> Iterator[None]:
    """Profile the block with pyinstrument into .bench-cache/profile-<name>.{html,txt}."""
    if not enabled:
        yield
        return
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("--profile needs pyinstrument (it is in .venv-bench: make bench builds it)")
        yield
        return
    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        CACHE.mkdir(exist_ok=True)
        html = CACHE / f"profile-{name}.html"
        html.write_text(profiler.output_html())
        (CACHE / f"profile-{name}.txt").write_text(profiler.output_text(unicode=True))
        print(f"profile written: {html} (and .txt)")
