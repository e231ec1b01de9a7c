/* main.c - the herald binary: one command, several subcommands. */
#include "app/app.h"
#include "herald_version.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "herald %s - notifications for practice-management software\n\n"
                 "usage: herald <command> [options]\n\n"
                 "  serve       run the server (herald serve --help)\n"
                 "  workspace   create or list workspaces\n"
                 "  key         create, list or revoke a workspace's API keys\n"
                 "  vapid       print the Web Push (VAPID) public key\n"
                 "  version     print the version\n",
            HERALD_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serve"))
        return app_serve(argc - 2, argv + 2);
    if (!strcmp(cmd, "workspace"))
        return app_workspace(argc - 2, argv + 2);
    if (!strcmp(cmd, "key"))
        return app_key(argc - 2, argv + 2);
    if (!strcmp(cmd, "vapid"))
        return app_vapid(argc - 2, argv + 2);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("herald %s\n", HERALD_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "herald: unknown command %s\n\n", cmd);
    usage(stderr);
    return 2;
}
