"""``python -m hatchway`` is the ``hatchway`` command."""
import sys

from .cli import main

sys.exit(main())
