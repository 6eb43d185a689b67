/* edge-stt-listen.h - the live-audio subcommands (examples/edge-stt-listen.c) main dispatches to;
 * argc/argv start after the subcommand name; each returns the exit status. */
#ifndef EDGE_STT_LISTEN_H
#define EDGE_STT_LISTEN_H
int edge_stt_devices(int argc, char **argv);
int edge_stt_listen(int argc, char **argv);
#endif
