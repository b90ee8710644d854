"""`python -m rnn_nlp.cli ...` (and `torchrun -m rnn_nlp.cli train ...`)."""

import sys

from rnn_nlp.cli import main

sys.exit(main())
