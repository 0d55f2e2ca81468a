"""Label pages: start a print job for a region, follow its progress, download its PDF."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, redirect, render_template, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.auth.access import region_in_scope, roles_required, site_in_scope
from webapp.auth.models import Role
from webapp.core.database import in_transaction
from webapp.extensions import db
from webapp.geo.models import Site, SiteKind
from webapp.labels.forms import LabelJobForm
from webapp.labels.models import JobState, LabelJob
from webapp.labels.services import pdf_pieces
from webapp.labels.tasks import enqueue_job

bp = Blueprint("labels", __name__)
log = logging.getLogger(__name__)
PRINT_ROLES = (Role.WAREHOUSE, Role.ADMIN)
PRINT_SITES = (SiteKind.PRINTER, SiteKind.WAREHOUSE_PROV, SiteKind.WAREHOUSE_KAB)


def _form_errors(form: LabelJobForm) -> bool:
    """Scope and site checks beyond the form's own; True when the form may go ahead."""
    ok = True
    if form.region.data.startswith("TPS-"):
        tps = db.session.scalar(select(Site).where(Site.code == form.region.data, Site.kind == SiteKind.TPS))
        if tps is None or not site_in_scope(current_user, tps):
            form.region.errors.append(_("No TPS with that code in your area."))
            ok = False
    elif not region_in_scope(current_user, form.region.data):
        form.region.errors.append(_("That region is outside your area."))
        ok = False
    site = db.session.scalar(select(Site).where(Site.code == form.site.data))
    if site is None or not site_in_scope(current_user, site):
        form.site.errors.append(_("No site with that code in your area."))
        ok = False
    elif site.kind not in PRINT_SITES or not site.active:
        form.site.errors.append(_("Labels are printed at an active printer or warehouse."))
        ok = False
    return ok


@bp.route("/labels", methods=["GET", "POST"])
@roles_required(*PRINT_ROLES)
def index():
    """Start printing the labels of a region's boxes; the user's recent jobs."""
    form = LabelJobForm()
    if not form.is_submitted() and current_user.scope_site is not None:
        form.site.data = current_user.scope_site.code
    busy = db.session.scalar(
        select(LabelJob.id).where(
            LabelJob.requested_by_id == current_user.id, LabelJob.state.in_((JobState.QUEUED, JobState.RUNNING))
        )
    )
    if busy and form.is_submitted():  # one print job at a time per person: each takes every core
        form.region.errors = [_("Your previous print job is still running: wait for it to finish.")]
    elif form.validate_on_submit() and _form_errors(form):
        job = LabelJob(
            region=form.region.data, format=form.format.data, site_code=form.site.data, requested_by=current_user
        )
        in_transaction(lambda: db.session.add(job))
        log.info("%s started label job %s for %s", current_user.username, job.id, job.region)
        enqueue_job(db.session, job, current_app.config)  # a worker prints it (labels/tasks.py)
        return redirect(url_for("labels.job", job_id=job.id))
    jobs = db.session.scalars(
        select(LabelJob).where(LabelJob.requested_by_id == current_user.id).order_by(LabelJob.id.desc()).limit(20)
    ).all()
    return render_template("labels/index.html", form=form, jobs=jobs)


def _job(job_id: int) -> LabelJob:
    """A job its requester may see (or an admin whose area holds the site it was printed at)."""
    job = db.session.get(LabelJob, job_id)
    if job is None:
        abort(404)
    if job.requested_by_id != current_user.id:
        site = db.session.scalar(select(Site).where(Site.code == job.site_code))
        if current_user.role != Role.ADMIN or site is None or not site_in_scope(current_user, site):
            abort(404)  # not 403: someone else's job is none of their business, not even its existence
    return job


def job_json(job: LabelJob) -> dict:
    return {
        "id": job.id,
        "state": job.state,
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "refused": job.refused,
        "error": job.error,
        "pdf": url_for("labels.pdf", job_id=job.id) if job.state == JobState.DONE else None,
    }


@bp.route("/labels/jobs/<int:job_id>")
@roles_required(*PRINT_ROLES)
def job(job_id: int):
    """One job: its progress (refreshed by static/js/labels.js) and, when done, its PDF."""
    return render_template("labels/job.html", job=_job(job_id))


@bp.route("/labels/jobs/<int:job_id>.json")
@roles_required(*PRINT_ROLES)
def job_status(job_id: int):
    return job_json(_job(job_id))


@bp.route("/labels/jobs/<int:job_id>/pdf")
@roles_required(*PRINT_ROLES)
def pdf(job_id: int):
    """The job's PDF, read from the database piece by piece: any app server sends it, whichever worker drew it."""
    job = _job(job_id)
    if job.state != JobState.DONE or job.pdf_size is None:
        abort(404)
    size, name = job.pdf_size, f"label-{job.region}.pdf"  # a region or TPS code: digits, dots, TPS-
    db.session.rollback()
    return Response(
        stream_with_context(pdf_pieces(db.session, job_id)),
        mimetype="application/pdf",
        headers={"Content-Length": str(size), "Content-Disposition": f'attachment; filename="{name}"'},
    )
