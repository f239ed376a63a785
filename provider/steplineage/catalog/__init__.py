"""The catalog facade: :class:`Catalog` wires store, local state and object store from Settings."""
