"""`python -m flexmrt.server.cli …` runs the `flexmrt` command."""

import sys

from flexmrt.server.cli import main

sys.exit(main())
