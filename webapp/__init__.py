"""Jejak: chain of custody for election logistics."""

from __future__ import annotations

import logging

from flask import Flask

from config import BASE_DIR, Config, config_from_env


def create_app(config_class: type[Config] | None = None) -> Flask:
    """Build the Flask application: config, extensions, blueprints and CLI, in that order."""
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(BASE_DIR / "instance"),
    )
    config_class = config_class or config_from_env()
    app.config.from_object(config_class)
    config_class.prepare(app.config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from webapp.core import assets, database, i18n, images, jobs, names, security
    from webapp.extensions import compress

    database.init_app(app)
    jobs.init_app(app)  # the task queue (Huey), from JOBS_URL
    i18n.init_app(app)
    images.init_app(app)
    names.init_app(app)
    security.init_app(app)
    compress.init_app(app)  # HTML and JSON compressed when the client accepts it (COMPRESS_* in config.py)
    assets.init_app(app)  # static files: WhiteNoise, precompressed, versioned URLs cached for good

    from webapp.geo import zones

    zones.init_app(app)  # times in the site's zone: {{ moment|local_time(site) }}

    from webapp import bench
    from webapp.alerts.views import bp as alerts_bp
    from webapp.api import corrections as _api_corrections  # noqa: F401  (its routes join the API blueprint)
    from webapp.api import cosignatures as _api_cosignatures  # noqa: F401
    from webapp.api import custody as _api_custody  # noqa: F401
    from webapp.api import epcis as _api_epcis  # noqa: F401
    from webapp.api import exports as _api_exports  # noqa: F401
    from webapp.api import handovers as _api_handovers  # noqa: F401
    from webapp.api import ledger as _api_ledger  # noqa: F401
    from webapp.api import openapi as _api_openapi  # noqa: F401
    from webapp.api.views import bp as api_bp
    from webapp.auth.admin import bp as admin_bp
    from webapp.auth.views import bp as auth_bp
    from webapp.boxes.carton_views import bp as cartons_bp
    from webapp.boxes.packing_views import bp as packing_bp
    from webapp.boxes.views import bp as boxes_bp
    from webapp.custody.correction_views import bp as corrections_bp
    from webapp.custody.views import bp as bast_bp
    from webapp.geo.views import bp as geo_bp
    from webapp.labels.views import bp as labels_bp
    from webapp.main.views import bp as main_bp
    from webapp.planning.views import bp as planning_bp
    from webapp.public.views import bp as public_bp
    from webapp.pwa.views import bp as pwa_bp
    from webapp.readiness.views import bp as readiness_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(geo_bp)
    app.register_blueprint(boxes_bp)
    app.register_blueprint(packing_bp)
    app.register_blueprint(cartons_bp)
    app.register_blueprint(bast_bp)
    app.register_blueprint(corrections_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(alerts_bp)
    app.register_blueprint(readiness_bp)
    app.register_blueprint(labels_bp)
    app.register_blueprint(planning_bp)
    app.register_blueprint(pwa_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    bench.init_app(app)

    from webapp.alerts.cli import alerts_cli
    from webapp.auth.cli import users_cli
    from webapp.boxes.cli import cartons_cli
    from webapp.custody.cli import ledger_cli
    from webapp.custody.epcis_capture import epcis_cli
    from webapp.geo.cli import geo_cli, seed_cli
    from webapp.labels.cli import labels_cli
    from webapp.readiness.cli import readiness_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(geo_cli)
    app.cli.add_command(seed_cli)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(labels_cli)
    app.cli.add_command(cartons_cli)
    app.cli.add_command(alerts_cli)
    app.cli.add_command(readiness_cli)
    app.cli.add_command(jobs.jobs_cli)
    app.cli.add_command(epcis_cli)

    from webapp.core import errors

    errors.init_app(app)
    return app
