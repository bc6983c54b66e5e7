/*
 * batch_options — guise_batch_new refuses numbers it cannot honour (NaN, an
 * infinity, a rate so small that a token's wait overflows, negative rates,
 * timeouts over a day) and takes the edges of the documented ranges
 * (docs/BATCH.md). Prints one line per case; exit 0 when every case agrees.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "guise.h"

static void on_record(void *arg, const char *json, size_t len, int err) { (void)arg, (void)json, (void)len, (void)err; }

static int failures;

static void expect(const char *what, guise_batch_options *o, int want_ok) {
  guise_batch *b = NULL;
  o->profile = "none";
  o->workers = 1;
  o->on_record = on_record;
  int e = guise_batch_new(o, &b);
  int ok = want_ok ? e == 0 && b != NULL : e == GUISE_E_USAGE_INVALID_ARGUMENT && b == NULL;
  printf("%s: %s (%s)\n", ok ? "ok" : "FAIL", what, e ? guise_err_name(e) : "accepted");
  failures += !ok;
  if (b) guise_batch_finish(b);
}

int main(void) {
  static const struct {
    const char *what;
    double rate, per_host_rate;
    int ok;
  } rates[] = {
      {"rate NaN refused", NAN, 0, 0},           {"rate inf refused", INFINITY, 0, 0},
      {"rate 1e-300 refused", 1e-300, 0, 0},     {"rate -1 refused", -1, 0, 0},
      {"rate 2e7 refused", 2e7, 0, 0},           {"per_host_rate NaN refused", 0, NAN, 0},
      {"per_host_rate 1e-9 refused", 0, 1e-9, 0}, {"rate 0 (no limit) taken", 0, 0, 1},
      {"rate 0.001 taken", 0.001, 0, 1},         {"rate 1e7 and per_host_rate 5 taken", 1e7, 5, 1},
  };
  for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
    guise_batch_options o;
    guise_batch_options_init(&o);
    o.rate = rates[i].rate;
    o.per_host_rate = rates[i].per_host_rate;
    expect(rates[i].what, &o, rates[i].ok);
  }
  guise_batch_options o;
  guise_batch_options_init(&o);
  o.max_time_ms = 86400001;
  expect("max_time_ms over a day refused", &o, 0);
  guise_batch_options_init(&o);
  o.connect_timeout_ms = 4000000000u;
  expect("connect_timeout_ms 4e9 refused", &o, 0);
  guise_batch_options_init(&o);
  o.max_time_ms = 86400000;
  expect("max_time_ms of a day taken", &o, 1);
  return failures ? 1 : 0;
}
