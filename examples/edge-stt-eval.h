/* edge-stt-eval.h - `edge-stt eval` (examples/edge-stt-eval.c); argc/argv start after "eval". */
#ifndef EDGE_STT_EVAL_H
#define EDGE_STT_EVAL_H
int edge_stt_eval(int argc, char **argv);
#endif
