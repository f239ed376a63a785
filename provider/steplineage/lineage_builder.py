"""``LineageBuilder``: declare a step's lineage by chaining calls (Data Workspaces' shape).

Example:
    >>> lineage = (sl.LineageBuilder(cat).as_script_step()       # doctest: +SKIP
    ...            .with_parameters({"gamma": 0.001})
    ...            .with_input_path("/data/intermediate/features.csv")
    ...            .as_results_step("/data/results/run-1").eval())
    >>> with lineage as exe:                                      # doctest: +SKIP
    ...     exe.write_results({"accuracy": 0.93})
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steplineage.errors import ConfigurationError
from steplineage.models import ExecutionConfig, InputSpec, ResourceRef, WorkflowType

if TYPE_CHECKING:
    from steplineage.catalog.catalog import Catalog
    from steplineage.tracking.execution import Execution

__all__ = ["LineageBuilder"]


class LineageBuilder:
    """Collects a step's name, parameters, inputs, code and results location.

    Every ``with_*``/``as_*`` call returns the builder; :meth:`eval` checks the
    declaration and returns an :class:`~steplineage.tracking.execution.Execution` ready
    to be entered. Misuse (inputs and ``with_no_inputs`` together, a setting
    given twice, no parameters) raises :class:`ConfigurationError` saying how
    to fix the chain.

    Args:
        catalog: the catalog to record in; default ``sl.Catalog()``.
    """

    def __init__(self, catalog: Catalog | None = None):
        self._catalog = catalog
        self._step_name: str | None = None
        self._script: Path | None = None
        self._command_line: list[str] | None = None
        self._parameters: dict[str, Any] | None = None
        self._inputs: list[InputSpec] | None = None
        self._no_inputs = False
        self._code: list[InputSpec] = []
        self._results: InputSpec | None = None
        self._run_description: str | None = None

    def _once(self, what: str, current: object) -> None:
        if current is not None:
            raise ConfigurationError(f"LineageBuilder: {what} was already given; call it once")

    def with_catalog(self, catalog: Catalog) -> LineageBuilder:
        """Record into this catalog."""
        self._catalog = catalog
        return self

    def as_script_step(self, script: str | Path | None = None) -> LineageBuilder:
        """Name the step after the running script and record the script as its code."""
        self._once("the step name", self._step_name)
        script_path = Path(script or sys.argv[0]).resolve()
        self._step_name = script_path.stem
        self._script = script_path if script_path.is_file() else None
        self._command_line = [sys.executable, *sys.argv]
        return self

    def with_step_name(self, step_name: str) -> LineageBuilder:
        """Name the step explicitly."""
        self._once("the step name", self._step_name)
        self._step_name = step_name
        return self

    def with_parameters(self, parameters: dict[str, Any]) -> LineageBuilder:
        """The step's parameters (required; pass {} for none)."""
        self._once("with_parameters()", self._parameters)
        self._parameters = dict(parameters)
        return self

    def _add_inputs(self, specs: list[InputSpec]) -> LineageBuilder:
        if self._no_inputs:
            raise ConfigurationError("LineageBuilder: with_no_inputs() was called; a step "
                                     "either has inputs or declares it has none, not both")
        self._inputs = (self._inputs or []) + specs
        return self

    def with_input_path(self, path: str | Path) -> LineageBuilder:
        """A local path read by the step (resolved to the resource containing it)."""
        return self._add_inputs([path])

    def with_input_paths(self, paths: list[str | Path]) -> LineageBuilder:
        """Several local paths read by the step."""
        return self._add_inputs(list(paths))

    def with_input_ref(self, ref: ResourceRef) -> LineageBuilder:
        """A ref read by the step."""
        return self._add_inputs([ref])

    def with_no_inputs(self) -> LineageBuilder:
        """Declare that the step reads nothing (exclusive with the input methods)."""
        if self._inputs is not None:
            raise ConfigurationError("LineageBuilder: inputs were already given; "
                                     "with_no_inputs() cannot be combined with them")
        self._no_inputs = True
        return self

    def with_code_path(self, path: str | Path) -> LineageBuilder:
        """A local code path the step runs (must lie in a registered resource)."""
        self._code.append(path)
        return self

    def with_code_ref(self, ref: ResourceRef) -> LineageBuilder:
        """A code ref the step runs."""
        self._code.append(ref)
        return self

    def as_results_step(self, results_dir: str | Path | ResourceRef,
                        run_description: str | None = None) -> LineageBuilder:
        """The step writes results (``write_results`` puts results.json there)."""
        self._once("as_results_step()", self._results)
        self._results = results_dir
        self._run_description = run_description
        return self

    def eval(self) -> Execution:
        """Check the declaration and create the execution (enter it to run).

        Raises:
            ConfigurationError: parameters, inputs or the step name are missing.
        """
        if self._parameters is None:
            raise ConfigurationError("LineageBuilder: call with_parameters({...}) before eval() "
                                     "(with_parameters({}) if the step has none)")
        if self._inputs is None and not self._no_inputs:
            raise ConfigurationError("LineageBuilder: declare inputs with with_input_path()/"
                                     "with_input_ref(), or with_no_inputs(), before eval()")
        step_name = self._step_name
        if step_name is None and self._code:
            first = self._code[0]
            base = first.subpath if isinstance(first, ResourceRef) else str(first)
            step_name = Path(base or "").stem or None
        if step_name is None:
            raise ConfigurationError("LineageBuilder: no step name; call as_script_step() or "
                                     "with_step_name('...'), or give a code path")
        catalog = self._catalog
        if catalog is None:
            from steplineage.catalog.catalog import Catalog

            catalog = Catalog()
        workflow = catalog.add_workflow(step_name, WorkflowType.script, source=self._script)
        parameters = dict(self._parameters)
        if self._command_line:
            parameters.setdefault("command_line", self._command_line)
        config = ExecutionConfig(workflow=workflow, name=step_name, inputs=self._inputs or [],
                                 code=self._code, parameters=parameters, results=self._results,
                                 description=self._run_description or "")
        return catalog.create_execution(config)
