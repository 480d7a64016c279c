"""The tags that split a run's random streams. Every stream derives from the run's seed alone,
so a run's random numbers do not depend on the group or device it lands in."""

# Role tags folded into a run's root key: each role's stream depends only on the seed.
KEY_INIT_G, KEY_INIT_D, KEY_TRAIN, KEY_EVAL = 0, 1, 2, 3
# Tags folded into a step's keys for streams that only some schemes use, so switching a scheme
# on does not move the streams the others draw from.
TAG_NOISE, TAG_UNROLL, TAG_DROPOUT = 101, 102, 103
