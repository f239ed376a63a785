"""Workflow templates: what a model run of a workflow must say (Provena's templates).

A template declares the workflow's input and output *slots* (name, kind,
required or optional, allowed asset types), the annotations every run must or
may carry, and the roles agents may play. Model runs registered against it are
checked slot by slot before anything is written.

Example:
    >>> import steplineage as sl, tempfile
    >>> cat = sl.Catalog(home=tempfile.mkdtemp())
    >>> t = cat.add_workflow_template(sl.WorkflowTemplate(
    ...     name="flood-model", inputs=[sl.TemplateSlot(name="rainfall", kind="dataset")],
    ...     outputs=[sl.TemplateSlot(name="depths", kind="ref")],
    ...     required_annotations=["region"]))
    >>> [s.name for s in t.inputs]
    ['rainfall']
"""

from __future__ import annotations

import re
import uuid
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from steplineage.errors import NotFoundError, TemplateError

if TYPE_CHECKING:  # the store is imported where used: the models stay free of SQLAlchemy
    from steplineage.registry.ports import RegistryCatalog
    from steplineage.store.registry import TemplateRow
    from steplineage.store.store import Store

__all__ = ["SlotKind", "TemplateSlot", "WorkflowTemplate", "add_workflow_template",
           "get_workflow_template", "list_workflow_templates"]

_NAMESPACE = uuid.UUID("0b9f6c1e-3a57-4d5e-8f7a-5c2d1e0a9b33")
# Slot, annotation and role names become CSV column names (``input:<name>``), so they
# are kept to characters every spreadsheet leaves alone.
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class SlotKind(str, Enum):
    """What a slot holds: a dataset version, an asset id, or a resource ref."""

    dataset = "dataset"
    asset = "asset"
    ref = "ref"


def _check_names(what: str, names: list[str]) -> list[str]:
    problems = [f"{what} {n!r} must be 1-128 letters, digits, '_', '.' or '-'"
                for n in names if not _NAME.match(n)]
    seen: set[str] = set()
    problems += [f"{what} {n!r} is declared twice" for n in names
                 if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    return problems


class _TemplateModel(BaseModel):
    """Validation problems of templates surface as :class:`TemplateError`, however built."""

    def __init__(self, **data: Any):
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _template_error(exc) from None

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Any:  # noqa: D102 - pydantic's
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise _template_error(exc) from None


def _template_error(exc: ValidationError) -> TemplateError:
    for err in exc.errors():  # model_validate runs __init__, which already said it our way
        if isinstance(err.get("ctx", {}).get("error"), TemplateError):
            return err["ctx"]["error"]
    problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'template'}: "
                         f"{str(e['msg']).removeprefix('Value error, ')}" for e in exc.errors())
    return TemplateError(f"invalid workflow template ({problems})")


class TemplateSlot(_TemplateModel):
    """One input or output of a workflow template.

    Example:
        >>> TemplateSlot(name="model", kind="asset", asset_types=["Trained"]).required
        True
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Slot name; the CSV column is input:<name> / output:<name>.")
    kind: SlotKind = Field(description="dataset (name or name@version), asset (id) or ref "
                                       "(resource[:subpath][@sha256]).")
    required: bool = Field(default=True, description="Every run must fill it.")
    asset_types: list[str] = Field(default_factory=list, description=(
        "For asset slots: the asset must carry one of these types (empty: any)."))
    description: str = Field(default="", description="Shown in docs and CSV help.")


class WorkflowTemplate(_TemplateModel):
    """What every model run of one workflow declares.

    Raises:
        TemplateError: a name is used twice, or a name would not survive a CSV header.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Template (and workflow) name; unique in the catalog.")
    description: str = Field(default="", description="What the workflow does.")
    version: str | None = Field(default=None, description="Version of the model code.")
    inputs: list[TemplateSlot] = Field(default_factory=list, description="Input slots.")
    outputs: list[TemplateSlot] = Field(default_factory=list, description="Output slots.")
    required_annotations: list[str] = Field(default_factory=list,
                                            description="Keys every run must annotate.")
    optional_annotations: list[str] = Field(default_factory=list,
                                            description="Keys a run may annotate.")
    agent_roles: list[str] = Field(default_factory=list, description=(
        "Roles agents may play in a run (e.g. modeller, organisation)."))
    id: str | None = Field(default=None, description="Set once registered.")

    @model_validator(mode="after")
    def _names(self) -> WorkflowTemplate:
        problems = _check_names("template name", [self.name])
        problems += _check_names("input slot", [s.name for s in self.inputs])
        problems += _check_names("output slot", [s.name for s in self.outputs])
        problems += _check_names("annotation", self.required_annotations
                                 + self.optional_annotations)
        problems += _check_names("agent role", self.agent_roles)
        problems += [f"slot {s.name!r}: asset_types only apply to asset slots"
                     for s in self.inputs + self.outputs
                     if s.asset_types and s.kind is not SlotKind.asset]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def slot(self, direction: str, name: str) -> TemplateSlot | None:
        """The input (``direction='inputs'``) or output slot called ``name``."""
        return next((s for s in getattr(self, direction) if s.name == name), None)

    def definition(self) -> dict[str, Any]:
        """The JSON stored in the catalog (everything but name, description and id)."""
        return self.model_dump(mode="json", exclude={"name", "description", "id"})


def template_id(name: str) -> str:
    """The deterministic id of the template called ``name``.

    Example:
        >>> template_id("flood-model")
        '1d439256-15a1-5e13-8578-719149393220'
    """
    return str(uuid.uuid5(_NAMESPACE, name))


def from_stored(row: TemplateRow) -> WorkflowTemplate:
    """The template a stored row holds."""
    return WorkflowTemplate(name=row.name, description=row.description, id=row.id,
                            **row.definition)


def add_workflow_template(catalog: RegistryCatalog, template: WorkflowTemplate
                          ) -> WorkflowTemplate:
    """Register ``template`` (idempotent for an identical one) and its workflow.

    Raises:
        TemplateError: another template of this name exists with other slots.

    Example:
        >>> add_workflow_template(cat, WorkflowTemplate(name="m")).name  # doctest: +SKIP
        'm'
    """
    from steplineage.store.registry import TemplateRow, insert_template

    wf = catalog.add_workflow(template.name, workflow_type="manual", version=template.version,
                              description=template.description)
    existing = from_stored(insert_template(catalog.store, TemplateRow(
        id=template_id(template.name), name=template.name, workflow_id=wf.id,
        description=template.description, definition=template.definition())))
    if existing.model_copy(update={"id": None}) != template.model_copy(update={"id": None}):
        raise TemplateError(
            f"a different workflow template named {template.name!r} is already registered; "
            "templates are fixed once runs may use them: register the new one under another "
            f"name, e.g. {template.name + '-v2'!r}")
    return existing


def get_workflow_template(store: Store, name_or_id: str) -> WorkflowTemplate:
    """A registered template by name or id.

    Raises:
        NotFoundError: no such template.

    Example:
        >>> get_workflow_template(cat.store, "flood-model").version  # doctest: +SKIP
        '2.1'
    """
    from steplineage.store.registry import find_template

    row = find_template(store, name_or_id, template_id(name_or_id))
    if row is None:
        raise NotFoundError(f"no workflow template {name_or_id!r}: register it with "
                            "cat.add_workflow_template(sl.WorkflowTemplate(name=..., ...))")
    return from_stored(row)


def list_workflow_templates(store: Store) -> list[WorkflowTemplate]:
    """Every registered template, by name.

    Example:
        >>> [t.name for t in list_workflow_templates(cat.store)]  # doctest: +SKIP
        ['flood-model']
    """
    from steplineage.store.registry import list_templates

    return [from_stored(r) for r in list_templates(store)]
