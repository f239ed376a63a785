"""Helpers of the OpenLineage tests: the official-schema validator, event builders, emission.

Not a conftest.py (other directories import their own ``conftest``); test
modules import what they use from here.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from steplineage.openlineage.facets import load_schema, schema_files
from ui_server import VENV_BIN, running_ui  # noqa: F401 - VENV_BIN is used by the tests

SPEC = Path(__file__).parent / "spec"
CORE_URIS = ("https://openlineage.io/spec/2-0-0/OpenLineage.json",
             "https://openlineage.io/spec/2-0-2/OpenLineage.json",
             "https://openlineage.io/spec/1-0-2/OpenLineage.json")
#: facet key -> (schema $id, definition) for every facet steplineage emits
FACETS = {
    "parent": ("https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json", "ParentRunFacet"),
    "errorMessage": ("https://openlineage.io/spec/facets/1-0-0/ErrorMessageRunFacet.json",
                     "ErrorMessageRunFacet"),
    "version": ("https://openlineage.io/spec/facets/1-0-0/DatasetVersionDatasetFacet.json",
                "DatasetVersionDatasetFacet"),
    "steplineage_checksums": ("https://steplineage.io/spec/facets/1-0-0/"
                              "ChecksumsDatasetFacet.json", "ChecksumsDatasetFacet"),
    "steplineage_metrics": ("https://steplineage.io/spec/facets/1-0-0/MetricsRunFacet.json",
                            "MetricsRunFacet"),
    "steplineage_execution": ("https://steplineage.io/spec/facets/1-0-0/ExecutionRunFacet.json",
                              "ExecutionRunFacet"),
}


@lru_cache(maxsize=1)
def _registry() -> Registry:
    core = json.loads((SPEC / "OpenLineage-2-0-0.json").read_text())
    resources = [(uri, Resource.from_contents(core)) for uri in CORE_URIS]
    for path in (SPEC / "facets").glob("*.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    for name in schema_files():
        schema = load_schema(name)
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def _validator(uri: str, definition: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{uri}#/$defs/{definition}"}, registry=_registry(),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def _uri_problems(value: Any, where: str) -> list[str]:
    # jsonschema checks "uri" only with rfc3987 installed; check the shape ourselves.
    parts = urlsplit(value) if isinstance(value, str) else None
    return [] if parts and parts.scheme and parts.netloc else [f"{where}: {value!r} is not a URI"]


def schema_problems(event: dict[str, Any]) -> list[str]:
    """Every way ``event`` departs from the official RunEvent schema and its facets' schemas."""
    problems = [f"RunEvent {'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in _validator(CORE_URIS[0], "RunEvent").iter_errors(event)]
    problems += _uri_problems(event.get("producer"), "producer")
    problems += _uri_problems(event.get("schemaURL"), "schemaURL")
    facet_sets = [("run", event["run"].get("facets", {})), ("job", event["job"].get("facets", {}))]
    facet_sets += [(f"{side}[{i}]", d.get("facets", {}))
                   for side in ("inputs", "outputs") for i, d in enumerate(event.get(side, []))]
    for where, facets in facet_sets:
        for key, facet in facets.items():
            problems += _uri_problems(facet.get("_producer"), f"{where}.{key}._producer")
            problems += _uri_problems(facet.get("_schemaURL"), f"{where}.{key}._schemaURL")
            if key in FACETS:
                problems += [f"{where}.{key} {'/'.join(map(str, e.absolute_path))}: {e.message}"
                             for e in _validator(*FACETS[key]).iter_errors(facet)]
    return problems


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The events openlineage-python's file transport wrote (append mode: one per line)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@contextmanager
def emitting(transport: dict[str, Any]) -> Iterator[None]:
    """Turn emission on for catalogs made inside the block, through ``transport``."""
    with mock.patch.dict(os.environ, {"STEPLINEAGE_OPENLINEAGE": "true",
                                      "STEPLINEAGE_OPENLINEAGE_TRANSPORT": json.dumps(transport)}):
        yield


def run_event(event_type: str, run_id: str, job: str, minute: int, *,
              parent: tuple[str, str] | None = None, inputs: tuple[str, ...] = (),
              outputs: tuple[str, ...] = (), facets: dict[str, Any] | None = None,
              namespace: str = "other-producer") -> dict[str, Any]:
    """A RunEvent as a foreign producer would send it (file datasets, no checksums)."""
    run_facets: dict[str, Any] = dict(facets or {})
    if parent is not None:
        run_facets["parent"] = {"_producer": "https://example.com/p",
                                "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/"
                                              "ParentRunFacet.json#/$defs/ParentRunFacet",
                                "run": {"runId": parent[0]},
                                "job": {"namespace": namespace, "name": parent[1]}}
    return {"eventType": event_type, "eventTime": f"2024-05-01T10:{minute:02d}:00.000Z",
            "producer": "https://example.com/producer/1.0",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": run_id, "facets": run_facets},
            "job": {"namespace": namespace, "name": job, "facets": {}},
            "inputs": [{"namespace": "file", "name": n, "facets": {}} for n in inputs],
            "outputs": [{"namespace": "file", "name": n, "facets": {}} for n in outputs]}


def new_run() -> str:
    """A fresh run id."""
    return str(uuid.uuid4())


# -- servers ---------------------------------------------------------------------------


@contextmanager
def steplineage_ui(log: Path, port: int, token: str, *catalog_args: str) -> Iterator[str]:
    """``steplineage ui`` in a subprocess on ``port``; yields its base URL; stopped by pid."""
    with running_ui(log, "--port", str(port), "--token", token, *catalog_args) as url:
        yield url.split("/login")[0]


class Recorder(ThreadingHTTPServer):
    """A real HTTP endpoint that keeps every POSTed body (an OpenLineage backend stand-in)."""

    def __init__(self, port: int):
        self.bodies: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(handler) -> None:  # noqa: N805 - the handler instance
                length = int(handler.headers.get("Content-Length", 0))
                self.bodies.append(json.loads(handler.rfile.read(length)))
                handler.send_response(200)
                handler.send_header("Content-Length", "0")
                handler.end_headers()

            def log_message(handler, *args: Any) -> None:  # noqa: N805
                pass

        super().__init__(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
