"""republisher: a license-aware content republishing service."""

from pathlib import Path

from flask import Flask

from .settings import load_settings

PACKAGE_DIR = Path(__file__).resolve().parent


def template_folder() -> str:
    """Templates live at the repository root; an installed package carries a copy inside itself."""
    for candidate in (PACKAGE_DIR.parent / "templates", PACKAGE_DIR / "templates"):
        if candidate.is_dir():
            return str(candidate)
    return str(PACKAGE_DIR / "templates")


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory: settings, database, CLI and views."""
    app = Flask(__name__, instance_relative_config=True, template_folder=template_folder())
    app.config.from_pyfile("config.py", silent=True)
    load_settings(app.config, test_config)
    from . import cli, db, desk, licenses, web

    app.config["LICENSE_POLICY"] = policy_from_settings(app.config, licenses)
    db.init_app(app)
    cli.init_app(app)
    web.register(app)
    desk.init_app(app)
    return app


def policy_from_settings(config, licenses) -> frozenset:
    """The allowed-license set, validated against the registry."""
    from .errors import ConfigError

    wanted = config["ALLOWED_LICENSES"]
    if not wanted:
        return frozenset(licenses.allowed_by_default())
    try:
        return licenses.parse_policy(",".join(wanted))
    except ValueError as exc:
        raise ConfigError(f"REPUBLISHER_ALLOWED_LICENSES: {exc}") from exc
