"""`python -m loader.warehouse env|exec|psql|stop` (README, "The warehouse")."""

import sys

from loader.warehouse import main

sys.exit(main())
