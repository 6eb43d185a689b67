/* edge-stt-model.h - the model-tooling subcommands (examples/edge-stt-model.c) main dispatches to;
 * argc/argv start after the subcommand name; each returns the exit status. */
#ifndef EDGE_STT_MODEL_H
#define EDGE_STT_MODEL_H
int edge_stt_convert(int argc, char **argv);
int edge_stt_check(int argc, char **argv);
int edge_stt_models(int argc, char **argv);
int edge_stt_info_json(int argc, char **argv);
#endif
