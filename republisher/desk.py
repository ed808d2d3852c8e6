"""The editors' desk under /desk/: review queue, items, sources and the audit log, behind a login.

Views are thin: they call accounts, workflow, decisions and storage, the functions the CLI calls. Every
state change is a POST with a CSRF token (Flask-WTF); every page is private (no-store). The session
cookie is scoped to /desk, so public pages stay cookieless and cacheable.
"""

import functools
from urllib.parse import unquote, urlsplit

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request, session,
                   url_for)
from flask_wtf.csrf import CSRFProtect

from . import accounts, decisions, ingest, review, storage, workflow
from .db import get_db
from .errors import LoginFailedError, LoginLockedError, NotFoundError, RepublisherError
from .web import bounded_int

bp = Blueprint("desk", __name__, url_prefix="/desk")
csrf = CSRFProtect()

SESSION_TOKEN = "desk_session"
OPEN_ENDPOINTS = ("desk.login",)
PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 100
MAX_NEXT_CHARS = 2000
BULK_ACTIONS = ("approve", "reject")


def init_app(app) -> None:
    """Cookie rules for the desk's session, CSRF protection on every form, and the blueprint."""
    secure = app.config.get("SECURE_COOKIES")
    if secure is None:
        secure = app.config["SITE_URL"].startswith("https://")
    app.config.update(SESSION_COOKIE_NAME="republisher_desk", SESSION_COOKIE_PATH="/desk", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=bool(secure),
                      # the token lives as long as the session, which the idle expiry ends
                      WTF_CSRF_TIME_LIMIT=None)
    csrf.init_app(app)
    app.register_blueprint(bp)


# ---------------------------------------------------------------- sessions and access


@bp.before_request
def require_login():
    """Every desk page but the login form needs a live session; anyone else is sent to log in."""
    token = session.get(SESSION_TOKEN)
    g.user = accounts.session_user(get_db(), token, current_app.config["DESK_IDLE_SECONDS"])
    if g.user is None and token:
        session.pop(SESSION_TOKEN, None)
    if g.user is None and request.endpoint not in OPEN_ENDPOINTS:
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("desk.login", next=target))
    return None


@bp.after_request
def private(response):
    """Desk pages are for the signed-in editor only: never stored by a browser or a shared cache."""
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Cookie")
    return response


def admin_only(view):
    """A view for admins; editors get 403."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if g.user["role"] != "admin":
            abort(403, description="Only administrators can see this page.")
        return view(*args, **kwargs)
    return wrapper


def local_path(value: str | None) -> str | None:
    """`value` when it is a path on this site, else None (a login must never send its user elsewhere)."""
    if not value or len(value) > MAX_NEXT_CHARS:
        return None
    for text in (value, unquote(value)):
        if any(ord(char) < 0x20 or ord(char) == 0x7F or char == "\\" for char in text):
            return None
        if not text.startswith("/") or text.startswith("//"):
            return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def actor() -> str:
    """The name the audit log records for the signed-in editor."""
    return g.user["name"]


def page(template: str, status: int = 200, **context):
    """A desk page with the signed-in user."""
    return render_template(template, user=g.get("user"), **context), status


def pipeline_config() -> ingest.IngestConfig:
    """The ingest configuration of the app (decisions need the policy and the fetch limits)."""
    return ingest.config_from_settings(current_app.config, current_app.config["LICENSE_POLICY"])


def policy() -> frozenset:
    """The site's license policy."""
    return current_app.config["LICENSE_POLICY"]


def done(message: str, target: str):
    """Say what happened on the next page, and go there (POST, then redirect, then GET)."""
    flash(message, "done")
    return redirect(target)


def refused(error: RepublisherError, target: str):
    """Say why an action was refused, on the page the editor came from."""
    flash(str(error), "error")
    return redirect(target)


# ---------------------------------------------------------------- login


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; a right name and password start a new session."""
    target = local_path(request.values.get("next")) or url_for("desk.queue")
    if request.method != "POST":  # GET and HEAD show the form; only a POST is a login attempt
        if g.user is not None:
            return redirect(target)
        return page("desk/login.html", next=target)
    name = request.form.get("name", "")
    rules = accounts.LoginRules.from_config(current_app.config)
    try:
        user = accounts.login(get_db(), name, request.form.get("password", ""), request.remote_addr, rules)
    except LoginLockedError as exc:
        return page("desk/login.html", 429, next=target, name=name, error=str(exc))
    except LoginFailedError as exc:
        return page("desk/login.html", 200, next=target, name=name, error=str(exc))
    accounts.close_session(get_db(), session.get(SESSION_TOKEN))
    # a new session: nothing from before the login (a planted cookie, an old CSRF token) carries over
    session.clear()
    session[SESSION_TOKEN] = accounts.open_session(get_db(), user, request.remote_addr)
    return redirect(target)


@bp.post("/logout")
def logout():
    """End the session here and in the database."""
    accounts.close_session(get_db(), session.get(SESSION_TOKEN))
    session.clear()
    return redirect(url_for("desk.login"))


# ---------------------------------------------------------------- review queue


def queue_filters() -> dict:
    """The queue's filters from the query string, each checked."""
    source = request.args.get("source", "")
    status = request.args.get("status", "")
    return {
        "source_id": bounded_int(source),
        "status": status if status in workflow.STATUSES else None,
        "license": request.args.get("license", "").strip() or None,
        "changed_upstream": True if request.args.get("changed") == "1" else None,
    }


@bp.get("/")
def queue():
    """Items to review: pending and flagged first, newest first, with filters and bulk actions."""
    filters = queue_filters()
    before = request.args.get("before") or None
    try:
        rows = review.review_queue(get_db(), **filters, before=before, limit=PAGE_SIZE + 1)
    except ValueError:
        abort(400, description="This page link is not valid. Start again from the first page.")
    except NotFoundError:
        abort(404, description="There is no source with this number.")
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_args = dict(request.args, before=rows[-1]["cursor"]) if more and rows else None
    return page("desk/queue.html", rows=rows, filters=filters, sources=storage.list_sources(get_db()),
                statuses=workflow.STATUSES, next_args=next_args, query=request.args)


@bp.post("/bulk")
def bulk():
    """Approve or reject the checked items; each item's outcome is reported."""
    action = request.form.get("action")
    back = local_path(request.form.get("back")) or url_for("desk.queue")
    if action not in BULK_ACTIONS:
        abort(400, description="Choose approve or reject.")
    ids = [number for number in map(bounded_int, request.form.getlist("item")) if number is not None]
    if not ids:
        flash("No item was checked.", "error")
        return redirect(back)
    reason = request.form.get("reason", "").strip() or None
    outcomes = workflow.bulk(get_db(), action, ids, actor(), reason=reason, site_policy=policy())
    for outcome in outcomes:
        text = outcome["message"] or f"item {outcome['id']}: {outcome['outcome']} ({outcome['status']})"
        flash(text, "error" if outcome["outcome"] in ("refused", "not found") else "done")
    return redirect(back)


# ---------------------------------------------------------------- one item


def item_or_404(item_id: int) -> dict:
    """The item as editors review it, or 404."""
    try:
        return review.item_view(get_db(), item_id)
    except NotFoundError:
        abort(404, description="There is no item with this number.")


@bp.get("/items/<id:item_id>")
def item(item_id: int):
    """An item as it will be published, with its license evidence, the sanitizer's changes and any diff."""
    view = item_or_404(item_id)
    return page("desk/item.html", view=view, diff=view["diff"])


def item_action(item_id: int, action, message: str):
    """Run one editor action on an item and come back to it, saying what happened."""
    target = url_for("desk.item", item_id=item_id)
    try:
        action()
    except NotFoundError:
        abort(404, description="There is no item with this number.")
    except RepublisherError as exc:
        return refused(exc, target)
    return done(message, target)


def reason_field() -> str:
    """The reason an editor typed."""
    return request.form.get("reason", "").strip()


@bp.post("/items/<id:item_id>/approve")
def approve(item_id: int):
    """Publish the item (through the publish gate)."""
    return item_action(item_id, lambda: workflow.approve(get_db(), item_id, actor(), site_policy=policy()),
                       "Approved: the item is published.")


@bp.post("/items/<id:item_id>/reject")
def reject(item_id: int):
    """Keep the item off the site, with a reason."""
    return item_action(item_id, lambda: workflow.reject(get_db(), item_id, reason_field() or None, actor()),
                       "Rejected.")


@bp.post("/items/<id:item_id>/title")
def edit_title(item_id: int):
    """Give the item another title; the credit says it was changed."""
    return item_action(item_id, lambda: workflow.edit_title(get_db(), item_id, request.form.get("title", ""),
                                                            actor()), "Title changed.")


@bp.post("/items/<id:item_id>/license")
def override_license(item_id: int):
    """Set the item's license with evidence; it is decided again."""
    form = request.form
    return item_action(item_id, lambda: decisions.override_item_license(
        get_db(), pipeline_config(), item_id, form.get("license", "").strip(), form.get("evidence", ""),
        actor=actor(), confirm_contradiction=form.get("confirm") == "1", reason=reason_field() or None),
        "License recorded; the item was decided again.")


@bp.route("/items/<id:item_id>/withdraw", methods=["GET", "POST"])
def withdraw(item_id: int):
    """A confirmation page, then the withdrawal: the article answers 410 Gone."""
    if request.method == "GET":
        return page("desk/withdraw.html", view=item_or_404(item_id), reason=request.args.get("reason", ""))
    return item_action(item_id, lambda: workflow.withdraw(get_db(), item_id, reason_field(), actor()),
                       "Withdrawn: the article is gone from the site and its feeds.")


@bp.post("/items/<id:item_id>/restore")
def restore(item_id: int):
    """Bring a withdrawn item back: published when it passes the gate, else pending."""
    return item_action(item_id, lambda: workflow.restore(get_db(), item_id, reason_field(), actor(),
                                                         site_policy=policy()), "Restored.")


@bp.post("/items/<id:item_id>/accept-change")
def accept_change(item_id: int):
    """Publish the item's current revision in place of the approved one."""
    return item_action(item_id, lambda: workflow.accept_change(get_db(), item_id, actor(), site_policy=policy()),
                       "Change accepted: the current revision is published.")


# ---------------------------------------------------------------- sources


@bp.get("/sources/")
def sources():
    """Every source with its health."""
    return page("desk/sources.html", sources=storage.list_sources(get_db()))


@bp.route("/sources/new", methods=["GET", "POST"])
def add_source():
    """Add a source: a test fetch first; a feed that cannot be read is added only when the editor insists."""
    form = request.form
    if request.method == "GET":
        return page("desk/source_new.html", form={}, trial=None, error=None)
    fields = {"name": form.get("name", "").strip() or None, "license_id": form.get("license", "").strip() or None,
              "evidence": form.get("evidence", "").strip() or None, "auto_approve": form.get("auto_approve") == "1"}
    url = form.get("url", "").strip()
    trial, error = None, None
    try:
        trial = decisions.add_source(get_db(), pipeline_config(), url, actor(), **fields, dry_run=True)
    except RepublisherError as exc:
        error = str(exc)
    if form.get("step") != "add" or (error and form.get("insist") != "1"):
        return page("desk/source_new.html", 200 if trial else 422, form=form, trial=trial, error=error)
    try:
        source = decisions.add_source(get_db(), pipeline_config(), url, actor(), **fields)
    except RepublisherError as exc:
        return page("desk/source_new.html", 422, form=form, trial=trial, error=str(exc))
    return done(f"Source {source['name']} added.", url_for("desk.source", source_id=source["id"]))


def source_or_404(source_id: int) -> dict:
    """One source, or 404."""
    try:
        return storage.get_source(get_db(), source_id)
    except NotFoundError:
        abort(404, description="There is no source with this number.")


@bp.get("/sources/<id:source_id>")
def source(source_id: int):
    """A source's health, settings and recent fetches."""
    row = source_or_404(source_id)
    counts = {status: len(storage.list_items(get_db(), status=status, source_id=source_id))
              for status in workflow.STATUSES}
    return page("desk/source.html", source=row, counts=counts,
                fetches=storage.fetch_log(get_db(), source_id, limit=10))


@bp.post("/sources/<id:source_id>")
def edit_source(source_id: int):
    """Change a source's name, credit, interval, review, license with evidence, or credit removal."""
    source_or_404(source_id)
    form = request.form
    fields = {"name": form.get("name", "").strip(), "credit_name": form.get("credit_name", "").strip() or None,
              "auto_approve": form.get("auto_approve") == "1", "remove_credit": form.get("remove_credit") == "1"}
    interval = form.get("interval", "").strip()
    if interval:
        if bounded_int(interval) is None or int(interval) < 300:
            return refused(RepublisherError("The interval is a number of seconds, at least 300."),
                           url_for("desk.source", source_id=source_id))
        fields["interval_seconds"] = int(interval)
    if form.get("license", "").strip():
        fields.update(license=form["license"].strip(), license_evidence=form.get("evidence", ""))
    target = url_for("desk.source", source_id=source_id)
    try:
        decisions.update_source(get_db(), pipeline_config(), source_id, actor(), **fields)
    except RepublisherError as exc:
        return refused(exc, target)
    return done("Source saved.", target)


@bp.post("/sources/<id:source_id>/fetch")
def fetch_source(source_id: int):
    """Fetch the source now, whatever its schedule."""
    row = source_or_404(source_id)
    report = ingest.refresh_many([row], pipeline_config())[0]
    message = (f"Fetched: {report.new} new, {report.updated} updated, {report.blocked} blocked"
               + (f"; error: {report.error}" if report.error else ""))
    flash(message, "error" if report.error else "done")
    return redirect(url_for("desk.source", source_id=source_id))


# ---------------------------------------------------------------- audit log


@bp.get("/audit")
@admin_only
def audit_log():
    """Who did what, when, to which item or source, and why (admins only)."""
    before = request.args.get("before")
    if before is not None and bounded_int(before) is None:
        abort(400, description="This page link is not valid. Start again from the first page.")
    rows = storage.audit_entries(get_db(), limit=AUDIT_PAGE_SIZE + 1, before=bounded_int(before))
    more = len(rows) > AUDIT_PAGE_SIZE
    rows = rows[:AUDIT_PAGE_SIZE]
    return page("desk/audit.html", rows=rows, next_before=rows[-1]["id"] if more and rows else None)
