/* app.h - the subcommands of the herald binary. Each takes the arguments
 * after its name and returns the process exit status. */
#ifndef HERALD_APP_APP_H
#define HERALD_APP_APP_H

int app_serve(int argc, char **argv);
int app_workspace(int argc, char **argv);
int app_key(int argc, char **argv);
int app_vapid(int argc, char **argv);

struct store;
struct hclock;
/* Seeds the demo practice if absent and prints how to use it. */
/* Seeds the demo practice (once) and prints how to use it; *api_key_out
 * gets a fresh key of the demo workspace (the caller frees it). */
int demo_seed(struct store *s, struct hclock *clock, const char *url, const char *admin_key,
              char **api_key_out);

#endif
