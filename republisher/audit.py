"""`republisher audit`: every published item passes the publish gate it was published through."""

from . import gate, licenses, storage


def audit(db, site_policy: frozenset) -> list[dict]:
    """The violations among published items: {item_id, title, problem}."""
    violations = []
    sources: dict[int, dict] = {}
    for row in storage.published_with_approved_revision(db):
        source = sources.setdefault(row["source_id"], storage.get_source(db, row["source_id"]))
        policy = licenses.source_policy(source.get("allowed_licenses"), site_policy)
        for problem in item_problems(row, policy):
            violations.append({"item_id": row["id"], "title": row["title"], "problem": problem})
    return violations


def item_problems(row: dict, policy: frozenset) -> list[str]:
    """What is wrong with one published item's approved revision, by the publish gate."""
    if row["revision_id"] is None:
        return ["published without an approved revision"]
    return gate.problems(row["decision"] or {}, row["attribution"], row["content_html"], policy)
