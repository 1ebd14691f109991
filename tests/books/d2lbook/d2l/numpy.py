"""Hand-written header of the Mini Book's NumPy library."""
import sys

import numpy as np

d2l = sys.modules[__name__]

VERSION_NOTE = "numpy edition"

#################   WARNING   ################
