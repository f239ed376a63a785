"""The catalog: ORM tables, engines and migrations, and the :class:`Catalog` API."""
