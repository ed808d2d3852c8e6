"""`republisher audit`: every published item has an allowed license and a complete credit."""

import json

from . import attribution, ingest, storage


def audit(db, site_policy: frozenset) -> list[dict]:
    """The violations among published items: {item_id, title, problem}."""
    violations = []
    sources: dict[int, dict] = {}
    for row in storage.published_with_approved_revision(db):
        source = sources.setdefault(row["source_id"], storage.get_source(db, row["source_id"]))
        for problem in item_problems(row, ingest.source_policy(source, site_policy)):
            violations.append({"item_id": row["id"], "title": row["title"], "problem": problem})
    return violations


def item_problems(row: dict, policy: frozenset) -> list[str]:
    """What is wrong with one published item's license decision and credit."""
    if not row["decision"]:
        return ["published without an approved revision"]
    decision = json.loads(row["decision"])
    problems = []
    if not decision.get("allowed"):
        problems.append(f"published without an allowed license decision ({decision.get('reason')})")
    elif decision.get("license") not in policy:
        problems.append(f"{decision.get('license')} is no longer allowed by policy")
    if not decision.get("evidence"):
        problems.append("no license evidence")
    credit = json.loads(row["attribution"]) if row["attribution"] else {}
    missing = attribution.missing_parts(credit)
    if missing:
        problems.append("attribution lacks " + ", ".join(missing))
    return problems
