/* config.h - herald serve's settings, from one table: each setting has a
 * name, a type, a default and bounds, and is read, in rising precedence,
 * from the built-in default, the config file (--config, "name = value"
 * lines), the environment (HERALD_<NAME>) and the command line
 * (--name value, or --name for booleans). */
#ifndef HERALD_APP_CONFIG_H
#define HERALD_APP_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

struct config {
    char listen[256];
    char database[1024];
    char log_level[16];
    char synchronous[16]; /* full | normal */
    char metrics_token[256];
    int max_body_bytes;
    int max_connections;
    int request_timeout_s;
    int idle_timeout_s;
    int max_batch;
    int prune_interval_s;
    int token_ttl_s;
    int max_streams;
    int max_streams_per_member;
    bool demo;
    bool test_clock;
};

/* Fills defaults, then the file named by --config or HERALD_CONFIG, the
 * environment, then argv (argv[0] is the first option). Returns 0, or -1
 * after printing what is wrong to err. */
int config_load(struct config *c, int argc, char **argv, FILE *err);
void config_usage(FILE *out);

#endif
