"""A module whose import never ends within a test: a worker preloading it is still starting."""

import time

time.sleep(60)
