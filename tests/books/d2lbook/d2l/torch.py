"""Hand-written header of the Mini Book's PyTorch library."""
import sys

import torch

d2l = sys.modules[__name__]

VERSION_NOTE = "torch edition"

#################   WARNING   ################
# The below part is generated automatically through:
#    d2lbook build lib
# Don't edit it directly

def stale():
    return "replaced by the next build"
