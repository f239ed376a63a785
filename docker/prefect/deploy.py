"""Register the example flows (flows/etl.py, flows/train.py) with the Prefect server.

Run once by the ``prefect-deploy`` service of docker/compose.yaml: it creates the
process work pool the ``prefect-worker`` service polls, and one deployment per
example flow whose code is read from the mounted flows/ directory. Start a run
from the UI (http://localhost:4200) or with
``prefect deployment run 'etl/etl'`` (or ``'train-model/train'``).
"""

from __future__ import annotations

import asyncio
import os

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists
from prefect.workers.process import ProcessWorker

POOL = os.environ.get("STEPLINEAGE_PREFECT_POOL", "steplineage")
FLOWS_DIR = os.environ.get("STEPLINEAGE_FLOWS_DIR", "/opt/prefect/flows")
# deployment name -> entrypoint (file:function) under FLOWS_DIR
EXAMPLES = {"etl": "etl.py:etl", "train": "train.py:train_model"}


async def ensure_pool() -> None:
    """Create the process work pool unless it exists (the service may run again)."""
    # The process worker's own job template, as `prefect work-pool create --type process` sets.
    template = ProcessWorker.get_default_base_job_template()
    async with get_client() as client:
        try:
            await client.create_work_pool(WorkPoolCreate(name=POOL, type="process",
                                                         base_job_template=template))
        except ObjectAlreadyExists:
            pass


def main() -> None:
    asyncio.run(ensure_pool())
    for name, entrypoint in EXAMPLES.items():
        example = flow.from_source(source=FLOWS_DIR, entrypoint=entrypoint)
        example.deploy(name=name, work_pool_name=POOL, print_next_steps=False)
        print(f"deployment {example.name}/{name} -> work pool {POOL}")


if __name__ == "__main__":
    main()
