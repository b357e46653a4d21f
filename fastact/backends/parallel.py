"""The size from which a call runs on several threads, for both backends.

The one hand-written copy: tools/generate_native.py writes it into
native/gen/limits.h (FA_PARALLEL_MIN) for the C drivers, and the
Python layer reads it from here (fastact.api.activations).
"""

# Below this many elements a call runs on the calling thread.  Waking the
# second thread costs ~2 us here, so the crossover depends on the work per
# element: 64k for relu, 1k for mish (python bench/threshold.py, 2 idle
# cores); 16k loses least over both.
PARALLEL_MIN = 16384
