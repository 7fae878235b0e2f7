"""Learning from feature vectors: labels, splits, training, evaluation, explanations."""

import os

# LightGBM's OpenMP threads spin while they wait for each other. On a busy 2-core machine that
# made training 26x slower (measured: 416 s instead of 16 s); passive waiting avoids it. It must
# be set before the OpenMP runtime loads, hence here, before any model code imports LightGBM.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
