"""Every notebook in notebooks/ runs top to bottom against the sandbox-built warehouse
(every system extracted, a sample pushed), and is committed without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

#: Run after each notebook, in its kernel: what it showed equals SQL over the real tables.
CHECKS = {
    "01_getting_started": """
assert set(by_source["system"]) == {"carehome", "kpro", "ovipro"}
assert by_source["leads"].sum() == wh.sql("SELECT count(*) AS n FROM leads")["n"][0]
assert result.total == wh.sql(
    "SELECT count(*) AS n FROM kpro_leads WHERE created_at >= '2021-03-01 00:00+00' "
    "AND eligibility_status IN ('passed', 'considered')"
)["n"][0] > 0
""",
    "02_lead_sources": """
truth = wh.sql("SELECT source, count(*) AS n FROM leads GROUP BY source")
assert dict(zip(volume["source"], volume["leads"])) == dict(truth.iter_rows())
assert set(volume["system"]) == {"carehome", "kpro", "ovipro"}
care = mix.filter(pl.col("source") == "carehome_uk")
names = wh.sql("SELECT category_name, count(*) AS n FROM carehome_leads GROUP BY 1")
assert dict(zip(care["category"], care["leads"])) == dict(names.iter_rows())
assert abs(care["share"].sum() - 1) < 0.01
""",
}


def test_the_notebooks_exist() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert "01_getting_started.ipynb" in names
    assert "02_lead_sources.ipynb" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    dirty = [
        i
        for i, cell in enumerate(book.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} keep outputs or execution counts; clear them "
        "(Jupyter: Edit → Clear All Outputs, or "
        f"`jupyter nbconvert --clear-output --inplace {path.relative_to(ROOT)}`)"
    )


# jupyter_client and zmq warn about their own event-loop use; only theirs is ignored.
@pytest.mark.filterwarnings("ignore::DeprecationWarning:jupyter_client.*")
@pytest.mark.filterwarnings("ignore::DeprecationWarning:zmq.*")
@pytest.mark.filterwarnings("ignore::RuntimeWarning:zmq.*")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(
    path: Path, notebook_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADKIT_CONFIG", str(notebook_config))
    book = nbformat.read(path, as_version=4)
    book.cells.append(nbformat.v4.new_code_cell(CHECKS[path.stem]))
    client = NotebookClient(
        book,
        timeout=60,
        startup_timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        out
        for cell in book.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
    assert all(c.get("execution_count") for c in book.cells if c.cell_type == "code")
