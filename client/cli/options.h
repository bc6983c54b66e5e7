/*
 * options.h — the command line of `guise URL...` and `guise batch`: one table of
 * options (name, letter, value, the commands that take it, what it sets, its
 * --help line for each command), one parser, one --help printer. Uses guise.h
 * (option checks: guise_dns_servers_check, guise_escape_text) and numopt.h;
 * called by cmd_fetch.c and cmd_batch.c, which turn the settings into
 * guise_client_options / guise_request_options / guise_batch_options.
 *
 * The table says what an option is; only the parser knows how it is spelt:
 * cli_parse reads argv getopt-style as curl does (bundled letters "-sSL", a
 * value attached "-XPOST" or next "-X POST", "--name value", "--name=value",
 * "--no-NAME" for curl's booleans, "--" ending options, options before and
 * after operands), and config_file.c reads -K files through the same
 * cli_apply. Help: cli_usage (a command's), cli_usage_groups (--help all).
 */
#ifndef GUISE_CLI_OPTIONS_H
#define GUISE_CLI_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "guise.h"

/* The commands, as bits of cli_option.commands. */
enum { CLI_FETCH = 1u << 0, CLI_BATCH = 1u << 1 };

/* The groups of `guise --help all` / `guise --help GROUP` (curl's categories,
 * where curl has one): the last field of a row, e.g.
 *   {"--retry", 0, "N", F, NUMBER(retry, 0, 100), {"...", NULL}, CLI_G_CONNECTION},
 * The names are cli_group_name's. */
enum {
  CLI_G_OTHER = 0,   /* "misc" */
  CLI_G_HTTP,        /* "http": method, headers, redirects, cookies, versions */
  CLI_G_POST,        /* "post": request bodies (-d, -F, --json, ...) */
  CLI_G_UPLOAD,      /* "upload": -T */
  CLI_G_OUTPUT,      /* "output": -o, -O, -i, -D, -w, --create-dirs, ... */
  CLI_G_VERBOSE,     /* "verbose": -v, -s, -S, progress, traces */
  CLI_G_CONNECTION,  /* "connection": timeouts, keep-alive, -4/-6, --interface, retries */
  CLI_G_DNS,         /* "dns": --resolve, --dns-servers */
  CLI_G_TLS,         /* "tls": -k, --cacert, --cert, --key, TLS versions */
  CLI_G_PROXY,       /* "proxy": -x, --noproxy, --proxy-* */
  CLI_G_AUTH,        /* "auth": -u, --proxy-user */
  CLI_G_PROFILE,     /* "profile": --profile, --kind (guise's own) */
  CLI_G_BATCH,       /* "batch": guise batch's own */
  CLI_G_COUNT
};

/* "misc", "http", ... for CLI_G_*; NULL past the end. */
const char *cli_group_name(unsigned group);

/* A handler's result: go on with the next word, or end the command with this
 * exit status (its message printed). */
#define CLI_NEXT (-1)

#define CLI_MAX_HEADERS 100 /* -H and -b cookies together: the engine's limit */
#define CLI_MAX_BODY_ARGS 256 /* -d, --data-*, --json, -F, --form-string, -T, -G together */

/* A body option as given (fetch_body.c reads them, in this order). */
typedef struct cli_body_arg {
  const char *name;  /* the option's name in the table: "--data-urlencode" */
  char as[24];       /* as written, for messages: "-d" (a copy: the parser's may not last) */
  const char *value; /* NULL for -G */
} cli_body_arg;

/* Everything the two command lines can say. The command sets the arrays and
 * their caps (|max_*|) before parsing; the rest starts zeroed. */
typedef struct cli_settings {
  unsigned command;  /* CLI_FETCH or CLI_BATCH */
  const char *prog;  /* "guise" or "guise batch": messages start with it */
  /* both commands */
  const char *output; /* -o: the body (guise URL), the records (guise batch); the last one */
  const char **outputs; /* guise URL: every -o and -O in order, the nth for the nth URL (curl's
                         * pairing); an -O is cli_remote_name itself */
  size_t n_outputs, max_outputs;
  const char *proxy, *noproxy, *cafile, *proxy_cafile, *profile, *dns_servers;
  int insecure, proxy_insecure, http_version, follow_redirects, no_keepalive;
  unsigned max_redirects, connect_timeout_ms, max_time_ms;
  const char **resolve;
  size_t n_resolve, max_resolve;
  const char **operands; /* URLs, or the input */
  size_t n_operands, max_operands;
  /* guise URL */
  const char *method, *write_out, *cookie_file, *cookie_jar;
  const char *kind, *referer; /* --kind, -e */
  guise_header headers[CLI_MAX_HEADERS];
  char *header_copies[CLI_MAX_HEADERS]; /* ours: cli_settings_free */
  size_t n_headers;
  unsigned char *body; /* -d: ours */
  size_t body_len;
  /* -d, --data-*, --json, -F, --form-string, -T, -G (fetch_body.c) */
  cli_body_arg body_args[CLI_MAX_BODY_ARGS];
  size_t n_body_args;
  void *body_state;                  /* fetch_body.c's; freed by cli_settings_free */
  void (*body_state_free)(void *state);
  int has_body, include, head_only, silent, verbose, raw, cookies, parallel;
  /* guise URL: failure, output, progress, retries (cmd_fetch.c, fetch_*.c) */
  int fail, fail_with_body, show_error, compressed, remote_name, remote_header_name;
  int create_dirs, progress_bar, retry_connrefused;
  const char *user_agent, *user, *proxy_user; /* -A, -u, --proxy-user */
  const char *continue_at, *max_filesize;      /* -C, --max-filesize: checked by cmd_fetch */
  const char *dump_header, *trace_ascii;       /* -D, --trace-ascii */
  const char *retry_delay, *retry_max_time;    /* seconds, checked by cmd_fetch */
  unsigned retry;                              /* --retry N */
  const char *proto, *range, *oauth2_bearer;   /* --proto, -r, --oauth2-bearer: checked by cmd_fetch */
  int no_progress_meter, globoff;              /* --no-progress-meter; -g (guise never globs) */
  unsigned parallel_max;                       /* --parallel-max N (0: no limit) */
  const char *output_dir;                      /* --output-dir DIR */
  int retry_all_errors;                        /* --retry-all-errors */
  const char *proto_redir, *stderr_to;         /* --proto-redir, --stderr */
  int no_buffer, fail_early, ignored;          /* -N, --fail-early; ignored: --basic, -q */
  int netrc;                                   /* -n, --netrc-optional */
  const char *netrc_file;                      /* --netrc-file */
  /* guise URL: network and TLS (fetch_net.c checks and applies them) */
  int ip_version;                              /* -4, -6 */
  const char *interface, *local_port, *limit_rate; /* --interface, --local-port, --limit-rate */
  const char *cert, *key, *cert_type, *key_type, *key_pass; /* --cert, --key, --*-type, --pass */
  int tls_min;                                 /* --tlsv1.x: 10, 11, 12, 13; 0: none */
  const char *tls_max, *ciphers, *tls13_ciphers, *curves; /* --tls-max, --ciphers, ... */
  /* guise batch: its numbers go straight to |batch| */
  guise_batch_options batch;
  int resume;
  const char *stats_json, *progress;
  /* guise batch redis://... (redis_batch.c, docs/REDIS.md) */
  const char *redis_group, *redis_consumer;
  unsigned redis_claim_idle_ms;
  int redis_follow, redis_status;
  int config_depth; /* the parser's own: -K files open, one inside the other */
} cli_settings;

typedef struct cli_option cli_option;

/* Applies |value| (NULL for an option that takes none) of |o|, written |as| on
 * the command line, to |s|: CLI_NEXT, or an exit status after a message. */
typedef int (*cli_setter)(cli_settings *s, const cli_option *o, const char *as, const char *value);

struct cli_option {
  const char *name;     /* "--proxy" */
  char letter;          /* 'x' for -x, or 0 */
  const char *arg;      /* the value's name in --help ("URL"); NULL: takes no value */
  unsigned commands;    /* CLI_FETCH | CLI_BATCH */
  cli_setter set;
  size_t field;         /* for the plain setters: offsetof(cli_settings, ...) */
  long long lo, hi;     /* numbers: the range; flags: |lo| is the value set */
  const char *help[2];  /* the --help text of guise URL, of guise batch ('\n' between
                         * lines); NULL: not listed on its own */
  unsigned group;       /* CLI_G_*: where `guise --help all` lists it; a row that leaves
                         * it out is CLI_G_OTHER (0) */
  int negatable;        /* CLI_BOOL: one of curl's booleans, so --no-NAME turns it off
                         * (a set_flag row: its field back to 0; another setter is called
                         * with |as| "--no-NAME" and no value, and checks cli_negated) */
};

#define CLI_BOOL 1

/* The entry of cli_settings.outputs that stands for an -O (compared by address). */
extern const char cli_remote_name[];

/* Whether |as| is a "--no-NAME" spelling (a negatable row's setter asks). */
int cli_negated(const char *as);

/* A command's line: who takes what, its --help, its operands. */
typedef struct cli_command {
  unsigned id;          /* CLI_FETCH or CLI_BATCH */
  const char *prog;
  const char *head;     /* --help before the options */
  const char *const *order; /* the options --help lists, by name, NULL-ended */
  int column;           /* where the help text starts */
  const char *foot;     /* --help after them */
  /* An operand (a word that is not an option): CLI_NEXT or an exit status. */
  int (*operand)(cli_settings *s, const char *word);
} cli_command;

extern const cli_command cli_fetch_command, cli_batch_command;

/* Zeroes |s| for |cmd| (guise_batch_options_init for |s->batch|). */
void cli_settings_init(cli_settings *s, const cli_command *cmd);
/* Frees the copies the handlers made (-H, -b cookies, -d). */
void cli_settings_free(cli_settings *s);

/* The option of |cmd| named |name| (|len| bytes, "--proxy"), or with letter
 * |letter|; NULL when |cmd| has none. */
const cli_option *cli_find_long(const cli_command *cmd, const char *name, size_t len);
const cli_option *cli_find_short(const cli_command *cmd, char letter);

/* Applies one option word as the command line spells it: "--name", "--name=value",
 * "--no-name", "-x", "-xVALUE", a bundle "-sSL"; |next| is the word after it
 * (NULL: none), taken as the value when the option needs one and the word has
 * none, and then |*used_next| is set. A value the option cannot take ("--silent=1")
 * is refused. CLI_NEXT, or an exit status after a message (an unknown option:
 * EXIT_USAGE, naming it and the nearest option). */
int cli_apply(const cli_command *cmd, cli_settings *s, const char *word, const char *next, int *used_next);

/* A copy of |len| bytes of |p| (NUL-ended; |p| NULL: |len| bytes to fill) that
 * lives until cli_settings_free(s): for values read from a config file. NULL
 * when out of memory. */
char *cli_keep(cli_settings *s, const char *p, size_t len);

/* Reads argv[1..argc-1] into |s|: CLI_NEXT when the command may run, else the
 * exit status to end with (--help: EXIT_OK; a bad option or value: its message
 * printed, EXIT_USAGE or the value's own). */
int cli_parse(const cli_command *cmd, cli_settings *s, int argc, char **argv);

/* The --help text of |cmd|, from the table. */
void cli_usage(const cli_command *cmd, FILE *to);

/* `guise --help all` (|group| NULL: every option of guise URL and guise batch by
 * group) or `guise --help GROUP`: 0, or -1 when |group| names no group. */
int cli_usage_groups(const char *group, FILE *to);

/* The options of the table, for the completion scripts: the |i|th, NULL past the end. */
const cli_option *cli_option_at(size_t i);

/* `guise --completion SHELL` (completion.c): the bash or zsh completion script,
 * made from the table, on |to|; -1 for another shell. */
int cli_completion(const char *shell, FILE *to);

/* "PROG: OPT 'ARG': WHY" on stderr, |arg| escaped (it may hold control
 * characters). */
void cli_usage_error(const char *prog, const char *opt, const char *arg, const char *why);

#endif
