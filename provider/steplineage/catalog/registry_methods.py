"""``RegistryMixin``: the registry's methods on :class:`~steplineage.catalog.catalog.Catalog`.

Each method is a thin call into its :mod:`steplineage.registry` module (imported
on first use, so ``import steplineage`` stays light), passing the catalog where
the module needs facade services (:mod:`steplineage.registry.ports`) and only
the store where that is all it needs; the modules hold the logic.

Example:
    >>> import steplineage as sl, tempfile
    >>> cat = sl.Catalog(home=tempfile.mkdtemp())
    >>> cat.health().ok
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.registry.agents import AgentKind, AgentLink, AgentRecord
    from steplineage.registry.health import HealthReport
    from steplineage.registry.model_runs import BatchResult, ModelRunInfo, ModelRunRecord
    from steplineage.registry.pipelines import PipelineConfig, PipelineRecord
    from steplineage.registry.templates import WorkflowTemplate

__all__ = ["RegistryMixin"]


class RegistryMixin:
    """Workflow templates, model runs, CSV, pipelines, agents and health on a catalog."""

    def _cat(self) -> Catalog:
        return self  # type: ignore[return-value]

    # -- workflow templates -------------------------------------------------------------

    def add_workflow_template(self, template: WorkflowTemplate) -> WorkflowTemplate:
        """Register a workflow template (idempotent); returns it with its id.

        Example:
            >>> cat.add_workflow_template(sl.WorkflowTemplate(name="m")).name  # doctest: +SKIP
            'm'
        """
        from steplineage.registry.templates import add_workflow_template

        return add_workflow_template(self._cat(), template)

    def get_workflow_template(self, name_or_id: str) -> WorkflowTemplate:
        """A registered workflow template by name or id.

        Example:
            >>> cat.get_workflow_template("flood-model").inputs[0].kind  # doctest: +SKIP
            <SlotKind.dataset: 'dataset'>
        """
        from steplineage.registry.templates import get_workflow_template

        return get_workflow_template(self._cat().store, name_or_id)

    def list_workflow_templates(self) -> list[WorkflowTemplate]:
        """Every registered workflow template, by name.

        Example:
            >>> [t.name for t in cat.list_workflow_templates()]  # doctest: +SKIP
            ['flood-model']
        """
        from steplineage.registry.templates import list_workflow_templates

        return list_workflow_templates(self._cat().store)

    # -- model runs ---------------------------------------------------------------------

    def register_model_run(self, record: ModelRunRecord | dict[str, Any]) -> str:
        """Register one model run (checked against its template); returns its execution id.

        Raises:
            ModelRunValidationError: every problem with the record; nothing written.

        Example:
            >>> run_id = cat.register_model_run(record)  # doctest: +SKIP
        """
        from steplineage.registry.registration import register_one

        return register_one(self._cat(), record)

    def register_batch_model_runs(self, records: Sequence[ModelRunRecord | dict[str, Any]],
                                  batch_id: str | None = None) -> BatchResult:
        """Register many model runs in one transaction: all of them, or none.

        A client-chosen ``batch_id`` makes a retry safe: a batch id already in the
        catalog returns that batch rather than registering the runs twice.

        Raises:
            ModelRunValidationError: every problem, by row number (1 = first record).

        Example:
            >>> result = cat.register_batch_model_runs([rec1, rec2])  # doctest: +SKIP
            >>> result.batch_id, len(result.run_ids)  # doctest: +SKIP
        """
        from steplineage.registry.registration import register_batch

        return register_batch(self._cat(), records, batch_id=batch_id)

    def update_model_run(self, run_id: str, reason: str,
                         record: ModelRunRecord | dict[str, Any]) -> ModelRunInfo:
        """Replace a model run's record; the earlier one is kept with ``reason``.

        Example:
            >>> cat.update_model_run(run_id, "wrong rainfall version", fixed).revision  # doctest: +SKIP
            2
        """
        from steplineage.registry.registration import update_run

        return update_run(self._cat(), run_id, reason, record)

    def get_model_run(self, run_id: str) -> ModelRunInfo:
        """A registered model run: current record, batch, and audit trail.

        Example:
            >>> [h.reason for h in cat.get_model_run(run_id).history]  # doctest: +SKIP
            ['wrong rainfall version']
        """
        from steplineage.registry.registration import get_model_run

        return get_model_run(self._cat().store, run_id)

    # -- CSV ----------------------------------------------------------------------------

    def generate_csv_template(self, template: WorkflowTemplate | str,
                              path: str | Path | None = None) -> str:
        """The model-run CSV header of ``template`` (see ``steplineage.generate_csv_template``).

        Example:
            >>> cat.generate_csv_template("flood-model", "runs.csv")  # doctest: +SKIP
        """
        from steplineage.registry.csv_io import generate_csv_template

        return generate_csv_template(self._cat(), template, path)

    def import_model_runs_csv(self, path: str | Path) -> BatchResult:
        """Register a model-run CSV as one batch (see ``steplineage.import_model_runs_csv``).

        Example:
            >>> cat.import_model_runs_csv("runs.csv").batch_id  # doctest: +SKIP
        """
        from steplineage.registry.csv_io import import_model_runs_csv

        return import_model_runs_csv(self._cat(), path)

    def regenerate_csv_from_batch(self, batch_id: str, path: str | Path | None = None) -> str:
        """A batch as CSV (see ``steplineage.regenerate_csv_from_batch``).

        Example:
            >>> cat.regenerate_csv_from_batch(batch_id, "batch.csv")  # doctest: +SKIP
        """
        from steplineage.registry.csv_io import regenerate_csv_from_batch

        return regenerate_csv_from_batch(self._cat(), batch_id, path)

    # -- pipelines ----------------------------------------------------------------------

    def sync_pipeline_config(self, config: PipelineConfig) -> PipelineRecord:
        """Create or update a pipeline; returns its id and current ``active`` flag.

        Example:
            >>> synced = cat.sync_pipeline_config(sl.PipelineConfig(name="orders"))  # doctest: +SKIP
            >>> synced.id, synced.active  # doctest: +SKIP
        """
        from steplineage.registry.pipelines import sync_pipeline_config

        return sync_pipeline_config(self._cat(), config)

    def get_pipeline(self, name_or_id: str) -> PipelineRecord:
        """A pipeline by id or name.

        Example:
            >>> cat.get_pipeline("orders").active  # doctest: +SKIP
            True
        """
        from steplineage.registry.pipelines import get_pipeline

        return get_pipeline(self._cat().store, name_or_id)

    def list_pipelines(self) -> list[PipelineRecord]:
        """Every pipeline, by name.

        Example:
            >>> [p.name for p in cat.list_pipelines()]  # doctest: +SKIP
            ['orders']
        """
        from steplineage.registry.pipelines import list_pipelines

        return list_pipelines(self._cat().store)

    def set_pipeline_active(self, name_or_id: str, active: bool) -> PipelineRecord:
        """Switch a pipeline on or off (off: runs are recorded as skipped, not run).

        Example:
            >>> cat.set_pipeline_active("orders", False).active  # doctest: +SKIP
            False
        """
        from steplineage.registry.pipelines import set_pipeline_active

        return set_pipeline_active(self._cat().store, name_or_id, active)

    # -- agents and health --------------------------------------------------------------

    def list_agents(self, kind: AgentKind | None = None) -> list[AgentRecord]:
        """Registered agents (optionally of one kind: person, organisation, service).

        Example:
            >>> [a.name for a in cat.list_agents(kind="organisation")]  # doctest: +SKIP
            ['CSIRO']
        """
        from steplineage.registry.agents import list_agents

        return list_agents(self._cat().store, kind)

    def agents_of(self, execution_id: str) -> list[AgentLink]:
        """The agents linked to an execution, with their roles.

        Example:
            >>> [(a.agent.name, a.role) for a in cat.agents_of(run_id)]  # doctest: +SKIP
            [('Ada Lovelace', 'modeller')]
        """
        from steplineage.registry.agents import agents_of

        return agents_of(self._cat().store, execution_id)

    def health(self) -> HealthReport:
        """Catalog reachability, schema version, object store and spool state (never raises).

        Example:
            >>> cat.health().ok  # doctest: +SKIP
            True
        """
        from steplineage.registry.health import check_health

        return check_health(self._cat())
