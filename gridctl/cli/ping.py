"""gridctl ping: one chat completion with "ping", one line out. For scripts and CI."""

from __future__ import annotations

from typing import Annotated

import typer

from gridctl.cli.apps import app
from gridctl.cli.common import Opts, UsageError, command


@command(app, "ping", target=True, quiet=True,
         help="Send the troubleshooting page's curl request (\"ping\" to text-prime); one line out.")
def ping_cmd(
    opts: Opts,
    all_: Annotated[bool, typer.Option("--all", help="Ping all nine instruments concurrently.")] = False,
    stream: Annotated[bool, typer.Option("--stream", help="Stream the answer (SSE) and check it ends.")] = False,
    retries: Annotated[int, typer.Option("--retries", help="Retries for 402/429/5xx/connection errors.")] = 2,
    curl: Annotated[bool, typer.Option("--curl", help="Print the equivalent curl command instead of sending.")] = False,
    receipt: Annotated[bool, typer.Option("--receipt", help="Fetch the usage receipt; compare your TTFT with the server's.")] = False,
) -> int:
    from gridctl import context, grid
    from gridctl.report import print_line

    if retries < 0 or retries > 10:
        raise UsageError("--retries must be between 0 and 10")
    settings = opts.settings
    if curl:  # offline: no key lookup, no httpx
        from gridctl.result import Report
        from gridctl.target import curl_command

        command = curl_command(context.target(settings, with_key=False), stream=stream)
        if opts.out.json:
            report = Report("ping", [], target=settings.target(with_key=False))
            report.extra["curl"] = command
            return opts.finish(report)
        if not opts.out.quiet:
            print_line(command, opts.out)
        return 0
    from gridctl.probe.ping import one_line, ping
    from gridctl.result import Report, Timer

    timer = Timer()
    tgt = context.target(settings)
    with context.net(settings, retries=retries) as net:
        if all_:
            from gridctl.probe.balance import probe_instruments

            checks = probe_instruments(net, tgt, grid.INSTRUMENTS)
        elif stream:
            from gridctl.probe.stream import check_stream

            checks = [check_stream(net, tgt)]
            checks[0].data.setdefault("model", tgt.model)
        else:
            checks = [ping(net, tgt)]
        if receipt and not all_ and checks[0].data.get("request_id"):
            from gridctl.probe.usage import fetch_receipt, join

            checks.append(join(checks[0], fetch_receipt(net, tgt, str(checks[0].data["request_id"]))))
    for check in checks:
        if any(f.code == "model.not_found" for f in check.findings):
            from gridctl.lint.model import lint_model  # only a 404 needs the suggestion

            hint = lint_model(str(check.data.get("model")))
            if hint.suggestion:
                for f in check.findings:
                    f.fix = f"Use {hint.suggestion}. " + f.fix if f.code == "model.not_found" else f.fix
    report = Report("ping", checks, target=settings.target(), duration_ms=timer.ms())
    for check in checks:
        for rid in check.data.get("request_ids", []) or [check.data.get("request_id")]:
            report.add_request_id(rid)
    if opts.out.json or opts.out.quiet:
        return opts.finish(report)
    for check in checks:
        if check.id == "usage":
            from gridctl.render.usage import receipt_line

            print_line(receipt_line(check), opts.out)
            continue
        line = one_line(check, show_model=all_) if check.id == "ping" else _stream_line(check)
        print_line(line, opts.out)
    return int(report.exit_code)


def _stream_line(check: object) -> str:
    from gridctl.result import CheckResult

    assert isinstance(check, CheckResult)
    codes = [f.code for f in check.findings if f.severity != "info"] or [f.code for f in check.findings]
    word = "ok" if check.status != "fail" else "fail"
    rid = f" req={check.data['request_id']}" if check.data.get("request_id") else ""
    return f"{word} {codes[0] if codes else 'stream'} {check.data.get('events', 0)} events {check.duration_ms:.0f}ms{rid}"
