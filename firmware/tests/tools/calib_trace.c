/* bnn-edge: calib.c with 3 repetitions and a short spin (the same code, other constants), for
 * QEMU's exact instruction trace. */
#define CALIB_REPS 3
#define CALIB_SPIN 100
#include "calib.c"
