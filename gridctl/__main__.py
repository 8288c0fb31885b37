import sys

from gridctl import interrupt

# Own Ctrl-C before the CLI's imports: a Ctrl-C during start-up exits 130, without a traceback.
interrupt.install()
try:
    from gridctl.cli import main

    main()
except KeyboardInterrupt:
    sys.exit(130)
