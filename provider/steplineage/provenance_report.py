"""Where the provenance report was before it joined its renderers in ``steplineage.export``.

Kept so ``from steplineage.provenance_report import write_provenance_report`` keeps
working; new code imports :mod:`steplineage.export.provenance`.

Example:
    >>> from steplineage.provenance_report import build_provenance_report
    >>> build_provenance_report.__module__
    'steplineage.export.provenance'
"""

from steplineage.export.provenance import (AgentItem, DataItem, ProvenanceReport, StepItem,
                                           ValueItem, build_provenance_report,
                                           write_provenance_report)

__all__ = ["AgentItem", "DataItem", "ProvenanceReport", "StepItem", "ValueItem",
           "build_provenance_report", "write_provenance_report"]
