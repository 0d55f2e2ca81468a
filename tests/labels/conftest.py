"""Label jobs write their PDFs into a directory of each test's own."""

import pytest


@pytest.fixture(autouse=True)
def jobs_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "LABEL_JOBS_DIR", str(tmp_path / "label-jobs"))
    return tmp_path / "label-jobs"
