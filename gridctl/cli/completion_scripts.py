"""Shell completion scripts, generated from the app: `python -m gridctl.cli.completion_scripts` rewrites completions/."""

from __future__ import annotations

import sys
from pathlib import Path

FILES = {"bash": "gridctl.bash", "zsh": "_gridctl", "fish": "gridctl.fish", "powershell": "gridctl.ps1"}


def scripts() -> dict[str, str]:
    from typer.completion import get_completion_script  # type: ignore[attr-defined]

    return {name: get_completion_script(prog_name="gridctl", complete_var="_GRIDCTL_COMPLETE", shell=shell)
            .rstrip() + "\n" for shell, name in FILES.items()}


def main(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name, text in scripts().items():
        (target / name).write_text(text, encoding="utf-8")
        sys.stdout.write(f"wrote {target / name}\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "completions")
