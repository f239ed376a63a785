"""The registry: model runs registered after the fact, workflow templates, model-run CSV,
pipeline configs, agents and the health check (Provena's and Watcher's features).

Everything is reached through :class:`steplineage.Catalog` (the methods its
``RegistryMixin`` adds) and the public names in ``steplineage``. The modules
here hold the checks and decisions; the SQL is in ``steplineage.store``
(``registry``, ``model_runs``, ``pipelines``, ``agents``, ``probe``), and what
they need of the catalog is declared in :mod:`~steplineage.registry.ports`.
"""
