/* cli.h — the subcommands of the guise command. Each returns the process exit status. */
#ifndef GUISE_CLI_H
#define GUISE_CLI_H

/* Exit statuses shared by every subcommand (docs/CLI.md). */
enum {
  EXIT_OK = 0,
  EXIT_FAILURE_GENERIC = 1,
  EXIT_USAGE = 2,
};

int cmd_batch(int argc, char **argv);
int cmd_echo(int argc, char **argv);
int cmd_fp(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_profile(int argc, char **argv);
/* guise enqueue: jobs into a Redis stream (cmd_enqueue.c, docs/REDIS.md). */
int cmd_enqueue(int argc, char **argv);

/* The proxy the environment names for |url| (curl's variables, NO_PROXY and
 * |noproxy| honoured; never for a loopback destination), or NULL. */
const char *cli_proxy_from_env(const char *url, const char *noproxy);
/* Whether the environment names a proxy at all (the variables above): when
 * none does, guise batch does not look jobs up one by one (getenv per job cost
 * ~1,800 instructions). */
int cli_env_names_proxy(void);

/* Parses a decimal unsigned option value in [min, max]; prints an error naming
 * |opt| and returns -1 when |s| is not one. */
long long cli_number(const char *opt, const char *s, long long min, long long max);

#endif
