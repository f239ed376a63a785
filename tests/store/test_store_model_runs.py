"""Model-run writes in the store on SQLite and PostgreSQL: a batch id another writer took."""

from __future__ import annotations

import steplineage as sl
from steplineage.store.model_runs import insert_batch
from steplineage.store.registry import find_batch


def test_a_taken_batch_id_leaves_the_transaction_usable(catalog: sl.Catalog) -> None:
    # register_batch checks for the id first; a concurrent retry that commits between
    # that check and the insert is what insert_batch reports (False) without failing
    # the transaction, so the caller can read the winner's batch.
    template = catalog.add_workflow_template(sl.WorkflowTemplate(name="m"))
    assert template.id is not None
    with catalog.store.session() as s:
        assert insert_batch(s, "b1", template.id, 1)
    with catalog.store.session() as s:
        assert not insert_batch(s, "b1", template.id, 3)
        assert insert_batch(s, "b2", template.id, 2)
    first, second = find_batch(catalog.store, "b1"), find_batch(catalog.store, "b2")
    assert first is not None and second is not None
    assert (first.size, second.size, first.run_ids) == (1, 2, ())
