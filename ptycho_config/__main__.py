"""`python -m ptycho_config` runs the command line."""

import sys

from ptycho_config._cli import main

sys.exit(main())
