"""Baseline for ``bench/extract.py``: load the KPro sandbox into DuckDB with dlt's ``rest_api``.

Runs in its own virtual environment (``bench/.venv-dlt``, see ``bench/README.md``): dlt is
never a leadkit dependency. ``bench/extract.py`` starts this script as a subprocess, measures
its wall time and peak RSS from outside, and counts the rows it loaded; the script itself
prints one JSON line with dlt's own stage timings (extract, normalize, load).

The settings are dlt's best for this API, found by trying them (``docs/benchmarks.md``):

- ``rest_api`` source, one resource ``kpro_leads``, ``data_selector = "data"``, the API key
  as the ``api_key`` query parameter, ``sort=createdAt`` and ``size`` as for leadkit;
- ``page_number`` paginator, ``base_page = 1``, ``total_path = "pagination.lastPage"``
  (dlt stops after the last page without requesting an empty one);
- ``parallelized=True`` passed to ``rest_api_source`` (the next page is fetched in a
  worker thread while dlt buffers the previous one). The same key on a resource in the
  config dict is accepted by dlt 1.31.0 but has no effect (every request ran on the main
  thread); it is set there too, harmlessly;
- optionally ``--partitions K``: K resources over disjoint page ranges (``page`` and
  ``maximum_page``) writing one table, so K requests are in flight at once — not what a
  ``rest_api`` user writes by default, but the only way to get concurrent requests from it;
- ``write_disposition`` ``append`` (default) or ``merge`` on ``primary_key = "id"``;
- ``loader_file_format="parquet"`` (``bench/extract.py`` passes it; dlt's DuckDB default,
  ``insert_values``, took minutes to load 100,000 leads here);
- ``DATA_WRITER__DISABLE_COMPRESSION=true`` unless ``--compress`` (gzip of the
  intermediate files costs seconds and saves nothing on one machine);
- ``EXTRACT__WORKERS``, ``NORMALIZE__WORKERS``, ``LOAD__WORKERS``,
  ``DATA_WRITER__BUFFER_MAX_ITEMS`` and ``DATA_WRITER__FILE_MAX_ITEMS`` from the options
  (``bench/extract.py``: 2 normalize workers, files rotated every 20,000 items);
  telemetry off (the machine has no internet).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="sandbox URL, http://127.0.0.1:PORT")
    parser.add_argument("--api-key-env", default="KPRO_API_KEY", help="variable with the key")
    parser.add_argument("--workdir", required=True, help="pipelines dir and DuckDB file go here")
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--write-disposition", choices=("append", "merge"), default="append")
    parser.add_argument("--partitions", type=int, default=1, help="resources over page ranges")
    parser.add_argument("--no-parallelized", dest="parallelized", action="store_false")
    parser.add_argument("--extract-workers", type=int, default=5)
    parser.add_argument("--normalize-workers", type=int, default=1)
    parser.add_argument("--load-workers", type=int, default=20)
    parser.add_argument("--buffer-max-items", type=int, default=5000)
    parser.add_argument("--file-max-items", type=int, default=0, help="0 = no rotation")
    parser.add_argument(
        "--loader-file-format", default="", help="e.g. parquet, jsonl (default: dlt's)"
    )
    parser.add_argument(
        "--compress", action="store_true", help="keep dlt's gzip of intermediate files"
    )
    parser.add_argument(
        "--max-table-nesting", type=int, default=None, help="dlt's default: 1000 (flatten all)"
    )
    return parser.parse_args(argv)


def configure(args: argparse.Namespace) -> None:
    """dlt reads its configuration from the environment: set it before importing dlt."""
    settings = {
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "RUNTIME__LOG_LEVEL": "WARNING",
        "DLT_DATA_DIR": os.path.join(args.workdir, "dlt-data"),
        "EXTRACT__WORKERS": str(args.extract_workers),
        "NORMALIZE__WORKERS": str(args.normalize_workers),
        "LOAD__WORKERS": str(args.load_workers),
        "DATA_WRITER__BUFFER_MAX_ITEMS": str(args.buffer_max_items),
    }
    if not args.compress:
        settings["DATA_WRITER__DISABLE_COMPRESSION"] = "true"
    if args.file_max_items:
        settings["DATA_WRITER__FILE_MAX_ITEMS"] = str(args.file_max_items)
    os.environ.update(settings)


def total_pages(args: argparse.Namespace, api_key: str) -> int:
    """Ask for one lead to learn the number of pages (only needed to partition)."""
    import requests

    url = f"{args.base_url.rstrip('/')}/api/bulk/open/leads"
    params: dict[str, Any] = {"api_key": api_key, "size": args.page_size, "sort": "createdAt"}
    response = requests.get(url, params=params, timeout=60)
    response.raise_for_status()
    return int(response.json()["pagination"]["lastPage"])


def page_ranges(pages: int, parts: int) -> list[tuple[int, int]]:
    """Split pages 1..pages into ``parts`` contiguous ranges [first, stop)."""
    parts = max(1, min(parts, pages))
    bounds = [1 + pages * i // parts for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(parts) if bounds[i] < bounds[i + 1]]


def build_source(args: argparse.Namespace, api_key: str) -> Any:
    from dlt.sources.rest_api import rest_api_source

    params = {"api_key": api_key, "size": args.page_size, "sort": "createdAt"}

    def resource(name: str, first: int = 1, stop: int | None = None) -> dict[str, Any]:
        paginator: dict[str, Any] = {
            "type": "page_number",
            "base_page": 1,
            "page": first,
            "page_param": "page",
            "total_path": "pagination.lastPage",
        }
        if stop is not None:
            paginator["maximum_page"] = stop
        return {
            "name": name,
            "table_name": "kpro_leads",
            "write_disposition": args.write_disposition,
            "primary_key": "id",
            "parallelized": args.parallelized,
            **(
                {}
                if args.max_table_nesting is None
                else {"max_table_nesting": args.max_table_nesting}
            ),
            "endpoint": {
                "path": "api/bulk/open/leads",
                "params": dict(params),
                "data_selector": "data",
                "paginator": paginator,
            },
        }

    if args.partitions > 1:
        ranges = page_ranges(total_pages(args, api_key), args.partitions)
        resources = [resource(f"kpro_leads_{i}", a, b) for i, (a, b) in enumerate(ranges)]
    else:
        resources = [resource("kpro_leads")]
    config: Any = {"client": {"base_url": args.base_url.rstrip("/") + "/"}, "resources": resources}
    return rest_api_source(config, name="kpro", parallelized=args.parallelized)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure(args)
    api_key = os.environ[args.api_key_env]
    started = time.perf_counter()
    import dlt

    imported = time.perf_counter()
    pipeline = dlt.pipeline(
        pipeline_name="kpro_bench",
        pipelines_dir=os.path.join(args.workdir, "pipelines"),
        destination=dlt.destinations.duckdb(os.path.join(args.workdir, "dlt.duckdb")),
        dataset_name="kpro",
    )
    source = build_source(args, api_key)
    t0 = time.perf_counter()
    extract_kwargs: dict[str, Any] = {}
    if args.loader_file_format:
        extract_kwargs["loader_file_format"] = args.loader_file_format
    pipeline.extract(source, **extract_kwargs)
    t1 = time.perf_counter()
    pipeline.normalize()
    t2 = time.perf_counter()
    info = pipeline.load()
    t3 = time.perf_counter()
    info.raise_on_failed_jobs()
    report = {
        "dlt_version": dlt.__version__,
        "import_s": round(imported - started, 3),
        "extract_s": round(t1 - t0, 3),
        "normalize_s": round(t2 - t1, 3),
        "load_s": round(t3 - t2, 3),
        "database": os.path.join(args.workdir, "dlt.duckdb"),
        "table": "kpro.kpro_leads",
    }
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
