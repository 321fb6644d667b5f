/* bnn-edge example app: the inputs to run: bnn_n_inputs samples of bnn_input_len bytes each
 * (the input tensor's storage bytes; for a UINT8 input the unpadded h*w*c bytes also work). */
#ifndef BNN_APP_INPUT_DATA_H
#define BNN_APP_INPUT_DATA_H

#include <stdint.h>

extern const uint8_t bnn_inputs[];
extern const uint32_t bnn_n_inputs;
extern const uint32_t bnn_input_len;

#endif /* BNN_APP_INPUT_DATA_H */
