"""``python -m sagefit.cli``: the same as the ``sagefit`` script."""

import sys

from sagefit.cli import main

sys.exit(main())
