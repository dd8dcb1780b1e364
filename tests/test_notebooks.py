"""The notebooks run top to bottom on the demo data, offline, in a real Jupyter kernel (nbclient), and are
committed without outputs."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def demo_data_dir(encoder, movielens_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """What `make demo` leaves: MovieLens synced into a data dir with its own embedded PostgreSQL."""
    from app.config import Settings
    from app.container import Container

    data_dir = tmp_path_factory.mktemp("notebook-data")

    async def sync() -> None:
        c = await Container.create(Settings(data_dir=data_dir), encoder=encoder)
        try:
            await c.sync.run(c.source(str(movielens_export)))
        finally:
            await c.aclose()

    asyncio.run(sync())
    return data_dir


def test_notebooks_are_committed_without_outputs() -> None:
    assert len(NOTEBOOKS) == 4
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path: Path, demo_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROFILE_AI_DATA_DIR", str(demo_data_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()  # raises on any failing cell
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "Traceback" not in text
    assert os.environ["PROFILE_AI_DATA_DIR"] == str(demo_data_dir)
