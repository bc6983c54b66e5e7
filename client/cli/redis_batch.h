/*
 * redis_batch.h — guise batch with its jobs in a Redis stream (docs/REDIS.md):
 *
 *   guise batch redis://HOST:PORT[/DB]/STREAM -o redis://.../RECORDS|FILE
 *               [--group NAME] [--consumer NAME] [--claim-idle S] [--follow]
 *   guise batch --status redis://HOST:PORT[/DB]/STREAM [--group NAME]
 *
 * Many such processes form one consumer group. A job is acknowledged (XACK) in
 * the same Lua script that writes its record and its done-mark, so each job id
 * gets one record across the group whatever dies; entries idle on a consumer
 * longer than --claim-idle are taken over (XAUTOCLAIM).
 */
#ifndef GUISE_CLI_REDIS_BATCH_H
#define GUISE_CLI_REDIS_BATCH_H

#include "guise.h"

typedef struct redis_batch_args {
  const char *input;     /* redis://.../STREAM */
  const char *output;    /* redis://.../RECORDS, a file, or NULL: stdout */
  const char *group;     /* NULL: "guise" */
  const char *consumer;  /* NULL: host name-pid */
  unsigned claim_idle_ms;/* 0: 300 s */
  int follow;            /* wait for more jobs when the stream is drained */
  int status;            /* --status: print the group's totals and end */
  const char *progress;  /* auto, always, never */
  const char *noproxy;
} redis_batch_args;

/* Runs the worker until the stream is drained (or forever with --follow, or a
 * signal). |o| is the batch's options, on_record not set. The exit status. */
int redis_batch_run(guise_batch_options *o, const redis_batch_args *a);

/* --status: the group's totals. The exit status. */
int redis_batch_status(const redis_batch_args *a);

#endif
