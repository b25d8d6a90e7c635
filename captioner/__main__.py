"""``python -m captioner``."""

import sys

from captioner.cli.main import main

sys.exit(main())
