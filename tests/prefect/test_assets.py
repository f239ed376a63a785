"""Outputs named by URIs are Prefect assets: Prefect's own materialization events fire."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path

import steplineage as sl
from steplineage.prefect import tracked_flow, tracked_task


def test_uri_outputs_fire_prefect_asset_events_with_catalog_checksums(
        sl_home: Path, tmp_path: Path) -> None:
    from prefect.events.clients import get_events_subscriber
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    bucket = f"lake-{uuid.uuid4().hex[:8]}"
    static_key = f"s3://{bucket}/summary.json"
    out = tmp_path / "out"
    out.mkdir()
    file_key = f"file://{out}/table.csv"

    @tracked_task(outputs=["file://{folder}/table.csv"])
    def write_table(folder: str) -> None:
        (Path(folder) / "table.csv").write_text("region,revenue\nnorth,10\n")

    @tracked_task(inputs=["file://{folder}/table.csv"], outputs=[static_key])
    def summarise(folder: str) -> None: ...

    @tracked_flow
    def assets_flow(folder: str) -> None:
        write_table(folder)
        summarise(folder)

    sl.Catalog(home=sl_home).add_resource("out", uri=out, role="results")

    async def run_and_listen() -> dict[str, object]:
        wanted = EventFilter(event=EventNameFilter(prefix=["prefect.asset.materialization."]),
                             resource=EventResourceFilter(id=[file_key, static_key]))
        seen: dict[str, object] = {}
        async with get_events_subscriber(filter=wanted) as events:
            await asyncio.to_thread(assets_flow, str(out))
            while len(seen) < 2:  # the events arrive asynchronously; bounded wait
                event = await asyncio.wait_for(events.__anext__(), timeout=30)
                seen[event.resource.id] = event
        return seen

    seen = asyncio.run(run_and_listen())
    table_event = seen[file_key]
    assert table_event.event == "prefect.asset.materialization.succeeded"
    sha = hashlib.sha256((out / "table.csv").read_bytes()).hexdigest()
    assert table_event.payload["sha256"] == sha
    assert table_event.payload["steplineage_ref"] == "out:table.csv"
    cat = sl.Catalog(home=sl_home)
    (writer,) = [r for r in cat.list_executions(limit=None) if r.name.startswith("write_table")]
    assert table_event.payload["steplineage_execution_id"] == writer.id
    # The reader of the table names it as an upstream asset of what it materialized.
    related = {r.id for r in seen[static_key].related}
    assert file_key in related
    # A URI no resource covers is registered as a resource of its own, so it has lineage too.
    (reader,) = [r for r in cat.list_executions(limit=None) if r.name.startswith("summarise")]
    (output,) = cat.list_edges(reader.id, role="output")
    assert output.valid and output.ref == sl.ResourceRef(f"s3:{bucket}:summary.json")
    assert cat.get_resource(output.ref.name).uri == static_key
