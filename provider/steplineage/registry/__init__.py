"""The registry: model runs registered after the fact, workflow templates, model-run CSV,
pipeline configs, agents and the health check (Provena's and Watcher's features).

Everything is reached through the :class:`~steplineage.catalog.catalog.Catalog`
(its :class:`~steplineage.registry.mixin.RegistryMixin` methods) and the
public names in ``steplineage``.
"""
