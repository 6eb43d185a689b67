/* edge-stt-bench.h - the bench subcommand (examples/edge-stt-bench.c); argc/argv start after
 * "bench"; returns the exit status. */
#ifndef EDGE_STT_BENCH_H
#define EDGE_STT_BENCH_H
int edge_stt_bench(int argc, char **argv);
#endif
