"""`python -m trainer ...` and `torchrun --nproc_per_node=N -m trainer ...`."""

import sys

from trainer.cli import main

sys.exit(main())
