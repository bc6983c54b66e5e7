/*
 * fetch_net.h — the network and TLS options of `guise URL` (-4, -6,
 * --interface, --local-port, --limit-rate, --cert, --key, --cert-type,
 * --key-type, --pass, --tlsv1.x, --tls-max, --ciphers, --curves,
 * --tls13-ciphers): checked and turned into guise_client_options. Called by
 * cmd_fetch.c once the profile is known.
 */
#ifndef GUISE_CLI_FETCH_NET_H
#define GUISE_CLI_FETCH_NET_H

#include "guise.h"
#include "options.h"

/* Checks |s|'s network and TLS options and sets them in |co| for the profile
 * |profile| ("none": no profile). A TLS option that would change a browser
 * profile's hello is refused, naming the option and the profile. Returns 0,
 * or an exit status (2) after a one-line message on stderr when |show| (-s
 * without -S: no message). Strings in |co| point into |s| or static storage. */
int fetch_net_apply(const cli_settings *s, guise_client_options *co, const char *profile, int show);

#endif
