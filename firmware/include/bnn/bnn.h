/* bnn-edge firmware runtime: umbrella header. */
#ifndef BNN_H
#define BNN_H

#include "bnn/bnn_status.h"
#include "bnn/bnn_crc32.h"
#include "bnn/bnn_pack.h"
#include "bnn/bnn_ops.h"
#include "bnn/bnn_interpreter.h"

#define BNN_RUNTIME_VERSION "1.0.0"

#endif /* BNN_H */
