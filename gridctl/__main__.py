"""`gridctl` (the console script) and `python -m gridctl` start here.

Ctrl-C is owned before the CLI's imports (typer alone takes ~40 ms): a Ctrl-C during start-up
exits 130 without a traceback, whichever way gridctl was started.
"""

import sys

from gridctl import interrupt


def run() -> None:
    interrupt.install()
    try:
        from gridctl.cli import main

        main()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    run()
