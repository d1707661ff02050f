/* Unit tests for core/metrics.c: exact exposition text, registration rules, concurrent updates,
 * and `promtool check metrics` on the output when promtool is installed. */
#include "metrics.h"

#include <glib-unix.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const L_METHOD[] = {"method", NULL};
static const char *const L_PATH_CODE[] = {"path", "code", NULL};
static const char *const L_WHICH[] = {"which", NULL};

#define V1(a)    ((const char *const[]){(a), NULL})
#define V2(a, b) ((const char *const[]){(a), (b), NULL})

/* A registry exercising escaping, ordering and number formatting. */
static SlMetrics *small_registry(void)
{
  SlMetrics *m = sl_metrics_new();
  g_autoptr(GError) error = NULL;
  SlMetricFamily *reqs, *lat, *special, *idle, *unused;

  /* Registered out of name order on purpose. */
  reqs = sl_metrics_register(m, SL_METRIC_COUNTER, "http_requests_total", "Requests served.",
                             L_METHOD, &error);
  g_assert_no_error(error);
  special = sl_metrics_register(m, SL_METRIC_GAUGE, "special_values", "NaN and infinities.",
                                L_WHICH, &error);
  g_assert_no_error(error);
  lat = sl_metrics_register(m, SL_METRIC_GAUGE, "api_latency_seconds",
                            "Latency by path.\nSecond line with a \\ backslash.", L_PATH_CODE,
                            &error);
  g_assert_no_error(error);
  idle = sl_metrics_register(m, SL_METRIC_GAUGE, "idle_ratio", "Idle.", NULL, &error);
  g_assert_no_error(error);
  unused = sl_metrics_register(m, SL_METRIC_GAUGE, "zz_unused", "No samples yet.", L_WHICH, &error);
  g_assert_no_error(error);
  g_assert_nonnull(idle);
  g_assert_nonnull(unused);

  for (int i = 0; i < 3; i++)
    g_assert_true(sl_metric_add(reqs, V1("GET"), 1));
  g_assert_true(sl_metric_add(reqs, V1("POST"), 12345678901.0));

  g_assert_true(sl_metric_set(lat, V2("/x\\y\nz", "500"), -2.5e-7));
  g_assert_true(sl_metric_set(lat, V2("/a\"b", "404"), 0.1));
  g_assert_true(sl_metric_set(lat, V2("/a\"b", "200"), 1.5));

  g_assert_true(sl_metric_set(special, V1("zero"), -0.0));
  g_assert_true(sl_metric_set(special, V1("pos"), INFINITY));
  g_assert_true(sl_metric_set(special, V1("neg"), -INFINITY));
  g_assert_true(sl_metric_set(special, V1("nan"), NAN));
  g_assert_true(sl_metric_set(special, V1("big"), 1e21));
  g_assert_true(sl_metric_set(special, V1("sum"), 0.1 + 0.2));
  return m;
}

static const char SMALL_EXPECTED[] =
    "# HELP api_latency_seconds Latency by path.\\nSecond line with a \\\\ backslash.\n"
    "# TYPE api_latency_seconds gauge\n"
    "api_latency_seconds{path=\"/a\\\"b\",code=\"200\"} 1.5\n"
    "api_latency_seconds{path=\"/a\\\"b\",code=\"404\"} 0.1\n"
    "api_latency_seconds{path=\"/x\\\\y\\nz\",code=\"500\"} -2.5e-07\n"
    "# HELP http_requests_total Requests served.\n"
    "# TYPE http_requests_total counter\n"
    "http_requests_total{method=\"GET\"} 3\n"
    "http_requests_total{method=\"POST\"} 12345678901\n"
    "# HELP idle_ratio Idle.\n"
    "# TYPE idle_ratio gauge\n"
    "idle_ratio 0\n"
    "# HELP special_values NaN and infinities.\n"
    "# TYPE special_values gauge\n"
    "special_values{which=\"big\"} 1e+21\n"
    "special_values{which=\"nan\"} NaN\n"
    "special_values{which=\"neg\"} -Inf\n"
    "special_values{which=\"pos\"} +Inf\n"
    "special_values{which=\"sum\"} 0.30000000000000004\n"
    "special_values{which=\"zero\"} 0\n";

static void test_render_exact(void)
{
  g_autoptr(SlMetrics) m = small_registry();
  g_autofree char *text = sl_metrics_render(m);

  g_assert_cmpstr(text, ==, SMALL_EXPECTED);

  /* Rendering again gives the same bytes. */
  g_autofree char *again = sl_metrics_render(m);
  g_assert_cmpstr(again, ==, text);
}

static void test_remove(void)
{
  g_autoptr(SlMetrics) m = sl_metrics_new();
  SlMetricFamily *g =
      sl_metrics_register(m, SL_METRIC_GAUGE, "sessions", "Live sessions.", L_METHOD, NULL);
  g_autofree char *empty = NULL;
  g_autofree char *one = NULL;
  double v = -1;

  g_assert_true(sl_metric_set(g, V1("rtmp"), 2));
  g_assert_true(sl_metric_set(g, V1("whip"), 1));
  g_assert_true(sl_metric_get(g, V1("rtmp"), &v));
  g_assert_cmpfloat(v, ==, 2);
  g_assert_true(sl_metric_remove(g, V1("rtmp")));
  g_assert_false(sl_metric_remove(g, V1("rtmp")));
  g_assert_false(sl_metric_get(g, V1("rtmp"), &v));
  one = sl_metrics_render(m);
  g_assert_cmpstr(
      one, ==,
      "# HELP sessions Live sessions.\n# TYPE sessions gauge\nsessions{method=\"whip\"} 1\n");
  g_assert_true(sl_metric_remove(g, V1("whip")));
  empty = sl_metrics_render(m);
  g_assert_cmpstr(empty, ==, "");
}

static void test_invalid_utf8_label(void)
{
  g_autoptr(SlMetrics) m = sl_metrics_new();
  SlMetricFamily *g = sl_metrics_register(m, SL_METRIC_GAUGE, "rooms", "Rooms.", L_WHICH, NULL);
  g_autofree char *text = NULL;
  double v = 0;

  g_assert_true(sl_metric_set(g, V1("caf\xe9"), 1));
  /* The same bytes find the same (repaired) sample. */
  g_assert_true(sl_metric_add(g, V1("caf\xe9"), 1));
  g_assert_true(sl_metric_get(g, V1("caf\xef\xbf\xbd"), &v));
  g_assert_cmpfloat(v, ==, 2);
  text = sl_metrics_render(m);
  g_assert_true(g_utf8_validate(text, -1, NULL));
  g_assert_nonnull(strstr(text, "rooms{which=\"caf\xef\xbf\xbd\"} 2\n"));
}

static void test_counter_rules(void)
{
  g_autoptr(SlMetrics) m = sl_metrics_new();
  SlMetricFamily *c = sl_metrics_register(m, SL_METRIC_COUNTER, "jobs_total", "Jobs.", NULL, NULL);
  SlMetricFamily *g = sl_metrics_register(m, SL_METRIC_GAUGE, "load", "Load.", NULL, NULL);
  double v = -1;

  g_assert_true(sl_metric_get(c, NULL, &v));
  g_assert_cmpfloat(v, ==, 0);
  g_assert_true(sl_metric_add(c, NULL, 2.5));
  g_assert_false(sl_metric_add(c, NULL, -1));
  g_assert_false(sl_metric_add(c, NULL, NAN));
  g_assert_false(sl_metric_set(c, NULL, -3));
  g_assert_true(sl_metric_get(c, NULL, &v));
  g_assert_cmpfloat(v, ==, 2.5);
  g_assert_true(sl_metric_set(c, NULL, 10));
  g_assert_true(sl_metric_get(c, NULL, &v));
  g_assert_cmpfloat(v, ==, 10);

  g_assert_true(sl_metric_add(g, NULL, -0.25));
  g_assert_true(sl_metric_get(g, (const char *const[]){NULL}, &v));
  g_assert_cmpfloat(v, ==, -0.25);
}

static void test_wrong_label_count(void)
{
  if (g_test_subprocess()) {
    g_autoptr(SlMetrics) m = sl_metrics_new();
    SlMetricFamily *g =
        sl_metrics_register(m, SL_METRIC_GAUGE, "pairs", "Pairs.", L_PATH_CODE, NULL);
    sl_metric_set(g, V1("only-one"), 1);
    return;
  }
  g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed();
  g_test_trap_assert_stderr("*metric pairs: 1 label values given, 2 expected*");
}

static void expect_register_error(SlMetrics *m, SlMetricKind kind, const char *name,
                                  const char *help, const char *const *labels, gint code,
                                  const char *message)
{
  g_autoptr(GError) error = NULL;

  g_assert_null(sl_metrics_register(m, kind, name, help, labels, &error));
  g_assert_error(error, SL_METRICS_ERROR, code);
  g_assert_cmpstr(error->message, ==, message);
}

static void test_registration(void)
{
  g_autoptr(SlMetrics) m = sl_metrics_new();
  g_autoptr(GError) error = NULL;
  SlMetricFamily *a, *b;

  a = sl_metrics_register(m, SL_METRIC_GAUGE, "livekit_ingress_available", "Can accept.",
                          (const char *const[]){"node_id", NULL}, &error);
  g_assert_no_error(error);
  g_assert_nonnull(a);

  /* Identical: the same family back. */
  b = sl_metrics_register(m, SL_METRIC_GAUGE, "livekit_ingress_available", "Can accept.",
                          (const char *const[]){"node_id", NULL}, &error);
  g_assert_no_error(error);
  g_assert_true(a == b);
  g_assert_true(sl_metrics_lookup(m, "livekit_ingress_available") == a);
  g_assert_null(sl_metrics_lookup(m, "nothing"));

  expect_register_error(m, SL_METRIC_COUNTER, "livekit_ingress_available", "Can accept.",
                        (const char *const[]){"node_id", NULL}, SL_METRICS_ERROR_CONFLICT,
                        "metric livekit_ingress_available is already registered (gauge) with "
                        "different kind");
  expect_register_error(m, SL_METRIC_GAUGE, "livekit_ingress_available", "Can accept.",
                        (const char *const[]){"node_id", "type", NULL}, SL_METRICS_ERROR_CONFLICT,
                        "metric livekit_ingress_available is already registered (gauge) with "
                        "different label names");
  expect_register_error(m, SL_METRIC_GAUGE, "livekit_ingress_available", "Can accept.", NULL,
                        SL_METRICS_ERROR_CONFLICT,
                        "metric livekit_ingress_available is already registered (gauge) with "
                        "different label names");
  expect_register_error(m, SL_METRIC_GAUGE, "livekit_ingress_available", "Other help.",
                        (const char *const[]){"node_id", NULL}, SL_METRICS_ERROR_CONFLICT,
                        "metric livekit_ingress_available is already registered (gauge) with "
                        "different help text");

  /* Names. Colons are legal in metric names (recording rules use them), never in labels. */
  g_assert_nonnull(sl_metrics_register(m, SL_METRIC_GAUGE, "job:rate5m", "x", NULL, NULL));
  g_assert_nonnull(sl_metrics_register(m, SL_METRIC_GAUGE, "_private", "x", NULL, NULL));
  expect_register_error(m, SL_METRIC_GAUGE, "1st", "x", NULL, SL_METRICS_ERROR_INVALID_NAME,
                        "invalid metric name \"1st\"");
  expect_register_error(m, SL_METRIC_GAUGE, "a-b", "x", NULL, SL_METRICS_ERROR_INVALID_NAME,
                        "invalid metric name \"a-b\"");
  expect_register_error(m, SL_METRIC_GAUGE, "", "x", NULL, SL_METRICS_ERROR_INVALID_NAME,
                        "invalid metric name \"\"");
  expect_register_error(m, SL_METRIC_GAUGE, "ok", "x", (const char *const[]){"a:b", NULL},
                        SL_METRICS_ERROR_INVALID_NAME, "metric ok: invalid label name \"a:b\"");
  expect_register_error(m, SL_METRIC_GAUGE, "ok", "x", (const char *const[]){"9a", NULL},
                        SL_METRICS_ERROR_INVALID_NAME, "metric ok: invalid label name \"9a\"");
  expect_register_error(m, SL_METRIC_GAUGE, "ok", "x", (const char *const[]){"__name__", NULL},
                        SL_METRICS_ERROR_INVALID_NAME,
                        "metric ok: label name \"__name__\" is reserved");
  expect_register_error(m, SL_METRIC_GAUGE, "ok", "x", (const char *const[]){"a", "b", "a", NULL},
                        SL_METRICS_ERROR_INVALID_NAME, "metric ok: label name \"a\" repeated");
  g_assert_null(sl_metrics_lookup(m, "ok"));
}

static void test_parse_max_open_files(void)
{
  g_autoptr(GError) error = NULL;
  double v = 0;
  const char *limits =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max cpu time              unlimited            unlimited            seconds   \n"
      "Max open files            1024                 524288               files     \n"
      "Max locked memory         8388608              8388608              bytes     \n";

  g_assert_true(sl_metrics_parse_max_open_files(limits, &v, &error));
  g_assert_no_error(error);
  g_assert_cmpfloat(v, ==, 1024);

  g_assert_true(
      sl_metrics_parse_max_open_files("Max open files unlimited unlimited files\n", &v, &error));
  g_assert_true(isinf(v) && v > 0);

  g_assert_false(sl_metrics_parse_max_open_files("Max open files lots lots files\n", &v, &error));
  g_assert_error(error, SL_METRICS_ERROR, SL_METRICS_ERROR_PARSE);
  g_clear_error(&error);
  g_assert_false(sl_metrics_parse_max_open_files("Max cpu time 1 1 seconds\n", &v, &error));
  g_assert_error(error, SL_METRICS_ERROR, SL_METRICS_ERROR_PARSE);
}

static void count_calls(SlMetrics *m, gpointer data)
{
  SlMetricFamily *f = sl_metrics_lookup(m, "collect_calls_total");
  int *calls = data;

  (*calls)++;
  sl_metric_add(f, NULL, 1);
}

static void test_collectors_and_process(void)
{
  g_autoptr(SlMetrics) m = sl_metrics_new();
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *text = NULL;
  SlMetricFamily *f;
  int calls = 0;
  double v = 0;

  sl_metrics_register(m, SL_METRIC_COUNTER, "collect_calls_total", "Collector runs.", NULL, NULL);
  sl_metrics_add_collector(m, count_calls, &calls);
  first = sl_metrics_render(m);
  g_assert_cmpint(calls, ==, 1);
  /* The collector ran before rendering, so its update is in the same scrape. */
  g_assert_nonnull(strstr(first, "\ncollect_calls_total 1\n"));

  if (!g_file_test("/proc/self/stat", G_FILE_TEST_EXISTS)) {
    g_test_skip("no /proc on this system");
    return;
  }
  g_assert_true(sl_metrics_add_process_collector(m, &error));
  g_assert_no_error(error);
  text = sl_metrics_render(m);
  g_assert_cmpint(calls, ==, 2);

  f = sl_metrics_lookup(m, "process_open_fds");
  g_assert_true(sl_metric_get(f, NULL, &v));
  g_assert_cmpfloat(v, >=, 3);
  f = sl_metrics_lookup(m, "process_max_fds");
  g_assert_true(sl_metric_get(f, NULL, &v));
  g_assert_cmpfloat(v, >=, 3);
  f = sl_metrics_lookup(m, "process_resident_memory_bytes");
  g_assert_true(sl_metric_get(f, NULL, &v));
  g_assert_cmpfloat(v, >, 0);
  f = sl_metrics_lookup(m, "process_virtual_memory_bytes");
  g_assert_true(sl_metric_get(f, NULL, &v));
  g_assert_cmpfloat(v, >, 0);
  f = sl_metrics_lookup(m, "process_start_time_seconds");
  g_assert_true(sl_metric_get(f, NULL, &v));
  /* Started within the last day, by the wall clock. */
  g_assert_cmpfloat(v, >, (double)g_get_real_time() / G_USEC_PER_SEC - 86400);
  g_assert_cmpfloat(v, <=, (double)g_get_real_time() / G_USEC_PER_SEC + 1);
  g_assert_nonnull(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));

  /* A conflicting earlier registration makes the process collector fail cleanly. */
  {
    g_autoptr(SlMetrics) other = sl_metrics_new();
    sl_metrics_register(other, SL_METRIC_GAUGE, "process_open_fds", "Mine.", NULL, NULL);
    g_assert_false(sl_metrics_add_process_collector(other, &error));
    g_assert_error(error, SL_METRICS_ERROR, SL_METRICS_ERROR_CONFLICT);
  }
}

/* ------------------------------------------------------------------------------------------ */

#define N_THREADS 4
#define N_ITER    20000

typedef struct {
  SlMetrics *m;
  int index;
} Worker;

static gpointer worker_main(gpointer data)
{
  Worker *w = data;
  char label[16];
  SlMetricFamily *c, *g;

  /* Every thread registers the same families; all must get the same pointers. */
  c = sl_metrics_register(w->m, SL_METRIC_COUNTER, "packets_total", "Packets.", L_METHOD, NULL);
  g = sl_metrics_register(w->m, SL_METRIC_GAUGE, "last_seen", "Last value.", L_METHOD, NULL);
  g_assert_nonnull(c);
  g_assert_nonnull(g);
  g_snprintf(label, sizeof label, "t%d", w->index % 2);
  for (int i = 0; i < N_ITER; i++) {
    sl_metric_add(c, V1(label), 1);
    sl_metric_add(c, V1("all"), 0.5);
    sl_metric_set(g, V1(label), i);
    if (i % 1000 == 0) {
      g_autofree char *k = g_strdup_printf("tmp%d", w->index);
      sl_metric_set(g, V1(k), 1);
      sl_metric_remove(g, V1(k));
    }
  }
  return NULL;
}

static void test_concurrent_updates(void)
{
  g_autoptr(SlMetrics) m = sl_metrics_new();
  GThread *threads[N_THREADS];
  Worker workers[N_THREADS];
  SlMetricFamily *c;
  double v = 0;

  for (int i = 0; i < N_THREADS; i++) {
    workers[i] = (Worker){m, i};
    threads[i] = g_thread_new("metrics-worker", worker_main, &workers[i]);
  }
  /* Scrape while they write. */
  for (int i = 0; i < 50; i++) {
    g_autofree char *text = sl_metrics_render(m);
    g_assert_nonnull(text);
  }
  for (int i = 0; i < N_THREADS; i++)
    g_thread_join(threads[i]);

  c = sl_metrics_lookup(m, "packets_total");
  g_assert_nonnull(c);
  g_assert_true(sl_metric_get(c, V1("t0"), &v));
  g_assert_cmpfloat(v, ==, (double)N_ITER * N_THREADS / 2);
  g_assert_true(sl_metric_get(c, V1("t1"), &v));
  g_assert_cmpfloat(v, ==, (double)N_ITER * N_THREADS / 2);
  g_assert_true(sl_metric_get(c, V1("all"), &v));
  g_assert_cmpfloat(v, ==, (double)N_ITER * N_THREADS * 0.5);
  g_assert_true(sl_metric_get(sl_metrics_lookup(m, "last_seen"), V1("t0"), &v));
  g_assert_cmpfloat(v, ==, N_ITER - 1);
  g_assert_false(sl_metric_get(sl_metrics_lookup(m, "last_seen"), V1("tmp0"), &v));
}

/* ------------------------------------------------------------------------------------------ */
/* promtool */

/* Feeds @text to `promtool check metrics` on stdin and returns its exit status, with everything
 * it printed in *@output. Skips the test when promtool is not installed. */
static gboolean run_promtool(const char *text, int *out_status, char **output)
{
  g_autofree char *promtool = g_find_program_in_path("promtool");
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) out = g_string_new(NULL);
  const char *argv[] = {NULL, "check", "metrics", NULL};
  int in_pipe[2], out_pipe[2];
  const char *p;
  gsize left;
  GPid pid;
  int status;

  if (promtool == NULL) {
    g_test_skip("promtool is not on PATH (Debian package prometheus)");
    return FALSE;
  }
  argv[0] = promtool;
  g_assert_true(g_unix_open_pipe(in_pipe, FD_CLOEXEC, &error));
  g_assert_true(g_unix_open_pipe(out_pipe, FD_CLOEXEC, &error));
  /* stdout and stderr share one pipe, read after stdin is closed; promtool only writes once it
   * has parsed all its input, so this cannot deadlock. */
  g_assert_true(g_spawn_async_with_pipes_and_fds(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                                 NULL, in_pipe[0], out_pipe[1], out_pipe[1], NULL,
                                                 NULL, 0, &pid, NULL, NULL, NULL, &error));
  g_assert_no_error(error);
  close(in_pipe[0]);
  close(out_pipe[1]);

  for (p = text, left = strlen(text); left > 0;) {
    ssize_t n = write(in_pipe[1], p, left);
    if (n < 0 && errno == EINTR)
      continue;
    g_assert_cmpint(n, >, 0);
    p += n;
    left -= (gsize)n;
  }
  close(in_pipe[1]);

  for (;;) {
    char buf[4096];
    ssize_t n = read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    g_assert_cmpint(n, >=, 0);
    if (n == 0)
      break;
    g_string_append_len(out, buf, n);
  }
  close(out_pipe[0]);

  while (waitpid(pid, &status, 0) < 0)
    g_assert_cmpint(errno, ==, EINTR);
  g_spawn_close_pid(pid);
  g_assert_true(WIFEXITED(status));
  *out_status = WEXITSTATUS(status);
  *output = g_strdup(out->str);
  return TRUE;
}

static void test_promtool(void)
{
  g_autoptr(SlMetrics) m = small_registry();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *output = NULL;
  SlMetricFamily *f;
  int status = -1;

  /* The families sluice serves in production, next to the formatting edge cases. */
  if (g_file_test("/proc/self/stat", G_FILE_TEST_EXISTS)) {
    g_assert_true(sl_metrics_add_process_collector(m, &error));
    g_assert_no_error(error);
  }
  f = sl_metrics_register(m, SL_METRIC_GAUGE, "livekit_node_cpu_load", "CPU load of the node.",
                          (const char *const[]){"node_id", "node_type", NULL}, &error);
  g_assert_no_error(error);
  sl_metric_set(f, V2("SN_abc", "INGRESS"), 0.4375);
  f = sl_metrics_register(m, SL_METRIC_GAUGE, "livekit_ingress_available",
                          "1 when the node can accept an ingress.",
                          (const char *const[]){"node_id", NULL}, &error);
  g_assert_no_error(error);
  sl_metric_set(f, V1("SN_abc"), 1);

  text = sl_metrics_render(m);
  if (!run_promtool(text, &status, &output))
    return;
  if (status != 0)
    g_error("promtool check metrics exited %d:\n%s\ninput was:\n%s", status, output, text);
}

/* promtool must actually be checking: a broken exposition is refused. */
static void test_promtool_refuses_garbage(void)
{
  g_autofree char *output = NULL;
  int status = 0;

  if (!run_promtool("# TYPE x gauge\nx{a=\"unterminated} 1\n", &status, &output))
    return;
  g_assert_cmpint(status, !=, 0);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/metrics/render-exact", test_render_exact);
  g_test_add_func("/metrics/remove", test_remove);
  g_test_add_func("/metrics/invalid-utf8-label", test_invalid_utf8_label);
  g_test_add_func("/metrics/counter-rules", test_counter_rules);
  g_test_add_func("/metrics/wrong-label-count", test_wrong_label_count);
  g_test_add_func("/metrics/registration", test_registration);
  g_test_add_func("/metrics/parse-max-open-files", test_parse_max_open_files);
  g_test_add_func("/metrics/collectors-and-process", test_collectors_and_process);
  g_test_add_func("/metrics/concurrent-updates", test_concurrent_updates);
  g_test_add_func("/metrics/promtool", test_promtool);
  g_test_add_func("/metrics/promtool-refuses-garbage", test_promtool_refuses_garbage);
  return g_test_run();
}
