"""Checking model-run records against their templates and resolving every id, in bulk.

All records of a batch are checked before anything is written, with one query
per kind of id (datasets, assets, agents, templates), so a 10,000-run batch
costs a handful of lookups. Every problem is collected with its row label;
the caller raises them together.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from steplineage.store import orm
from steplineage.errors import SteplineageError
from steplineage.models import ResourceRef
from steplineage.registry.model_runs import ModelRunRecord, parse_record
from steplineage.registry.templates import SlotKind, TemplateSlot, WorkflowTemplate, template_id
from steplineage.store.versions import placeholder_hash

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog

__all__ = ["Plan", "PlannedEdge", "Resolver"]

_CHUNK = 500
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
VersionKey = tuple[str, str, str, str]  # resource_id, subpath ('' = whole), hash, kind


@dataclass
class PlannedEdge:
    role: str
    resource_id: str | None = None
    subpath: str | None = None
    version: VersionKey | None = None
    asset_id: str | None = None
    dataset_version_id: str | None = None


@dataclass
class Plan:
    """One record, checked: what to write for it."""

    run_id: str
    record: ModelRunRecord
    template: WorkflowTemplate
    workflow_id: str
    edges: list[PlannedEdge] = field(default_factory=list)
    agents: list[tuple[str, str]] = field(default_factory=list)  # (agent_id, role)


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(values))
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


def split_dataset(value: str) -> tuple[str, int | None]:
    """``name@3`` -> ("name", 3); ``name`` -> ("name", None)."""
    name, sep, version = value.rpartition("@")
    if sep and version.isdigit():
        return name, int(version)
    return value, None


@functools.lru_cache(maxsize=4096)  # inputs repeat across a batch; ResourceRef validates
def split_ref(value: str) -> tuple[ResourceRef, str | None]:
    """``raw:jan.csv@<sha256>`` -> (ResourceRef("raw", "jan.csv"), "<sha256>")."""
    body, sep, digest = value.rpartition("@")
    if not (sep and _SHA256.match(digest)):
        body, digest = value, None
    name, _, sub = body.partition(":")
    return ResourceRef(name, sub or None), digest


class Resolver:
    """Checks records and resolves their ids inside one session."""

    def __init__(self, catalog: Catalog, session: Session):
        self.catalog = catalog
        self.s = session

    def plan(self, raws: Sequence[ModelRunRecord | dict[str, Any]], labels: Sequence[str],
             run_ids: Sequence[str] | None = None) -> tuple[list[Plan], list[str]]:
        """Plans for every record, and every problem found (empty when all are fine)."""
        by_row: list[list[str]] = [[] for _ in raws]  # reported in row order
        records: list[ModelRunRecord | None] = []
        for raw, label, found_problems in zip(raws, labels, by_row):
            try:
                records.append(parse_record(raw))
            except ValidationError as exc:
                records.append(None)
                found_problems += [
                    f"{label}: {'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}"
                    for e in exc.errors()]
        good = [r for r in records if r is not None]
        templates = self._templates({r.template for r in good})
        slot_maps = {name: {(d, s.name): s for d in ("inputs", "outputs")
                            for s in getattr(t, d)} for name, (t, _) in templates.items()}
        values = [(kind, v) for r in good for kind, v in self._values(r, slot_maps)]
        datasets = self._datasets({split_dataset(v)[0] for kind, v in values
                                   if kind is SlotKind.dataset})
        assets = self._assets({v for kind, v in values if kind is SlotKind.asset})
        agents = self._agents({a for r in good for a in r.agents.values()})
        resources = {r.name: r.id for r in self.catalog.list_resources()}
        current: dict[tuple[str, str], VersionKey] = {}
        plans: list[Plan] = []
        for i, (record, label) in enumerate(zip(records, labels)):
            if record is None:
                continue
            problems = by_row[i]
            found = templates.get(record.template)
            if found is None:
                problems.append(f"{label}: unknown workflow template {record.template!r}; "
                                "register it with cat.add_workflow_template(...)")
                continue
            template, workflow_id = found
            slots = slot_maps[record.template]
            run_id = run_ids[i] if run_ids else str(uuid.uuid4())
            plan = Plan(run_id, record, template, workflow_id)
            before = len(problems)
            for direction in ("inputs", "outputs"):
                given: dict[str, str] = getattr(record, direction)
                for slot in getattr(template, direction):
                    if slot.required and not given.get(slot.name):
                        problems.append(f"{label}: required {direction[:-1]} slot "
                                        f"{slot.name!r} ({slot.kind.value}) is missing")
                for name, value in given.items():
                    slot = slots.get((direction, name))
                    if slot is None:
                        known = ", ".join(s.name for s in getattr(template, direction))
                        problems.append(f"{label}: template {template.name!r} has no "
                                        f"{direction[:-1]} slot {name!r} (known: "
                                        f"{known or 'none'})")
                        continue
                    edge = self._edge(slot, value, direction, run_id, datasets, assets,
                                      resources, current, problems, label)
                    if edge is not None:
                        plan.edges.append(edge)
            allowed = set(template.required_annotations) | set(template.optional_annotations)
            problems += [f"{label}: required annotation {k!r} is missing"
                         for k in template.required_annotations if not record.annotations.get(k)]
            problems += [f"{label}: annotation {k!r} is not declared by template "
                         f"{template.name!r} (declared: {', '.join(sorted(allowed)) or 'none'})"
                         for k in record.annotations if k not in allowed]
            problems += [f"{label}: annotation {k!r} is empty; leave it out instead"
                         for k, v in record.annotations.items() if k in allowed and v == ""
                         and k not in template.required_annotations]
            for role, name in record.agents.items():
                if template.agent_roles and role not in template.agent_roles:
                    problems.append(f"{label}: agent role {role!r} is not one of template "
                                    f"{template.name!r}'s roles ({', '.join(template.agent_roles)})")
                elif name not in agents:
                    problems.append(f"{label}: unknown agent {name!r} (role {role!r}); register "
                                    f"it with cat.add_agent({name!r}, kind='person')")
                elif any(a == agents[name] for a, _ in plan.agents):
                    problems.append(f"{label}: agent {name!r} is given twice; an agent has one "
                                    "role per run")
                else:
                    plan.agents.append((agents[name], role))
            if len(problems) == before:
                plans.append(plan)
        return plans, [p for row in by_row for p in row]

    # -- one slot value ---------------------------------------------------------------

    def _edge(self, slot: TemplateSlot, value: str, direction: str, run_id: str,
              datasets: dict[str, dict[int, str]], assets: dict[str, set[str]],
              resources: dict[str, str], current: dict[tuple[str, str], VersionKey],
              problems: list[str], label: str) -> PlannedEdge | None:
        role = "input" if direction == "inputs" else "output"
        where = f"{label}: {role} slot {slot.name!r}"
        if slot.kind is SlotKind.dataset:
            name, version = split_dataset(value)
            versions = datasets.get(name)
            if not versions:
                problems.append(f"{where}: unknown dataset {name!r} (or it has no version yet); "
                                f"create it with cat.create_dataset({name!r}) and "
                                "cat.add_dataset_version(...)")
                return None
            number = version if version is not None else max(versions)
            if number not in versions:
                problems.append(f"{where}: dataset {name!r} has no version {number} "
                                f"(it has {', '.join(map(str, sorted(versions)))})")
                return None
            return PlannedEdge(role, dataset_version_id=versions[number])
        if slot.kind is SlotKind.asset:
            types = assets.get(value)
            if types is None:
                problems.append(f"{where}: unknown asset id {value!r}; upload the file first "
                                "(exe.asset_file_path(...)) and use the asset's id")
                return None
            if slot.asset_types and not types & set(slot.asset_types):
                problems.append(f"{where}: asset {value!r} has type(s) "
                                f"{', '.join(sorted(types)) or 'none'}, the slot takes "
                                f"{', '.join(slot.asset_types)}")
                return None
            return PlannedEdge(role, asset_id=value)
        try:
            ref, digest = split_ref(value)
        except SteplineageError as exc:
            problems.append(f"{where}: {value!r} is not resource[:subpath][@sha256] ({exc})")
            return None
        resource_id = resources.get(ref.name)
        if resource_id is None:
            problems.append(f"{where}: unknown resource {ref.name!r}; register it with "
                            f"cat.add_resource({ref.name!r}, uri=..., role=...)")
            return None
        sub = ref.subpath or ""
        if digest is not None:
            key: VersionKey = (resource_id, sub, digest, "sha256")
        elif role == "output":
            # Written by this run, content unknown here: a placeholder unique to the run.
            key = (resource_id, sub, placeholder_hash(ref, run_id), "placeholder")
        else:
            key = current.get((resource_id, sub)) or self._current(ref, resource_id)
            current[(resource_id, sub)] = key
        return PlannedEdge(role, resource_id=resource_id, subpath=ref.subpath, version=key)

    def _current(self, ref: ResourceRef, resource_id: str) -> VersionKey:
        """What the catalog last knew the ref to hold (as ``current_version`` without hashing:
        a registered run's files need not be on this machine)."""
        sub = ref.subpath or ""
        latest = self.s.scalars(
            select(orm.Version).join(orm.LineageEdge, orm.LineageEdge.version_id == orm.Version.id)
            .where(orm.Version.resource_id == resource_id, orm.Version.subpath == sub,
                   orm.LineageEdge.role == "output", orm.LineageEdge.valid.is_(True))
            .order_by(orm.LineageEdge.created_at.desc()).limit(1)).first()
        if latest is not None:
            return (resource_id, sub, latest.hash, latest.kind)
        return (resource_id, sub, placeholder_hash(ref, "initial"), "placeholder")

    # -- bulk lookups -----------------------------------------------------------------

    @staticmethod
    def _values(record: ModelRunRecord,
                slot_maps: dict[str, dict[tuple[str, str], TemplateSlot]]
                ) -> Iterable[tuple[SlotKind, str]]:
        slots = slot_maps.get(record.template)
        if slots is None:
            return
        for direction in ("inputs", "outputs"):
            for name, value in getattr(record, direction).items():
                slot = slots.get((direction, name))
                if slot is not None:
                    yield slot.kind, value

    def _templates(self, names: set[str]) -> dict[str, tuple[WorkflowTemplate, str]]:
        out: dict[str, tuple[WorkflowTemplate, str]] = {}
        for name in names:
            row = self.s.get(orm.WorkflowTemplate, name) or self.s.get(orm.WorkflowTemplate,
                                                                       template_id(name))
            if row is not None:
                out[name] = (WorkflowTemplate(name=row.name, description=row.description,
                                              id=row.id, **row.definition), row.workflow_id)
        return out

    def _datasets(self, names: set[str]) -> dict[str, dict[int, str]]:
        out: dict[str, dict[int, str]] = {}
        for chunk in _chunks(names):
            for name, number, dv_id in self.s.execute(
                    select(orm.Dataset.name, orm.DatasetVersion.version, orm.DatasetVersion.id)
                    .join(orm.DatasetVersion, orm.DatasetVersion.dataset_id == orm.Dataset.id)
                    .where(orm.Dataset.name.in_(chunk))):
                out.setdefault(name, {})[number] = dv_id
        return out

    def _assets(self, ids: set[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for chunk in _chunks(ids):
            for asset_id, type_name in self.s.execute(
                    select(orm.Asset.id, orm.AssetTypeLink.type_name)
                    .outerjoin(orm.AssetTypeLink, orm.AssetTypeLink.asset_id == orm.Asset.id)
                    .where(orm.Asset.id.in_(chunk))):
                types = out.setdefault(asset_id, set())
                if type_name is not None:
                    types.add(type_name)
        return out

    def _agents(self, names: set[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(names):
            out.update(self.s.execute(select(orm.Agent.name, orm.Agent.id)
                                      .where(orm.Agent.name.in_(chunk))).all())
        return out
