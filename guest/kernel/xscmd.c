/*
 * The shell's store command (shell.c lists it), over the store ring (xenstore.c):
 *
 * xenstore read|write|ls|rm|watch <path> [value | count], as Xen's xenstore-read, -write, -ls, -rm
 * and -watch: paths not starting with '/' are relative to this domain's home /local/domain/<id>.
 * `ls` lists a node's children with their values (the home without a path); `watch` prints the path
 * of each event, the first being the watch's own immediate one, until `count` (default 2) have come.
 */
#include <stdio.h>
#include <string.h>

#include "kernel.h"

/* The first space in s, or 0. */
static char *find_space(char *s) {
  for (; *s; s++)
    if (*s == ' ') return s;
  return 0;
}

/* Parses a decimal number into *out: 0, or -1 when s is not one. */
static int parse_count(const char *s, int *out) {
  int v = 0;
  if (!*s) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > 100000) return -1;
    v = v * 10 + (*s - '0');
  }
  *out = v;
  return 0;
}

void cmd_xenstore(char *args) {
  static char value[XS_VALUE_SHOWN];
  static char names[1024];
  char *op = args, *path = find_space(args), *rest = 0;
  if (path) {
    *path++ = '\0';
    while (*path == ' ') path++;
    rest = find_space(path);
    if (rest) *rest++ = '\0';
  }
  int is_ls = strcmp(op, "ls") == 0;
  int needs_value = strcmp(op, "write") == 0;
  if ((!is_ls && (!path || !*path)) || (needs_value && !rest)) {
    printf("usage: xenstore read|write|ls|rm|watch <path> [value | count]\n");
    return;
  }
  if (!xs_available()) {
    printf("xenstore: no store ring (the domain needs rvisord's store)\n");
    return;
  }
  char home[32];
  if (is_ls && (!path || !*path)) {
    if (xs_read(0, "domid", value, sizeof value) < 0) {
      printf("xenstore: domid: %s\n", xs_error());
      return;
    }
    snprintf(home, sizeof home, "/local/domain/%s", value);
    path = home;
  }
  if (strcmp(op, "read") == 0) {
    if (xs_read(0, path, value, sizeof value) < 0) printf("xenstore: read %s: %s\n", path, xs_error());
    else printf("%s\n", value);
  } else if (needs_value) {
    if (xs_write(0, path, rest) < 0) printf("xenstore: write %s: %s\n", path, xs_error());
  } else if (strcmp(op, "rm") == 0) {
    if (xs_rm(0, path) < 0) printf("xenstore: rm %s: %s\n", path, xs_error());
  } else if (is_ls) {
    int n = xs_directory(0, path, names, sizeof names);
    if (n < 0) {
      printf("xenstore: ls %s: %s\n", path, xs_error());
      return;
    }
    for (int at = 0; at < n && at < (int)sizeof names - 1; at += (int)strlen(names + at) + 1) {
      char child[XS_EVENT_PATH_LEN];
      snprintf(child, sizeof child, "%s/%s", path, names + at);
      if (xs_read(0, child, value, sizeof value) < 0) printf("%s = (%s)\n", names + at, xs_error());
      else printf("%s = \"%s\"\n", names + at, value);
    }
  } else if (strcmp(op, "watch") == 0) {
    int count = 2;
    if (rest && (parse_count(rest, &count) < 0 || count < 1)) {
      printf("xenstore: watch: count '%s' is not a positive number\n", rest);
      return;
    }
    if (xs_watch(path, "shell") < 0) {
      printf("xenstore: watch %s: %s\n", path, xs_error());
      return;
    }
    char event[XS_EVENT_PATH_LEN];
    for (int i = 0; i < count && xs_wait_event("shell", event, sizeof event) == 0; i++) printf("%s\n", event);
    xs_unwatch(path, "shell");
  } else {
    printf("usage: xenstore read|write|ls|rm|watch <path> [value | count]\n");
  }
}

