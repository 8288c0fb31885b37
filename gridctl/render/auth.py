"""auth lint / login / status / logout: the heading and closing lines around the checklist."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridctl import grid
from gridctl.render import Text
from gridctl.report import Output, error_line
from gridctl.result import CheckResult, Report

if TYPE_CHECKING:
    from gridctl.auth import FilePlan


def lint(report: Report) -> Text:
    check = report.checks[0] if report.checks else None
    if check is None or "source" not in check.data:
        return Text()
    return Text(f"gridctl auth lint ({check.data['source']})", [f"header: {report.human.get('shown', '')}"])


def login(report: Report) -> Text:
    if report.extra.get("stored") is None and report.checks:
        return Text(f"gridctl auth login: {verify_failure(report.checks[0])}; nothing stored "
                    "(--no-verify stores it anyway)")
    return Text("gridctl auth login")


def verify_failure(check: CheckResult) -> str:
    """Which layer stopped the verifying call: only a 401/403 says anything about the key."""
    first = next((f for f in check.findings if f.severity == "error"), None)
    code = first.code if first else "no answer"
    status = check.data.get("status_code")
    if status in (401, 403) and code.startswith("auth."):
        return f"The Grid rejected the key (HTTP {status}, {code})"
    if status is None:
        return f"the verifying call could not reach the API ({code}: network, not the key)"
    return f"the verifying call failed with HTTP {status} ({code}), which says nothing against the key"


def login_warnings(report: Report) -> list[str]:
    """Said on stderr even under --json: a plain-text key is a risk the user must see (unless it was
    announced before the key was read)."""
    where = report.extra.get("stored")
    if isinstance(where, str) and where.startswith("file") and not report.human.get("announced"):
        return [f"warning: the key is stored in PLAIN TEXT (a 0600 file); prefer a keyring or {grid.ENV_API_KEY}"]
    return []


def status(report: Report) -> Text:
    data = report.checks[0].data if report.checks else {}
    return Text("gridctl auth status", [f"{k}: {v}" for k, v in data.items() if v])


def logout(report: Report) -> Text:
    return Text("gridctl auth logout")



def no_keyring(plan: FilePlan) -> str:
    return f"no OS keyring on this machine ({plan.why})"


def offer_file(plan: FilePlan) -> str:
    return f"Store the key in {plan.path} instead (plain text, mode 0600)?"


def file_announced(plan: FilePlan) -> str:
    return f"the key will be stored in {plan.path} (plain text, mode 0600)"


def agree_to_file(plan: FilePlan, out: Output) -> bool:
    """No keyring: say so on stderr; ask before the plain-text file unless --insecure-storage said yes."""
    from gridctl.prompts import confirm

    error_line(no_keyring(plan), out)
    if plan.ask and not confirm(offer_file(plan), out):
        return False
    error_line(file_announced(plan), out)
    return True


def warn_login(report: Report, out: Output) -> None:
    for warning in login_warnings(report):
        error_line(warning, out)


def token_no_json() -> str:
    return "auth token prints the bare key for a variable; --json does not apply (`auth status --json` describes the key)"


def token_on_terminal() -> str:
    return (f'refusing to print the key on a terminal; use it in a variable, export {grid.ENV_API_KEY}="$(gridctl '
            'auth token)", or pass --show')
