"""PyInstaller entry point: the same ``captioner`` command that pip installs (app, transcribe, inspect...)."""

import sys

from captioner.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
