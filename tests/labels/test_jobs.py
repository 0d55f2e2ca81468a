"""The labels page: a print job for a region runs apart from the request, shows its progress and
gives its PDF to the person who asked; nobody else sees it. (Here the job queue runs in Huey's immediate
mode: the task runs inside the request. tests/core/test_jobs.py runs a real queue and worker.)"""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest
from sqlalchemy import func, select

from tests.factories import UserFactory
from webapp.geo.models import Site
from webapp.labels.models import LabelJob


@pytest.fixture
def warehouse(seeded):
    user = UserFactory(role="warehouse", scope_site=seeded.scalar(select(Site).where(Site.code == "KPU-3101")))
    seeded.commit()
    return user


def first_tps(session) -> str:
    return session.scalar(select(Site.code).where(Site.kind == "tps").order_by(Site.code).limit(1))


def test_a_job_prints_the_region_and_its_pdf_downloads(seeded, warehouse, log_in):
    client = log_in(warehouse)
    page = client.get("/labels")
    assert page.status_code == 200 and 'value="KPU-3101"' in page.text  # the user's own site by default
    response = client.post(
        "/labels", data={"region": first_tps(seeded).lower(), "format": "thermal", "site": "KPU-3101"}
    )
    assert response.status_code == 302
    job = client.get(response.headers["Location"])
    assert job.status_code == 200 and "Siap" in job.text and "Unduh PDF" in job.text
    status = client.get(response.headers["Location"] + ".json").json
    assert status["state"] == "done" and status["done"] == status["total"] == 4 and status["percent"] == 100
    with client.get(status["pdf"]) as pdf:
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        assert len(pdfium.PdfDocument(pdf.data)) == 4
        assert "attachment" in pdf.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("region", "site", "message"),
    [
        ("32.73", "KPU-3101", "Wilayah itu di luar wilayah Anda."),
        ("TPS-3201011001001", "KPU-3101", "Tidak ada TPS dengan kode itu di wilayah Anda."),
        ("31.01", "TPS-3101011001001", "Label dicetak di percetakan atau gudang yang aktif."),
        ("31.01", "KPU-3273", "Tidak ada lokasi dengan kode itu di wilayah Anda."),
        ("Pulau Seribu", "KPU-3101", "Kode wilayah atau kode TPS."),
    ],
)
def test_a_job_outside_the_users_area_or_site_is_refused(seeded, warehouse, log_in, region, site, message):
    client = log_in(warehouse)
    response = client.post("/labels", data={"region": region, "format": "a4", "site": site})
    assert response.status_code == 200 and message in response.text
    assert seeded.scalar(select(func.count()).select_from(LabelJob)) == 0


def test_only_the_requester_sees_a_job(seeded, warehouse, log_in, client):
    log_in(warehouse).post("/labels", data={"region": first_tps(seeded), "format": "a4", "site": "KPU-3101"})
    job = seeded.scalar(select(LabelJob))
    client.post("/logout")
    other = UserFactory(role="warehouse", scope_site=seeded.scalar(select(Site).where(Site.code == "KPU-3101")))
    seeded.commit()
    client = log_in(other)
    for path in (f"/labels/jobs/{job.id}", f"/labels/jobs/{job.id}.json", f"/labels/jobs/{job.id}/pdf"):
        assert client.get(path).status_code == 404


@pytest.mark.parametrize("role", ["courier", "officer", "observer", "supervisor"])
def test_only_warehouse_and_admin_print(seeded, log_in, role):
    user = UserFactory(role=role, scope_region_code="31.01")
    seeded.commit()
    assert log_in(user).get("/labels").status_code == 403


def test_one_print_job_at_a_time(seeded, warehouse, log_in):
    seeded.add(LabelJob(region="31.01", format="a4", site_code="KPU-3101", requested_by=warehouse, state="running"))
    seeded.commit()
    client = log_in(warehouse)
    response = client.post("/labels", data={"region": first_tps(seeded), "format": "a4", "site": "KPU-3101"})
    assert response.status_code == 200 and "Tugas cetak Anda sebelumnya masih berjalan" in response.text
    assert seeded.scalar(select(func.count()).select_from(LabelJob)) == 1
