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

from steplineage.errors import SteplineageError
from steplineage.models import ResourceRecord, ResourceRef
from steplineage.registry.model_runs import ModelRunRecord, parse_record
from steplineage.registry.templates import (SlotKind, TemplateSlot, WorkflowTemplate,
                                            from_stored, template_id)
from steplineage.store.model_runs import NewRun, RunEdge, VersionKey
from steplineage.store.versions import placeholder_hash

if TYPE_CHECKING:
    from steplineage.store.registry import RunLookups

__all__ = ["Plan", "Resolver"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Plan:
    """One record, checked: what to write for it."""

    run_id: str
    record: ModelRunRecord
    template: WorkflowTemplate
    workflow_id: str
    edges: list[RunEdge] = field(default_factory=list)
    agents: list[tuple[str, str]] = field(default_factory=list)  # (agent_id, role)

    def new_run(self) -> NewRun:
        """The run as the store writes it."""
        r = self.record
        assert self.template.id is not None  # planned from a stored template
        return NewRun(run_id=self.run_id, workflow_id=self.workflow_id,
                      template_id=self.template.id, template_name=self.template.name,
                      name=r.display_name, description=r.description, start_time=r.start_time,
                      end_time=r.end_time, parameters=r.annotations,
                      record=r.model_dump(mode="json"), edges=self.edges, agents=self.agents)


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
    """Checks records and resolves their ids inside the transaction that writes them.

    Args:
        lookups: the store's bulk lookups in that transaction.
        resources: every registered resource (the facade's cached list).
    """

    def __init__(self, lookups: RunLookups, resources: Sequence[ResourceRecord]):
        self.lookups = lookups
        self.resources = {r.name: r.id for r in resources}

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
        datasets = self.lookups.dataset_versions({split_dataset(v)[0] for kind, v in values
                                                  if kind is SlotKind.dataset})
        assets = self.lookups.asset_types({v for kind, v in values if kind is SlotKind.asset})
        agents = self.lookups.agent_ids({a for r in good for a in r.agents.values()})
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
                                      current, problems, label)
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
              current: dict[tuple[str, str], VersionKey], problems: list[str],
              label: str) -> RunEdge | None:
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
            return RunEdge(role, dataset_version_id=versions[number])
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
            return RunEdge(role, asset_id=value)
        try:
            ref, digest = split_ref(value)
        except SteplineageError as exc:
            problems.append(f"{where}: {value!r} is not resource[:subpath][@sha256] ({exc})")
            return None
        resource_id = self.resources.get(ref.name)
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
        else:  # what the catalog last knew the ref to hold (looked up once per ref)
            if (resource_id, sub) not in current:
                hash_, kind = self.lookups.current_hash(resource_id, ref)
                current[(resource_id, sub)] = (resource_id, sub, hash_, kind)
            key = current[(resource_id, sub)]
        return RunEdge(role, resource_id=resource_id, subpath=ref.subpath, version=key)

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
        for name in names:  # a batch names one template, rarely a few
            row = self.lookups.template(name, template_id(name))
            if row is not None:
                out[name] = (from_stored(row), row.workflow_id)
        return out
