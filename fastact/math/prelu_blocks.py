"""How prelu's dweight sum is cut into pieces: plain data, no Numba.

One sum per channel over its outer * inner elements (the channel's
"sequence", in memory order).  Each sequence is cut into ``blocks(...)``
contiguous blocks, fixed by the shape.  Within a block the element at inner
position j goes to lane j % L of its channel, L = lanes(inner): each lane is
a compensated sum (TwoSum, the rounding errors collected apart, and for
float64 data each product's own rounding error too) in sequence order; the
lanes are then added in lane order into the block's (sum, error) pair, and
the blocks' pairs in block order.  Lanes are independent sums, so the loops
over them vectorise, where one running sum would wait on itself every
element; and nothing depends on the thread count.

Scratch: one pair per (block, channel), at most 2 * (PIECES + channels)
doubles whatever the size of the array, and SLICE lanes per task.

The Python layer (fastact.api.activations), the Numba loops
(fastact.math.along_axis) and, through native/gen/limits.h written by
tools/generate_native.py, the C driver (native/parallel.c) and kernels
(native/axis_kernels.h) all read these numbers.
"""

# About this many (block, channel) pairs per call: enough pieces for the
# threads when there are few channels; with PIECES channels or more each
# channel is one block (the threads then share out channels).
PIECES = 256
# A block holds at least this many elements of its channel (fewer blocks
# for a short sequence: each lane and pair costs an addition at the end).
MIN_BLOCK = 1024
# Lanes per channel: one per inner position while inner < LANE_RUN (a row's
# slice of channels is then one contiguous run of lanes), else LANES.
LANES = 16
LANE_RUN = 64
# Lanes a task keeps at once (channels are taken SLICE // lanes at a time).
SLICE = 1024

# Tasks a call is cut into for the threads (block, channel chunk); the
# chunks only share out the work and do not change a bit of the result.  A
# task walks its whole block but reads only its chunk's runs of each row, so
# chunks cost a strided walk out of the caches: 16, where 64 had made two
# chunks of (16384, 8, 128) and walked each block twice (float32 backward,
# one thread, Intel AVX-512: 1.79 -> 0.83 ns per element; (16384, 64, 16)
# 3.59 -> 1.97).
TASKS = 16


def blocks(outer, channels, inner):
    """The number of blocks each channel's sequence of outer * inner elements is cut into."""
    per_channel = -(-PIECES // max(channels, 1))
    return max(1, min(per_channel, outer * inner // MIN_BLOCK))


def lanes(inner):
    """Lanes per channel (the element at inner position j goes to lane j % lanes)."""
    return inner if inner < LANE_RUN else LANES


def block_bounds(length, count, k):
    """[lo, hi) of block k of ``count`` over a sequence of ``length`` elements:
    contiguous, sizes differing by at most one, the longer ones first."""
    q, r = divmod(length, count)
    lo = k * q + min(k, r)
    return lo, lo + q + (1 if k < r else 0)


def channel_chunk(channels, inner, blocks):
    """Channels per task: blocks times chunks make about TASKS tasks, and a
    task's slice of a row holds at least LANE_RUN elements when it can."""
    chunks = max(1, -(-TASKS // blocks))
    chunk = -(-channels // chunks)
    least = -(-LANE_RUN // inner) if inner < LANE_RUN else 1
    return max(chunk, min(least, channels))
