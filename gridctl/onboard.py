"""The onboarding checklist as data and steps, and the config snippet it ends with."""

from __future__ import annotations

import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from gridctl import context, grid
from gridctl.errors import UsageError
from gridctl.findings import finding
from gridctl.lint.header import lint_key_shape
from gridctl.lint.model import lint_model
from gridctl.lint.url import lint_url
from gridctl.probe.client import Net
from gridctl.result import SKIP, CheckResult, Report, Timer
from gridctl.secrets import register
from gridctl.settings import Settings
from gridctl.target import Target, curl_command


def sdk_base_url(sdk: str, base_url: str, custom: bool) -> str:
    """The base URL to write into the snippet: The Grid's for its own hosts, a custom one as given.

    `custom` is False for the default base URL; a URL set explicitly to one of The Grid's
    production API hosts is not custom either: each SDK gets its own canonical host (the
    Anthropic SDK the messages-beta root, OpenAI-style SDKs api.thegrid.ai/v1).
    """
    if not custom or _grid_api_host(base_url):
        return grid.MESSAGES_ROOT if sdk == "anthropic" else grid.DEFAULT_BASE_URL
    return grid.sdk_base("anthropic" if sdk == "anthropic" else "openai", base_url.strip().rstrip("/"))


def _grid_api_host(base_url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        host = (urlsplit(base_url.strip()).hostname or "").rstrip(".")
    except ValueError:
        return False
    return host in (grid.API_HOST, grid.MESSAGES_HOST)


def offline_checks(target: Target, sdk: str, custom: bool) -> list[CheckResult]:
    t = Timer()
    key_findings = []
    if not target.key:
        key_findings.append(finding("config.no_key"))
    else:
        lint_key_shape(target.key, key_findings.append)
    key = CheckResult("key", "Consumption key", key_findings, duration_ms=t.ms(),
                      data={"summary": "present" if target.key else "missing"})
    t = Timer()
    lint = lint_url(target.base_url, api=target.api)
    url = CheckResult("url", f"Base URL for {sdk}", list(lint.findings), duration_ms=t.ms(),
                      data={"in_effect": target.base_url, "for_sdk": sdk_base_url(sdk, target.base_url, custom)})
    return [key, url]


def online_checks(net: Net, target: Target) -> list[CheckResult]:
    """ping -> instrument -> streaming -> tools and JSON mode -> balance advice (the checklist's order)."""
    from gridctl.probe.features import check_json_mode, check_tools
    from gridctl.probe.ping import ping
    from gridctl.probe.stream import check_stream

    first = ping(net, replace(target, model=grid.DEFAULT_MODEL))
    if first.status == "fail":
        skipped = [CheckResult(cid, title, [], status=SKIP, data={"summary": "ping failed"})
                   for cid, title in (("model", "Instrument"), ("stream", "Streaming"), ("tools", "Tool calling"),
                                      ("json_mode", "JSON mode"))]
        return [first, *skipped, balance_advice(first)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        model = pool.submit(_instrument, net, target, first)
        stream = pool.submit(check_stream, net, target)
        tools = pool.submit(check_tools, net, target)
        json_mode = pool.submit(check_json_mode, net, target)
        results = [model.result(), stream.result(), tools.result(), json_mode.result()]
    return [first, *results, balance_advice(first, results[0])]


def _instrument(net: Net, target: Target, first: CheckResult) -> CheckResult:
    from gridctl.probe.ping import ping

    lint = lint_model(target.model)
    if not lint.ok:
        return CheckResult("model", f"Instrument {target.model}", lint.findings)
    # the first ping already used the default instrument: no second request for the same answer
    check = replace(first, findings=list(first.findings)) if target.model == grid.DEFAULT_MODEL else ping(net, target)
    check.id, check.title = "model", f"Instrument {target.model}"
    return check


def balance_advice(*pings: CheckResult) -> CheckResult:
    paid = [p for p in pings if p.data.get("status_code") == 402]
    statuses = [s for p in pings for s in p.data.get("statuses", [])]
    if paid:
        return CheckResult("balance", "Balance", [f for p in paid for f in p.findings if f.code.startswith("balance")])
    note = "Enable Auto-Reload (USD credits) and Auto Top Up (instrument tokens) so long-running agents do not " \
           f"hit 402 after idle periods: {grid.DASHBOARD_URL}."
    if 402 in statuses:
        return CheckResult("balance", "Balance", [finding("balance.recovered_after_retry")])
    return CheckResult("balance", "Balance", [], data={"summary": note})


def snippet(sdk: str, base_url: str, model: str) -> dict[str, str]:
    """Env vars and code for `sdk`; the key is always read from THEGRID_API_KEY, never written out."""
    # Two routes, each of which works as printed: the key pasted in, or the one `gridctl auth login`
    # stored, read back by `gridctl auth token` (which prints it only into a pipe or variable).
    key_line = ('export THEGRID_API_KEY="<your consumption key>"\n'
                '# or, with the key stored by `gridctl auth login`:\n'
                '# export THEGRID_API_KEY="$(gridctl auth token)"')
    if sdk == "anthropic":
        return {"env": f"{key_line}\nexport ANTHROPIC_BASE_URL={base_url}\n"
                       '# Claude Code and the Anthropic SDK send ANTHROPIC_API_KEY as x-api-key, the header\n'
                       '# the Messages beta documents (ANTHROPIC_AUTH_TOKEN would go out as Bearer)\n'
                       'export ANTHROPIC_API_KEY="$THEGRID_API_KEY"',
                "code": "import os\n\nimport anthropic\n\n"
                        "key = os.environ[\"THEGRID_API_KEY\"]\n"
                        "# anthropic 2.x sends api_key as Authorization: Bearer; the Messages beta documents x-api-key\n"
                        f"client = anthropic.Anthropic(base_url={base_url!r}, api_key=key, default_headers={{\"x-api-key\": key}})\n"
                        f"msg = client.messages.create(model={model!r}, max_tokens=256,\n"
                        "                             messages=[{\"role\": \"user\", \"content\": \"ping\"}])\n"
                        "print(msg.content[0].text)\n"}
    if sdk == "litellm":
        return {"env": f"{key_line}\nexport OPENAI_API_BASE={base_url}",
                "code": "import os\n\nimport litellm\n\n"
                        f"resp = litellm.completion(model=\"openai/{model}\", api_base={base_url!r},\n"
                        "                          api_key=os.environ[\"THEGRID_API_KEY\"],\n"
                        "                          messages=[{\"role\": \"user\", \"content\": \"ping\"}])\n"
                        "print(resp.choices[0].message.content)\n"}
    if sdk == "langchain":
        return {"env": f"{key_line}\nexport OPENAI_API_BASE={base_url}",
                "code": "import os\n\nfrom langchain_openai import ChatOpenAI\n\n"
                        f"llm = ChatOpenAI(model={model!r}, base_url={base_url!r}, "
                        "api_key=os.environ[\"THEGRID_API_KEY\"])\nprint(llm.invoke(\"ping\").content)\n"}
    if sdk == "curl":
        return {"env": key_line, "code": curl_command(Target(base_url, None, model)) + "\n"}
    if sdk == "env":
        return {"env": f"{key_line}\nexport OPENAI_BASE_URL={shlex.quote(base_url)}\n"
                       'export OPENAI_API_KEY="$THEGRID_API_KEY"\n'
                       f"export THEGRID_MODEL={model}", "code": ""}
    return {"env": f"{key_line}\nexport OPENAI_BASE_URL={base_url}",
            "code": "import os\n\nfrom openai import OpenAI\n\n"
                    f"client = OpenAI(base_url={base_url!r}, api_key=os.environ[\"THEGRID_API_KEY\"])\n"
                    f"resp = client.chat.completions.create(model={model!r},\n"
                    "                                      messages=[{\"role\": \"user\", \"content\": \"ping\"}])\n"
                    "print(resp.choices[0].message.content)\n"}


SDK_CHOICES = (*grid.SDK_NAMES, "env")


def choose_sdk(sdk: str | None, interactive: bool) -> str:
    """--sdk, else asked on a terminal (a wrong answer asks again), else openai; a bad --sdk is a usage error."""
    choices = SDK_CHOICES
    if sdk is None:
        if interactive:
            from gridctl.prompts import choose

            sdk = choose(f"Which SDK or tool ({', '.join(choices)})?", choices, "openai")
        else:
            sdk = "openai"
    if sdk not in choices:
        raise UsageError(f"--sdk must be one of {', '.join(choices)}, not {sdk!r}")
    return sdk


def onboard_report(settings: Settings, sdk: str, interactive: bool) -> Report:
    """The checklist (offline steps, then online ones when those pass) and the SDK snippet in `extra`."""
    timer = Timer()
    tgt = context.target(settings)
    if not tgt.key and interactive:
        import getpass

        key = getpass.getpass("Paste a consumption key for this check (input hidden, not stored): ").strip()
        register(key)
        tgt = replace(tgt, key=key or None)
    custom = settings.base_url.source != "default"
    checks = offline_checks(tgt, sdk, custom)
    if all(c.status != "fail" for c in checks):
        with context.net(settings) as net:
            checks += online_checks(net, tgt)
    report = Report("onboard", checks, target=settings.target(), duration_ms=timer.ms())
    base = sdk_base_url(sdk, tgt.base_url, custom)
    report.extra["snippet"] = {"sdk": sdk, "base_url": base, **snippet(sdk, base, tgt.model)}
    return report
