/* Job-bus throughput: start/stop pairs per second across 2 workers. A measurement, not a test.
 *
 *   bench-bus [--pairs N] [--out FILE]
 *
 * Redis: starts its own redis-server on a free loopback port (killed at exit), runs two worker
 * processes (this binary with `--worker ID --port P`, each a bus on that Redis that bids on every
 * offer, answers every job at once and every control "stop"), and in this process a requester bus
 * that runs N pairs: sl_bus_dispatch of a start job, then sl_bus_control "stop" to the worker that
 * took it; K pairs in flight (K = 1 and K = 32). Local: the same with three local peer buses in
 * one process. A pair's latency runs from the dispatch call to the control answer.
 *
 * Public API only (core/bus.h). */
#include "bus.h"

#include <glib-unix.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define JOB_TIMEOUT_MS 10000

/* ---- Main-loop helpers ---------------------------------------------------------------------- */

static gboolean set_flag(gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until *flag or `timeout_ms`; returns *flag. */
static gboolean spin_until(const gboolean *flag, guint timeout_ms)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add(timeout_ms, set_flag, &expired);
  while (!*flag && !expired)
    g_main_context_iteration(NULL, TRUE);
  if (!expired)
    g_source_remove(id);
  return *flag;
}

typedef struct {
  gboolean done;
  GError *error;
  GPtrArray *items;
} Wait;

static void on_done(SlBus *bus, const GError *error, gpointer data)
{
  Wait *w = data;
  w->error = error ? g_error_copy(error) : NULL;
  w->done = TRUE;
}

static void on_list(SlBus *bus, GPtrArray *items, const GError *error, gpointer data)
{
  Wait *w = data;
  w->error = error ? g_error_copy(error) : NULL;
  w->items = items ? g_ptr_array_ref(items) : NULL;
  w->done = TRUE;
}

static void wait_ok(Wait *w, const char *what)
{
  if (!spin_until(&w->done, 15000))
    g_error("%s: no answer", what);
  if (w->error != NULL)
    g_error("%s: %s", what, w->error->message);
}

static void bus_register(SlBus *bus, const char *id)
{
  Wait w = {0};
  g_autofree char *info = g_strdup_printf("{\"id\":\"%s\",\"capacity\":1000}", id);
  sl_bus_register(bus, info, on_done, &w);
  wait_ok(&w, "register");
}

/* Waits until `n` workers are registered and live. */
static void wait_workers(SlBus *bus, guint n)
{
  gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
  while (g_get_monotonic_time() < deadline) {
    Wait w = {0};
    guint got;
    gboolean pause = FALSE;
    sl_bus_list_workers(bus, on_list, &w);
    if (spin_until(&w.done, 5000) && w.error == NULL) {
      got = w.items->len;
      g_ptr_array_unref(w.items);
      if (got >= n)
        return;
    }
    g_clear_error(&w.error);
    g_timeout_add(20, set_flag, &pause);
    spin_until(&pause, 1000);
  }
  g_error("fewer than %u workers registered within 15 s", n);
}

/* ---- Worker handlers ---------------------------------------------------------------------- */

typedef struct {
  char *id;
  guint jobs, stops;
} Worker;

static gboolean w_offer(SlBus *bus, const char *job, gpointer data)
{
  return TRUE;
}

static void w_offer_lost(SlBus *bus, const char *job, gpointer data)
{
}

static void w_job(SlBus *bus, const char *job, SlBusResponder *resp, gpointer data)
{
  Worker *w = data;
  g_autofree char *reply = g_strdup_printf("{\"worker\":\"%s\",\"state\":\"started\"}", w->id);
  w->jobs++;
  sl_bus_respond(resp, reply, NULL);
}

static void w_control(SlBus *bus, const char *message, SlBusResponder *resp, gpointer data)
{
  Worker *w = data;
  if (strstr(message, "\"stop\"") == NULL) {
    g_autoptr(GError) err = g_error_new(SL_BUS_ERROR, SL_BUS_ERROR_INVALID, "not a stop");
    sl_bus_respond(resp, NULL, err);
    return;
  }
  w->stops++;
  sl_bus_respond(resp, "{\"state\":\"stopped\"}", NULL);
}

static const SlBusHandlers worker_handlers = {
    .on_offer = w_offer,
    .on_offer_lost = w_offer_lost,
    .on_job = w_job,
    .on_control = w_control,
};

static gboolean quit_loop(gpointer data)
{
  g_main_loop_quit(data);
  return G_SOURCE_REMOVE;
}

static int worker_main(const char *id, int port)
{
  g_autofree char *addr = g_strdup_printf("127.0.0.1:%d", port);
  SlRedisConfig cfg = {.address = addr};
  g_autoptr(GError) err = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
  Worker w = {.id = (char *)id};
  SlBus *bus;

  prctl(PR_SET_PDEATHSIG, SIGTERM);
  bus = sl_bus_new_redis(&cfg, id, &err);
  if (bus == NULL)
    g_error("worker %s: %s", id, err->message);
  sl_bus_set_handlers(bus, &worker_handlers, &w);
  bus_register(bus, id);
  g_unix_signal_add(SIGTERM, quit_loop, loop);
  g_unix_signal_add(SIGINT, quit_loop, loop);
  g_main_loop_run(loop);
  {
    Wait u = {0};
    sl_bus_unregister(bus, on_done, &u);
    spin_until(&u.done, 1000);
  }
  sl_bus_free(bus);
  return 0;
}

/* ---- Requester: N pairs, K in flight ------------------------------------------------------- */

typedef struct Run Run;

typedef struct {
  Run *run;
  guint index;
  gint64 t0;
  char *worker;
} Pair;

struct Run {
  SlBus *bus;
  const char *tag;
  guint n, k;
  guint started, finished, errors;
  double *lat_ms;
  GHashTable *per_worker; /* worker id → count */
  gboolean done;
  char *first_error;
};

static void pair_start(Run *run);

static void pair_fail(Pair *p, const char *stage, const GError *error)
{
  Run *run = p->run;
  run->errors++;
  if (run->first_error == NULL)
    run->first_error = g_strdup_printf("%s: %s", stage, error->message);
}

static void pair_end(Pair *p)
{
  Run *run = p->run;
  g_free(p->worker);
  g_free(p);
  run->finished++;
  if (run->finished == run->n)
    run->done = TRUE;
  else
    pair_start(run);
}

static void on_stopped(SlBus *bus, const char *json, const GError *error, gpointer data)
{
  Pair *p = data;
  if (error != NULL)
    pair_fail(p, "stop", error);
  else
    p->run->lat_ms[p->index] = (g_get_monotonic_time() - p->t0) / 1000.0;
  pair_end(p);
}

static void on_started(SlBus *bus, const char *json, const GError *error, gpointer data)
{
  Pair *p = data;
  const char *w, *end;
  g_autofree char *msg = NULL;

  if (error != NULL) {
    pair_fail(p, "start", error);
    pair_end(p);
    return;
  }
  w = strstr(json, "\"worker\":\"");
  end = w ? strchr(w + 10, '"') : NULL;
  if (end == NULL)
    g_error("start reply without a worker: %s", json);
  p->worker = g_strndup(w + 10, end - (w + 10));
  g_hash_table_replace(
      p->run->per_worker, g_strdup(p->worker),
      GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(p->run->per_worker, p->worker)) + 1));
  msg = g_strdup_printf("{\"type\":\"stop\",\"id\":\"%s-%u\"}", p->run->tag, p->index);
  sl_bus_control(bus, p->worker, msg, JOB_TIMEOUT_MS, on_stopped, p);
}

static void pair_start(Run *run)
{
  Pair *p;
  g_autofree char *job = NULL;
  if (run->started >= run->n)
    return;
  p = g_new0(Pair, 1);
  p->run = run;
  p->index = run->started++;
  job = g_strdup_printf("{\"id\":\"%s-%u\",\"type\":\"start\",\"cost\":1}", run->tag, p->index);
  p->t0 = g_get_monotonic_time();
  sl_bus_dispatch(run->bus, job, JOB_TIMEOUT_MS, on_started, p);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(const double *sorted, guint n, double q)
{
  guint i = (guint)(q * (n - 1) + 0.5);
  return n ? sorted[MIN(i, n - 1)] : 0;
}

typedef struct {
  const char *backend;
  guint k, n, errors;
  double secs, rate, p50, p95, max;
  char split[64];
} Row;

static Row run_pairs(SlBus *bus, const char *backend, guint n, guint k, guint seq)
{
  Run run = {0};
  Row row = {.backend = backend, .k = k, .n = n};
  g_autofree char *tag = g_strdup_printf("bench-%s-%u-%u-%d", backend, k, seq, (int)getpid());
  g_autoptr(GList) keys = NULL;
  double *ok;
  guint nok = 0;
  gint64 t0;

  run.bus = bus;
  run.tag = tag;
  run.n = n;
  run.k = k;
  run.lat_ms = g_new0(double, n);
  for (guint i = 0; i < n; i++)
    run.lat_ms[i] = -1;
  run.per_worker = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  t0 = g_get_monotonic_time();
  for (guint i = 0; i < k; i++)
    pair_start(&run);
  if (!spin_until(&run.done, 600000))
    g_error("%s K=%u: %u of %u pairs finished in 600 s", backend, k, run.finished, n);
  row.secs = (g_get_monotonic_time() - t0) / 1e6;

  ok = g_new(double, n);
  for (guint i = 0; i < n; i++)
    if (run.lat_ms[i] >= 0)
      ok[nok++] = run.lat_ms[i];
  qsort(ok, nok, sizeof *ok, cmp_double);
  row.errors = run.errors;
  row.rate = nok / row.secs;
  row.p50 = pct(ok, nok, 0.50);
  row.p95 = pct(ok, nok, 0.95);
  row.max = nok ? ok[nok - 1] : 0;
  keys = g_hash_table_get_keys(run.per_worker);
  keys = g_list_sort(keys, (GCompareFunc)strcmp);
  for (GList *l = keys; l; l = l->next)
    g_snprintf(row.split + strlen(row.split), sizeof row.split - strlen(row.split), "%s%s %u",
               l == keys ? "" : " / ", (char *)l->data,
               GPOINTER_TO_UINT(g_hash_table_lookup(run.per_worker, l->data)));
  if (run.first_error)
    g_printerr("%s K=%u: %u errors, first: %s\n", backend, k, run.errors, run.first_error);
  g_free(run.first_error);
  g_hash_table_unref(run.per_worker);
  g_free(run.lat_ms);
  g_free(ok);
  return row;
}

/* ---- redis-server and worker processes ------------------------------------------------------ */

static int free_port(void)
{
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
    g_error("no free port");
  close(fd);
  return ntohs(sa.sin_port);
}

static void die_with_parent(gpointer data)
{
  prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static gboolean drain(gint fd, GIOCondition cond, gpointer data)
{
  char buf[4096];
  return read(fd, buf, sizeof buf) > 0 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static GPid redis_start(int port, const char *dir)
{
  g_autofree char *p = g_strdup_printf("%d", port);
  const char *argv[] = {"redis-server", "--port", p,       "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no",     "--dir", dir,      NULL};
  g_autoptr(GError) err = NULL;
  g_autoptr(GString) log = g_string_new(NULL);
  gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  GPid pid;
  int out;

  if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, die_with_parent,
                                NULL, &pid, NULL, &out, NULL, &err))
    g_error("redis-server: %s", err->message);
  while (strstr(log->str, "Ready to accept connections") == NULL) {
    struct pollfd pfd = {.fd = out, .events = POLLIN};
    char buf[1024];
    ssize_t n;
    int left = (int)((deadline - g_get_monotonic_time()) / 1000);
    if (left <= 0 || poll(&pfd, 1, left) <= 0)
      g_error("redis-server did not start on port %d: %s", port, log->str);
    n = read(out, buf, sizeof buf);
    if (n <= 0)
      g_error("redis-server exited: %s", log->str);
    g_string_append_len(log, buf, n);
  }
  g_unix_set_fd_nonblocking(out, TRUE, NULL);
  g_unix_fd_add(out, G_IO_IN | G_IO_HUP, drain, NULL);
  return pid;
}

static char *redis_version(void)
{
  g_autofree char *out = NULL;
  const char *v;
  if (!g_spawn_command_line_sync("redis-server --version", &out, NULL, NULL, NULL) || out == NULL)
    return g_strdup("?");
  v = strstr(out, "v=");
  return v ? g_strndup(v + 2, strcspn(v + 2, " \n")) : g_strstrip(g_strdup(out));
}

static GPid worker_spawn(const char *self, const char *id, int port)
{
  g_autofree char *p = g_strdup_printf("%d", port);
  const char *argv[] = {self, "--worker", id, "--port", p, NULL};
  g_autoptr(GError) err = NULL;
  GPid pid;
  if (!g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &err))
    g_error("worker %s: %s", id, err->message);
  return pid;
}

static void stop_child(GPid pid, int sig)
{
  if (pid <= 0)
    return;
  kill(pid, sig);
  waitpid(pid, NULL, 0);
  g_spawn_close_pid(pid);
}

/* ---- Main ----------------------------------------------------------------------------------- */

static void print_row(GString *out, const Row *r)
{
  g_string_append_printf(
      out, "| %-6s | %2u | %5u | %6.2f | %7.0f | %6.2f | %6.2f | %6.2f | %s |%s\n", r->backend,
      r->k, r->n, r->secs, r->rate, r->p50, r->p95, r->max, r->split, r->errors ? " ERRORS" : "");
}

int main(int argc, char **argv)
{
  const char *worker_id = NULL;
  int worker_port = 0;
  int pairs = 5000;
  const char *out_path = NULL;
  const guint ks[] = {1, 32};
  GOptionEntry entries[] = {
      {"worker", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &worker_id, "run as worker ID",
       "ID"},
      {"port", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &worker_port, "Redis port", "P"},
      {"pairs", 'n', 0, G_OPTION_ARG_INT, &pairs, "start/stop pairs per run (5000)", "N"},
      {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "also write the table here", "FILE"},
      {NULL}};
  g_autoptr(GOptionContext) ctx = g_option_context_new("- job-bus throughput");
  g_autoptr(GError) err = NULL;
  g_autoptr(GString) out = g_string_new(NULL);
  g_autofree char *self = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *rver = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_local();
  g_autofree char *date = g_date_time_format(now, "%Y-%m-%d %H:%M");
  GPid redis = 0, w1 = 0, w2 = 0;
  int port;
  GArray *rows = g_array_new(FALSE, FALSE, sizeof(Row));
  struct utsname un;

  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    g_printerr("%s\n", err->message);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  if (worker_id != NULL)
    return worker_main(worker_id, worker_port);
  if (pairs < 1)
    pairs = 1;

  /* Local: three peer buses in this process. */
  {
    SlBus *req = sl_bus_new_local("requester");
    SlBus *lw[2];
    Worker wk[2] = {{.id = "w1"}, {.id = "w2"}};
    for (int i = 0; i < 2; i++) {
      lw[i] = sl_bus_new_local_peer(req, wk[i].id);
      sl_bus_set_handlers(lw[i], &worker_handlers, &wk[i]);
      bus_register(lw[i], wk[i].id);
    }
    wait_workers(req, 2);
    run_pairs(req, "local", MIN(pairs, 200), 32, 0); /* warm-up */
    for (guint i = 0; i < G_N_ELEMENTS(ks); i++) {
      Row r = run_pairs(req, "local", pairs, ks[i], i + 1);
      g_array_append_val(rows, r);
    }
    for (int i = 0; i < 2; i++)
      sl_bus_free(lw[i]);
    sl_bus_free(req);
  }

  /* Redis: our own server, two worker processes, the requester here. */
  self = g_file_read_link("/proc/self/exe", NULL);
  if (g_find_program_in_path("redis-server") == NULL) {
    g_printerr("redis-server is not installed (scripts/deps.sh --test installs it)\n");
    return 1;
  }
  rver = redis_version();
  dir = g_dir_make_tmp("sluice-bench-bus-XXXXXX", NULL);
  port = free_port();
  redis = redis_start(port, dir);
  w1 = worker_spawn(self, "w1", port);
  w2 = worker_spawn(self, "w2", port);
  {
    g_autofree char *addr = g_strdup_printf("127.0.0.1:%d", port);
    SlRedisConfig cfg = {.address = addr};
    SlBus *req = sl_bus_new_redis(&cfg, "requester", &err);
    if (req == NULL)
      g_error("requester: %s", err->message);
    wait_workers(req, 2);
    run_pairs(req, "redis", MIN(pairs, 200), 32, 0); /* warm-up */
    for (guint i = 0; i < G_N_ELEMENTS(ks); i++) {
      Row r = run_pairs(req, "redis", pairs, ks[i], i + 1);
      g_array_append_val(rows, r);
    }
    sl_bus_free(req);
  }
  stop_child(w1, SIGTERM);
  stop_child(w2, SIGTERM);
  stop_child(redis, SIGKILL);
  rmdir(dir);

  uname(&un);
  g_string_append_printf(out, "sluice job-bus throughput (bench/bus.sh), %s\n", date);
  g_string_append_printf(out, "machine: %ld cores (nproc), %s %s; redis-server %s\n",
                         sysconf(_SC_NPROCESSORS_ONLN), un.sysname, un.release, rver);
  g_string_append_printf(
      out, "method: a pair = sl_bus_dispatch of a start job (both workers bid, one runs it and "
           "answers at once) then sl_bus_control \"stop\" to that worker; K pairs in flight, "
           "N pairs per run after a 200-pair warm-up.\n");
  g_string_append_printf(
      out, "        redis: own redis-server on loopback (--save '' --appendonly no), 2 worker "
           "processes + requester in a 3rd; local: 3 peer buses in one process. Latency = "
           "dispatch call to stop answer.\n\n");
  g_string_append_printf(out,
                         "| bus    |  K |     N |  secs  | pairs/s | p50 ms | p95 ms | max ms | "
                         "jobs per worker |\n");
  g_string_append_printf(out, "|---|---|---|---|---|---|---|---|---|\n");
  for (guint i = 0; i < rows->len; i++)
    print_row(out, &g_array_index(rows, Row, i));
  g_string_append_printf(out, "\ntarget: >= 500 pairs/s across 2 workers (issue 4)\n");
  g_string_append_printf(out, "note: local is first-bidder-wins in one process (w1 takes every "
                              "job); only the redis rows spread jobs across two workers.\n");
  fputs(out->str, stdout);
  if (out_path != NULL && !g_file_set_contents(out_path, out->str, -1, &err)) {
    g_printerr("%s: %s\n", out_path, err->message);
    return 1;
  }
  for (guint i = 0; i < rows->len; i++)
    if (g_array_index(rows, Row, i).errors)
      return 1;
  g_array_unref(rows);
  return 0;
}
