/*
 * edge-stt - the command-line program.  Subcommands grow with the issues; today: info, version.
 */
#include <stdio.h>
#include <string.h>

#include "edgestt.h"

int main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version"))) {
        printf("edge-stt %s\n", EDGESTT_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: edge-stt info MODEL | version\n");
    return 2;
}
