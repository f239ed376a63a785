"""A provenance report for one execution or one dataset version (Provena's generate_report).

:func:`build_provenance_report` gathers, from the catalog and its lineage queries,
what a reviewer needs to trust a result: the subject's facts, its inputs and
outputs with their checksums, the steps that led to it, the agents involved,
parameters, metrics and results. The report is a pydantic value; the renderers
in :mod:`steplineage.export.report_html` and :mod:`steplineage.export.report_docx`
turn it into an HTML page or a Word document.

Subjects are named as ``execution:<id>``, ``dataset_version:<id>``, a bare id of
either, ``<dataset>@<version>`` or a dataset name (its latest version).

Example:
    >>> report = build_provenance_report(cat, exe.id)  # doctest: +SKIP
    >>> write_provenance_report(cat, exe.id, "provenance.docx")  # doctest: +SKIP
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from steplineage.local.atomic import write_text
from steplineage.errors import NotFoundError
from steplineage.store import reports

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.lineage.graph import LineageGraph, LineageNode
    from steplineage.models import ExecutionRecord

__all__ = ["AgentItem", "DataItem", "ProvenanceReport", "StepItem", "ValueItem",
           "build_provenance_report", "write_provenance_report"]


class DataItem(BaseModel):
    """An input, output or member: what it is and the checksum of the version involved."""

    model_config = ConfigDict(frozen=True)

    role: str = Field(description="input, code, output, member or upstream.")
    kind: str = Field(description="ref version, asset or dataset version.")
    name: str = Field(description="Ref (resource:subpath), asset table/filename or dataset vN.")
    checksum: str = Field(description="sha256 (or placeholder / dataset version id).")
    md5: str | None = Field(default=None, description="md5 of an asset file.")
    length: int | None = Field(default=None, description="Size in bytes when known.")
    valid: bool | None = Field(default=None, description="Outputs: registered as valid.")
    node_id: str | None = Field(default=None, description="Lineage node id.")
    step: str | None = Field(default=None, description="Execution that read or wrote it.")


class StepItem(BaseModel):
    """An execution that is, or led to, the subject."""

    model_config = ConfigDict(frozen=True)

    relation: str = Field(description="this, child, producer or upstream.")
    id: str
    name: str
    status: str
    workflow: str = ""
    started: datetime | None = None
    duration_seconds: float | None = None


class AgentItem(BaseModel):
    """A person, organisation or service associated with the subject's steps."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str
    steps: list[str] = Field(default_factory=list, description="Names of their executions.")


class ValueItem(BaseModel):
    """One parameter, metric or result value of one step (flattened key)."""

    model_config = ConfigDict(frozen=True)

    step: str
    key: str
    value: str


class ProvenanceReport(BaseModel):
    """Everything a provenance report shows; render with ``to_html()`` or ``write_docx()``."""

    model_config = ConfigDict(frozen=True)

    subject_kind: Literal["execution", "dataset_version"]
    subject_id: str
    title: str
    generated_at: datetime
    catalog: str = Field(description="Catalog URL (password hidden).")
    facts: list[tuple[str, str]] = Field(description="Key facts about the subject, in order.")
    inputs: list[DataItem] = Field(default_factory=list)
    outputs: list[DataItem] = Field(default_factory=list)
    steps: list[StepItem] = Field(default_factory=list)
    agents: list[AgentItem] = Field(default_factory=list)
    parameters: list[ValueItem] = Field(default_factory=list)
    metrics: list[ValueItem] = Field(default_factory=list)
    results: list[ValueItem] = Field(default_factory=list)
    history: list[tuple[str, str, str]] = Field(
        default_factory=list, description="(time, status, message) of the subject execution.")

    def to_html(self) -> str:
        """The report as a standalone, escaped HTML page.

        Example:
            >>> Path("provenance.html").write_text(report.to_html())  # doctest: +SKIP
        """
        from steplineage.export.report_html import report_to_html

        return report_to_html(self)

    def write_docx(self, path: str | Path) -> Path:
        """Write the report as a Word document; returns the path.

        Example:
            >>> report.write_docx("provenance.docx")  # doctest: +SKIP
        """
        from steplineage.export.report_docx import write_report_docx

        return write_report_docx(self, Path(path))


def write_provenance_report(catalog: Catalog, subject: str, path: str | Path,
                            fmt: Literal["html", "docx"] | None = None) -> Path:
    """Build the report for ``subject`` and write it as HTML or .docx (default: by suffix).

    Example:
        >>> write_provenance_report(cat, "release@2", "release-v2.docx")  # doctest: +SKIP
    """
    path = Path(path)
    fmt = fmt or ("docx" if path.suffix.lower() == ".docx" else "html")
    report = build_provenance_report(catalog, subject)
    if fmt == "docx":
        return report.write_docx(path)
    write_text(path, report.to_html(), durable=True)
    return path


def build_provenance_report(catalog: Catalog, subject: str) -> ProvenanceReport:
    """Gather the provenance of one execution or dataset version.

    Raises:
        NotFoundError: nothing in the catalog is named ``subject``.

    Example:
        >>> build_provenance_report(cat, f"execution:{exe.id}").inputs[0].checksum  # doctest: +SKIP
        '5d41402a...'
    """
    kind, catalog_id = resolve_subject(catalog, subject)
    if kind == "execution":
        return _execution_report(catalog, catalog_id)
    return _dataset_report(catalog, catalog_id)


def resolve_subject(catalog: Catalog, subject: str) -> tuple[str, str]:
    """``("execution" | "dataset_version", id)`` for any accepted way of naming a subject.

    Example:
        >>> resolve_subject(cat, "release@1")  # doctest: +SKIP
        ('dataset_version', '0c5e...')
    """
    from steplineage.store.datasets import dataset_members
    from steplineage.store.executions import get_execution

    kind, sep, rest = subject.partition(":")
    store = catalog.store
    if sep and kind == "execution" and get_execution(store, rest) is not None:
        return "execution", rest
    if sep and kind == "dataset_version" and reports.dataset_version_exists(store, rest):
        return "dataset_version", rest
    if get_execution(store, subject) is not None:
        return "execution", subject
    if reports.dataset_version_exists(store, subject):
        return "dataset_version", subject
    name, at, number = subject.rpartition("@") if "@" in subject else (subject, "", "")
    if reports.dataset_exists(store, name):
        if at and not number.isdigit():
            raise NotFoundError(f"dataset version {number!r} in {subject!r} must be a "
                                f"number, e.g. {name}@1")
        try:
            return "dataset_version", dataset_members(store, name, int(number) if at else None).id
        except NotFoundError:
            raise NotFoundError(f"dataset {name!r} has no version "
                                f"{number or '(none yet)'}") from None
    raise NotFoundError(f"nothing to report on named {subject!r}: pass an execution id, "
                        "'execution:<id>', 'dataset_version:<id>', '<dataset>@<version>' or a "
                        "dataset name")


# -- helpers --------------------------------------------------------------------------


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def _flatten(step: str, values: dict[str, Any] | None, prefix: str = "") -> list[ValueItem]:
    items: list[ValueItem] = []
    for key in sorted(values or {}):
        value = (values or {})[key]
        if isinstance(value, dict) and value:
            items.extend(_flatten(step, value, f"{prefix}{key}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True,
                                                                    default=str)
            items.append(ValueItem(step=step, key=f"{prefix}{key}", value=text))
    return items


def _data_item(node: LineageNode, role: str, valid: bool | None = None,
               step: str | None = None) -> DataItem:
    a = node.attrs
    common = {"role": role, "name": node.label, "valid": valid, "node_id": node.id, "step": step}
    if node.kind == "version":
        return DataItem(kind="ref version", checksum=a.get("hash", ""), length=a.get("length"),
                        **common)
    if node.kind == "asset":
        return DataItem(kind="asset", checksum=a.get("sha256", ""), md5=a.get("md5"),
                        length=a.get("length"), **common)
    return DataItem(kind="dataset version", checksum=f"dataset_version:{node.catalog_id}",
                    **common)


def _io(catalog: Catalog, execution_id: str, step: str) -> tuple[list[DataItem], list[DataItem]]:
    """Inputs (data and code) and outputs of one execution, with checksums."""
    root = f"execution:{execution_id}"
    up = catalog.lineage.upstream(root, depth=1)
    down = catalog.lineage.downstream(root, depth=1)
    nodes = {n.id: n for n in up.nodes}
    inputs = [_data_item(nodes[e.source], "code" if e.relation == "code" else "input",
                         step=step)
              for e in up.edges if e.target == root and e.relation in ("used", "code")]
    made = {e.target for e in down.edges if e.source == root}
    outputs = [_data_item(n, "output", valid=True, step=step) for n in down.nodes
               if n.id in made]
    return inputs, outputs + _invalid_outputs(catalog, execution_id, step)


def _workflow_names(catalog: Catalog, ids: set[str | None]) -> dict[str, str]:
    return {w.id: w.name + (f" {w.version}" if w.version else "")
            for w in reports.workflows_by_id(catalog.store, ids).values()}


def _step(relation: str, record: ExecutionRecord, workflows: dict[str, str]) -> StepItem:
    return StepItem(relation=relation, id=record.id, name=record.name,
                    status=record.status.value,
                    workflow=workflows.get(record.workflow_id or "", ""),
                    started=record.start_time, duration_seconds=record.duration_seconds)


def _agents(graph: LineageGraph) -> list[AgentItem]:
    names = {n.id: n.label for n in graph.nodes}
    items = []
    for agent in graph.of_kind("agent"):
        steps = sorted({names[e.target] for e in graph.edges
                        if e.source == agent.id and e.relation == "associated"})
        items.append(AgentItem(name=agent.label, kind=str(agent.attrs.get("agent_kind", "")),
                               steps=steps))
    return sorted(items, key=lambda a: a.name)


def _upstream_steps(catalog: Catalog, graph: LineageGraph, skip: set[str],
                    producers: set[str]) -> list[ExecutionRecord]:
    """Executions in ``graph`` except ``skip``: direct producers first, then by start time."""
    records = [catalog.get_execution(n.catalog_id) for n in graph.of_kind("execution")
               if n.catalog_id not in skip]
    return sorted(records, key=lambda r: (r.id not in producers,
                                          r.start_time or r.created_at, r.name))


def _producers(graph: LineageGraph, entity_ids: set[str]) -> set[str]:
    """Catalog ids of the executions that generated any of ``entity_ids``."""
    return {e.source.partition(":")[2] for e in graph.edges
            if e.relation == "generated" and e.target in entity_ids}


def _base(catalog: Catalog, kind: str, subject_id: str, title: str,
          facts: list[tuple[str, Any]]) -> dict[str, Any]:
    return {"subject_kind": kind, "subject_id": subject_id, "title": title,
            "generated_at": datetime.now(timezone.utc),
            "catalog": catalog.store.identity,
            "facts": [(k, str(v)) for k, v in facts if v not in (None, "")]}


# -- the two kinds of subject ---------------------------------------------------------


def _execution_report(catalog: Catalog, execution_id: str) -> ProvenanceReport:
    record = catalog.get_execution(execution_id)
    graph = catalog.lineage.upstream(f"execution:{execution_id}")
    inputs, outputs = _io(catalog, execution_id, record.name)
    children = sorted(catalog.list_executions(parent_id=execution_id, limit=None),
                      key=lambda c: (c.start_time or c.created_at, c.name))
    # A pipeline's own inputs/outputs are its steps': what they read from outside the
    # pipeline, and everything they wrote.
    child_io = [_io(catalog, c.id, c.name) for c in children]
    made_inside = {o.node_id for _, outs in child_io for o in outs if o.node_id}
    for child_inputs, child_outputs in child_io:
        inputs += [i for i in child_inputs if i.node_id not in made_inside]
        outputs += child_outputs
    producers = _producers(graph, {i.node_id for i in inputs if i.node_id})
    upstream = _upstream_steps(catalog, graph, {execution_id}, producers)
    workflows = _workflow_names(catalog, {r.workflow_id for r in [record, *children, *upstream]})
    steps = [_step("this", record, workflows)]
    steps += [_step("child", c, workflows) for c in children]
    steps += [_step("producer" if r.id in producers else "upstream", r, workflows)
              for r in upstream]

    workflow = catalog.get_workflow(record.workflow_id) if record.workflow_id else None
    o = record.orchestrator
    facts: list[tuple[str, Any]] = [
        ("Execution", record.id), ("Name", record.name),
        ("Status", f"{record.status.value}" + (f" ({record.status_message})"
                                                if record.status_message else "")),
        ("Description", record.description),
        ("Workflow", f"{workflow.name} ({workflow.workflow_type})" if workflow else None),
        ("Workflow version", workflow.version if workflow else None),
        ("Workflow URL", workflow.url if workflow else None),
        ("Workflow checksum", workflow.checksum if workflow else None),
        ("Parent execution", record.parent_id), ("Created", _iso(record.created_at)),
        ("Started", _iso(record.start_time)), ("Stopped", _iso(record.stop_time)),
        ("Duration (s)", f"{record.duration_seconds:.3f}"
         if record.duration_seconds is not None else None),
        ("Host", record.host), ("User", record.user), ("Working dir", record.working_dir),
        ("Watermark", record.watermark), ("Next watermark", record.next_watermark),
        ("Orchestrator", o.orchestrator),
        *[(label, getattr(o, field)) for field, label in (
            ("dag_id", "DAG"), ("run_id", "Run"), ("task_id", "Task"),
            ("map_index", "Map index"), ("try_number", "Try"), ("flow_run_id", "Flow run"),
            ("task_run_id", "Task run"), ("run_count", "Run count"))],
    ]
    title = f"Provenance of execution {record.name}"
    return ProvenanceReport(
        **_base(catalog, "execution", record.id, title, facts),
        inputs=inputs, outputs=outputs, steps=steps, agents=_agents(graph),
        parameters=[v for r in [record, *children] for v in _flatten(r.name, r.parameters)],
        metrics=[v for r in [record, *children] for v in _flatten(r.name, r.metrics)],
        results=[v for r in [record, *children] for v in _flatten(r.name, r.results)],
        history=[(_iso(h.at), h.status.value, h.message) for h in record.history])


def _invalid_outputs(catalog: Catalog, execution_id: str, step: str) -> list[DataItem]:
    """Declared outputs a failed or aborted run never made valid (not in lineage walks)."""
    items = []
    for edge in catalog.list_edges(execution_id, role="output"):
        if edge.valid:
            continue
        name = str(edge.ref) if edge.ref is not None else (edge.asset_id or "")
        items.append(DataItem(role="output", kind="ref version" if edge.ref else "asset",
                              name=name, checksum=edge.version_hash or "", valid=False,
                              step=step))
    return items


def _dataset_report(catalog: Catalog, dataset_version_id: str) -> ProvenanceReport:
    root = f"dataset_version:{dataset_version_id}"
    graph = catalog.lineage.upstream(root)
    nodes = {n.id: n for n in graph.nodes}
    member_ids = {e.source for e in graph.edges if e.target == root and e.relation == "member"}
    members = [_data_item(nodes[m], "member") for m in sorted(
        member_ids, key=lambda m: nodes[m].label)]
    data_upstream = [_data_item(n, "upstream") for n in graph.of_kind(
        "version", "asset", "dataset_version") if n.id != root and n.id not in member_ids]
    producers = _producers(graph, member_ids)
    records = _upstream_steps(catalog, graph, set(), producers)
    workflows = _workflow_names(catalog, {r.workflow_id for r in records})
    users = catalog.lineage.downstream(root, depth=1).of_kind("execution")

    dv = reports.dataset_version_info(catalog.store, dataset_version_id)
    name, version, description, created = dv.dataset, dv.version, dv.description, dv.created_at
    facts: list[tuple[str, Any]] = [
        ("Dataset", name), ("Version", version), ("Dataset version id", dataset_version_id),
        ("Description", description), ("Created", _iso(created)),
        ("Members", len(members)),
        ("Used by", ", ".join(f"{n.label} ({n.catalog_id[:8]})" for n in users)),
    ]
    params = [v for r in records for v in _flatten(r.name, r.parameters)]
    metrics = [v for r in records for v in _flatten(r.name, r.metrics)]
    results = [v for r in records for v in _flatten(r.name, r.results)]
    return ProvenanceReport(
        **_base(catalog, "dataset_version", dataset_version_id,
                f"Provenance of dataset {name} v{version}", facts),
        inputs=data_upstream, outputs=members,
        steps=[_step("producer" if r.id in producers else "upstream", r, workflows)
               for r in records],
        agents=_agents(graph), parameters=params, metrics=metrics, results=results)
