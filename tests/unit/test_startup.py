"""Guards for the start-up path and the generated files (issue 7; completions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("httpx", "keyring", "rich.live", "pydantic", "gridctl.emulator.server", "gridctl.probe.client",
         "cryptography")


def _loaded_after(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    """Run an offline command in a fresh interpreter and return the modules it imported."""
    code = (
        "import sys, json, io, contextlib\n"
        "from gridctl.cli import app\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        f"        app({args!r}, prog_name='gridctl')\n"
        "    except SystemExit as e:\n"
        "        code = e.code\n"
        "sys.stderr.write(json.dumps({'mods': sorted(sys.modules), 'code': code}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, env=env)
    doc = json.loads(proc.stderr.strip().splitlines()[-1])
    return set(doc["mods"])


@pytest.mark.parametrize("args", [
    ["url", "https://api.thegrid.ai/v1/", "--json"],
    ["url", "https://api.thegrid.ai/v1/v1/"],
    ["explain", "404"],
    ["auth", "lint", "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789abcdefg"],
    ["lint-curl", "curl https://api.thegrid.ai/v1/chat/completions -H 'Authorization: Bearer x'"],
    ["models", "gpt-5.2", "--offline"],
    ["--help"],
])
def test_offline_commands_import_nothing_heavy(args: list[str]) -> None:
    mods = _loaded_after(args)
    assert "gridctl.cli" in mods  # the run really happened
    heavy = sorted(m for m in mods if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == [], f"{args} imported {heavy}"


def test_only_trace_with_its_forward_proxy_loads_cryptography() -> None:
    """`cryptography` (the session CA) is trace's cost alone: commands that send, and trace --no-intercept, skip it."""
    from tests.support.cli import clean_env

    env = clean_env()
    child = [sys.executable, "-c", "pass"]
    assert "cryptography" not in _loaded_after(["doctor", "--emulate", "healthy", "--json"], env)
    assert "cryptography" not in _loaded_after(["trace", "--no-intercept", "--emulate", "healthy", "--", *child], env)
    assert "cryptography" in _loaded_after(["trace", "--emulate", "healthy", "--", *child], env)


def test_importing_the_cli_does_not_import_network_or_keyring() -> None:
    code = "import sys, gridctl.cli; gridctl.cli.app; print(' '.join(sorted(sys.modules)))"
    mods = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              cwd=ROOT).stdout.split())
    assert "gridctl.cli.doctor" in mods
    assert not mods & {"httpx", "keyring", "rich.live", "pydantic"}


def test_completion_scripts_are_current() -> None:
    from gridctl.cli.completion_scripts import FILES, scripts

    generated = scripts()
    assert set(generated) == set(FILES.values())
    for name, text in generated.items():
        on_disk = (ROOT / "completions" / name).read_text(encoding="utf-8")
        assert on_disk == text, f"completions/{name} is stale: run python -m gridctl.cli.completion_scripts"
        assert "gridctl" in text and "_GRIDCTL_COMPLETE" in text


def test_every_command_has_help_and_is_in_the_readme() -> None:
    from typer.main import get_command

    from gridctl.cli import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    group = get_command(app)
    names: list[str] = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        if subs:
            names += [f"{name} {sub}" for sub in subs]
            for sub in subs.values():
                assert (sub.help or "").strip(), f"gridctl {name} {sub.name} has no help"
        else:
            names.append(name)
            assert (cmd.help or "").strip(), f"gridctl {name} has no help"
    for name in names:
        first = name.split()[0]
        assert f"gridctl {first}" in readme, f"`gridctl {name}` is not documented in README.md"
    assert {"doctor", "ping", "status", "balance", "models", "url", "explain", "lint-curl", "onboard",
            "auth lint", "auth login", "auth status", "auth logout", "emulator serve", "emulator list"} <= set(names)


def test_top_level_help_loads_no_command_and_no_rich() -> None:
    """`gridctl --help` is printed from a table, not built by introspecting every command through typer and
    rich (bench: --help <= 1.5x `import typer`; gridctl.cli itself still imports typer for its apps)."""
    code = ("import sys, io, contextlib\nfrom gridctl.cli import main\nout = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n    try:\n        main(['--help'])\n"
            "    except SystemExit as e:\n        assert e.code == 0\n"
            "sys.stderr.write(' '.join(sorted(sys.modules)) + '\\n' + out.getvalue())\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    mods, _, text = proc.stderr.partition("\n")
    loaded = mods.split()
    assert "gridctl.render.fasthelp" in loaded, proc.stderr
    assert not [m for m in loaded if m == "rich" or m.startswith(("rich.", "gridctl.cli.doctor", "gridctl.cli.ping"))]
    assert text.startswith("Usage: gridctl [OPTIONS] COMMAND [ARGS]...")


def test_top_level_help_says_what_the_commands_register() -> None:
    from gridctl.cli import COMMANDS, app
    from gridctl.render import fasthelp

    registered = {c.name: c.help for c in app.registered_commands}
    registered |= {g.name: g.typer_instance.info.help for g in app.registered_groups}
    assert set(registered) == set(COMMANDS)
    assert {name: fasthelp.SUMMARIES.get(name) for name in registered} == registered
    text = fasthelp.render(list(COMMANDS))
    assert text is not None
    flat = " ".join(text.split())
    for name, summary in registered.items():
        assert f"{name} {summary}" in flat
    assert fasthelp.render([*COMMANDS, "not-yet-summarised"]) is None  # then typer's own help is shown


def test_readme_test_command_is_what_ci_runs() -> None:
    """The README's second set-up command and `.ci/run` are one command: a change to one must reach the other."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci_line = [ln for ln in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
               if ln.strip() and not ln.startswith(("#", "set ", "cd "))][-1]
    blocks = readme.split("```sh\n")
    assert any(block.split("\n```", 1)[0].strip() == ci_line.strip() for block in blocks[1:]), ci_line
    assert "pytest" in ci_line


def test_the_console_script_owns_ctrl_c_before_the_cli_loads() -> None:
    """The installed `gridctl` runs `gridctl.__main__:run`, which takes Ctrl-C before importing the CLI
    (typer and all): a real SIGINT while the CLI's modules load exits 130 with no traceback."""
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    assert scripts["gridctl"] == "gridctl.__main__:run"
    # What the generated console script does, with a SIGINT delivered while gridctl.cli is imported.
    code = (
        "import builtins, os, signal, sys, time\n"
        "real = builtins.__import__\n"
        "def hook(name, *args, **kwargs):\n"
        "    if name == 'gridctl.cli':\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        time.sleep(5)\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = hook\n"
        "sys.argv = ['gridctl', 'url', 'https://api.thegrid.ai/v1']\n"
        "from gridctl.__main__ import run\n"
        "sys.exit(run())\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 130, proc
    assert "Traceback" not in proc.stderr and "KeyboardInterrupt" not in proc.stderr, proc.stderr
    assert proc.stdout == ""  # stopped before the command ran
