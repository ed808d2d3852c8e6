"""The publish gate: the one check that decides whether an item may be public.

Every path that publishes calls it (an editor's approval, auto-approval at ingest, an accepted upstream
change, a re-decision after an override or a source license) and so does ``republisher audit``, so that
what is published and what the audit accepts can never disagree. An item may be public when it has

* an allowed license decision, under the policy that applies now, with its evidence (an editor's
  evidence is a URL or a quotation of at least 20 characters);
* a complete credit, a link to the original included (CC BY 4.0 §3(a)); and
* no notice shown with it (its copyright or license notice, or its own license line in the text) that
  names a license other than the one it is published under.
"""

from . import attribution, license_text, licenses, licensing, statements

EDITOR_LEVELS = ("editor_source", "editor_override")


def problems(decision: dict, credit: dict | None, content_html: str | None, policy: frozenset) -> list[str]:
    """Why an item with this decision, credit and content may not be public; empty when it may."""
    found = license_problems(decision or {}, policy)
    missing = attribution.missing_parts(credit or {})
    if missing:
        found.append("the credit lacks " + ", ".join(missing))
    found += notice_problems(decision or {}, credit or {}, content_html or "")
    return found


def license_problems(decision: dict, policy: frozenset) -> list[str]:
    """What is wrong with the license decision itself."""
    license_id = decision.get("license")
    if not decision.get("allowed") or not license_id:
        return [f"no allowed license decision ({decision.get('reason') or licensing.NO_LICENSE})"]
    found = []
    if not licenses.permitted(license_id, policy):
        found.append(licenses.refusal(license_id))
    evidence = decision.get("evidence")
    if not evidence or not (evidence.get("matched") or evidence.get("url")):
        found.append("no license evidence")
    elif evidence.get("level") in EDITOR_LEVELS:
        problem = licensing.evidence_problem(evidence.get("matched"))
        if problem:
            found.append(f"the editor's {problem}")
    return found


def notice_problems(decision: dict, credit: dict, content_html: str) -> list[str]:
    """Notices shown with the item that name a license other than its own."""
    license_id = decision.get("license")
    if not license_id:
        return []
    shown = [credit.get(key) for key in ("copyright_notice", "license_notice", "disclaimer") if credit.get(key)]
    shown += [statement.text for statement in statements.find_statements(content_html)
              if statement.scope == "item" and statement.kind == "license"]
    found = []
    for notice in shown:
        for mention in license_text.scan(notice):
            if mention.license and not same_license(license_id, mention):
                found.append(f"a notice shown with it names {mention.license}, not {license_id}: "
                             f"{licensing.quote(notice)}")
                break
    return found


def same_license(license_id: str, mention) -> bool:
    """Whether a mention names the decided license ("CC BY" agrees with CC BY 4.0 and with CC BY 2.0)."""
    if mention.license == license_id:
        return True
    same_family = licenses.family(mention.license) == licenses.family(license_id)
    return same_family and not mention.exact
