"""`python -m server.cli …` runs the `flexmrt` command."""

import sys

from server.cli import main

sys.exit(main())
