/* Unit tests for core/cpu.c: /proc parsers and the monitor's arithmetic, on synthetic text. */
#include "cpu.h"

#include <string.h>
#include <unistd.h>

/* Two samples of a 4-CPU machine. Between them: user +300, nice +0, system +100, idle +500,
 * iowait +50, irq +10, softirq +20, steal +20 → total 1000, busy 450. */
static const char STAT_A[] = "cpu  1000 10 500 8000 100 20 30 40 0 0\n"
                             "cpu0 250 3 125 2000 25 5 7 10 0 0\n"
                             "cpu1 250 3 125 2000 25 5 8 10 0 0\n"
                             "cpu2 250 2 125 2000 25 5 7 10 0 0\n"
                             "cpu3 250 2 125 2000 25 5 8 10 0 0\n"
                             "intr 12345 0 0\n"
                             "ctxt 999\n"
                             "btime 1700000000\n"
                             "processes 42\n";

static const char STAT_B[] = "cpu  1300 10 600 8500 150 30 50 60 7 0\n"
                             "cpu0 325 3 150 2125 37 7 12 15 0 0\n"
                             "cpu1 325 3 150 2125 38 8 13 15 0 0\n"
                             "cpu2 325 2 150 2125 37 7 12 15 0 0\n"
                             "cpu3 325 2 150 2125 38 8 13 15 0 0\n"
                             "btime 1700000000\n";

static void test_parse_proc_stat(void)
{
  g_autoptr(GError) error = NULL;
  SlCpuTimes t;
  guint ncpu = 0;

  g_assert_true(sl_cpu_parse_proc_stat(STAT_A, &t, &ncpu, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(ncpu, ==, 4);
  g_assert_cmpuint(t.user, ==, 1000);
  g_assert_cmpuint(t.nice, ==, 10);
  g_assert_cmpuint(t.system, ==, 500);
  g_assert_cmpuint(t.idle, ==, 8000);
  g_assert_cmpuint(t.iowait, ==, 100);
  g_assert_cmpuint(t.irq, ==, 20);
  g_assert_cmpuint(t.softirq, ==, 30);
  g_assert_cmpuint(t.steal, ==, 40);
  g_assert_cmpuint(sl_cpu_times_total(&t), ==, 9700);
  g_assert_cmpuint(sl_cpu_times_busy(&t), ==, 1600);

  /* Out pointers are optional. */
  g_assert_true(sl_cpu_parse_proc_stat(STAT_A, NULL, NULL, NULL));
}

static void test_parse_proc_stat_old_kernel(void)
{
  g_autoptr(GError) error = NULL;
  SlCpuTimes t;
  guint ncpu = 0;

  /* 2.4-era: four fields; no trailing newline on the last line. */
  g_assert_true(sl_cpu_parse_proc_stat("cpu  10 1 5 84\ncpu0 10 1 5 84", &t, &ncpu, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(ncpu, ==, 1);
  g_assert_cmpuint(t.idle, ==, 84);
  g_assert_cmpuint(t.iowait, ==, 0);
  g_assert_cmpuint(t.steal, ==, 0);

  /* 2.6.0-era: seven fields. */
  g_assert_true(sl_cpu_parse_proc_stat(
      "cpu 1 2 3 4 5 6 7\ncpu0 1 2 3 4 5 6 7\ncpu1 0 0 0 0 0 0 0\n", &t, &ncpu, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(ncpu, ==, 2);
  g_assert_cmpuint(t.softirq, ==, 7);
  g_assert_cmpuint(t.steal, ==, 0);
}

static void expect_proc_stat_error(const char *text, const char *fragment)
{
  g_autoptr(GError) error = NULL;
  SlCpuTimes t;
  guint ncpu;

  g_assert_false(sl_cpu_parse_proc_stat(text, &t, &ncpu, &error));
  g_assert_error(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE);
  if (strstr(error->message, fragment) == NULL)
    g_error("error \"%s\" does not mention \"%s\"", error->message, fragment);
}

static void test_parse_proc_stat_malformed(void)
{
  expect_proc_stat_error("", "no aggregate");
  expect_proc_stat_error("intr 1 2 3\nctxt 4\n", "no aggregate");
  expect_proc_stat_error("cpu  1 2 3\ncpu0 1 2 3 4\n", "at least 4");
  expect_proc_stat_error("cpu  1 2 x 4\ncpu0 1 2 3 4\n", "field 3");
  expect_proc_stat_error("cpu  1 2 -3 4\ncpu0 1 2 3 4\n", "field 3");
  expect_proc_stat_error("cpu  1 2 3 4\n", "no cpuN");
  expect_proc_stat_error("cpu  1 2 3 4\ncpu0 1 2 3 4\ncpu  1 2 3 4\n", "line 3");
  expect_proc_stat_error("cpu  1 2 3 99999999999999999999\ncpu0 1 2 3 4\n", "field 4");
  expect_proc_stat_error("cpu  1 2 3 4\ncpu0x 1 2 3 4\n", "per-cpu");
}

static void test_parse_boot_time(void)
{
  g_autoptr(GError) error = NULL;
  guint64 btime = 0;

  g_assert_true(sl_cpu_parse_boot_time(STAT_A, &btime, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(btime, ==, 1700000000);

  g_assert_false(sl_cpu_parse_boot_time("cpu 1 2 3 4\n", &btime, &error));
  g_assert_error(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE);
  g_clear_error(&error);
  g_assert_false(sl_cpu_parse_boot_time("btime soon\n", &btime, &error));
  g_assert_error(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE);
}

/* Builds a /proc/<pid>/stat line with the given comm and the fields sluice reads. */
static char *pid_stat(int pid, const char *comm, guint64 utime, guint64 stime, int threads,
                      guint64 starttime, gint64 rss)
{
  return g_strdup_printf("%d (%s) S 1 100 100 0 -1 4194560 500 0 0 0 %" G_GUINT64_FORMAT
                         " %" G_GUINT64_FORMAT " 0 0 20 0 %d 0 %" G_GUINT64_FORMAT
                         " 123456789 %" G_GINT64_FORMAT
                         " 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 2 0 0 0 0 0\n",
                         pid, comm, utime, stime, threads, starttime, rss);
}

static void test_parse_pid_stat(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = pid_stat(4242, "gst-launch-1.0", 150, 50, 12, 98765, 2048);
  SlProcStat st;

  g_assert_true(sl_cpu_parse_pid_stat(text, &st, &error));
  g_assert_no_error(error);
  g_assert_cmpint(st.pid, ==, 4242);
  g_assert_cmpstr(st.comm, ==, "gst-launch-1.0");
  g_assert_cmpint(st.state, ==, 'S');
  g_assert_cmpuint(st.utime, ==, 150);
  g_assert_cmpuint(st.stime, ==, 50);
  g_assert_cmpint(st.num_threads, ==, 12);
  g_assert_cmpuint(st.starttime, ==, 98765);
  g_assert_cmpuint(st.vsize, ==, 123456789);
  g_assert_cmpint(st.rss_pages, ==, 2048);
}

static void test_parse_pid_stat_tricky_comm(void)
{
  g_autoptr(GError) error = NULL;
  /* A comm made to look like the end of the name and a state field. */
  g_autofree char *text = pid_stat(7, "a) R 1 (b) ) x", 11, 22, 3, 44, 55);
  g_autofree char *longname = pid_stat(8,
                                       "0123456789012345678901234567890123456789012345678901234567"
                                       "890123456789",
                                       1, 2, 3, 4, 5);
  SlProcStat st;

  g_assert_true(sl_cpu_parse_pid_stat(text, &st, &error));
  g_assert_no_error(error);
  g_assert_cmpint(st.pid, ==, 7);
  g_assert_cmpstr(st.comm, ==, "a) R 1 (b) ) x");
  g_assert_cmpuint(st.utime, ==, 11);
  g_assert_cmpuint(st.stime, ==, 22);
  g_assert_cmpint(st.num_threads, ==, 3);
  g_assert_cmpuint(st.starttime, ==, 44);
  g_assert_cmpint(st.rss_pages, ==, 55);

  /* An over-long comm is truncated, not overflowed. */
  g_assert_true(sl_cpu_parse_pid_stat(longname, &st, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(strlen(st.comm), ==, sizeof st.comm - 1);
  g_assert_cmpuint(st.utime, ==, 1);
}

static void expect_pid_stat_error(const char *text, const char *fragment)
{
  g_autoptr(GError) error = NULL;
  SlProcStat st;

  g_assert_false(sl_cpu_parse_pid_stat(text, &st, &error));
  g_assert_error(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE);
  if (strstr(error->message, fragment) == NULL)
    g_error("error \"%s\" does not mention \"%s\"", error->message, fragment);
}

static void test_parse_pid_stat_malformed(void)
{
  expect_pid_stat_error("", "parentheses");
  expect_pid_stat_error("12 cat S 1 2 3", "parentheses");
  expect_pid_stat_error("12 )cat( S 1", "parentheses");
  expect_pid_stat_error("x12 (cat) S 1 2 3", "pid");
  expect_pid_stat_error("12 (cat) 5 1 2 3", "state");
  expect_pid_stat_error("12 (cat) S 1 2 3 4 5 6 7 8 9 10", "only 13 fields");
  expect_pid_stat_error("12 (cat) S 1 2 3 0 -1 4194560 500 0 0 0 1.5 2 0 0 20 0 1 0 7 8 9",
                        "field 14");
}

static void test_monitor_load(void)
{
  g_autoptr(SlCpuMonitor) mon = sl_cpu_monitor_new_full(100);
  g_autoptr(GError) error = NULL;

  g_assert_cmpfloat(sl_cpu_monitor_load(mon), ==, 0.0);
  g_assert_cmpuint(sl_cpu_monitor_ncpu(mon), ==, 0);

  /* The first sample is the average since boot: busy 1600 of 9700. */
  g_assert_true(sl_cpu_monitor_feed(mon, STAT_A, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(sl_cpu_monitor_ncpu(mon), ==, 4);
  g_assert_cmpfloat_with_epsilon(sl_cpu_monitor_load(mon), 1600.0 / 9700.0, 1e-12);

  /* Then the interval: busy 450 of 1000 on 4 CPUs. */
  g_assert_true(sl_cpu_monitor_feed(mon, STAT_B, &error));
  g_assert_no_error(error);
  g_assert_cmpfloat_with_epsilon(sl_cpu_monitor_load(mon), 0.45, 1e-12);
  g_assert_cmpfloat_with_epsilon(sl_cpu_monitor_busy_cores(mon), 1.8, 1e-12);

  /* The same sample again: no ticks passed, the last load stands. */
  g_assert_true(sl_cpu_monitor_feed(mon, STAT_B, &error));
  g_assert_cmpfloat_with_epsilon(sl_cpu_monitor_load(mon), 0.45, 1e-12);

  /* Garbage is refused and changes nothing. */
  g_assert_false(sl_cpu_monitor_feed(mon, "cpu oops\n", &error));
  g_assert_error(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE);
  g_assert_cmpfloat_with_epsilon(sl_cpu_monitor_load(mon), 0.45, 1e-12);
  g_assert_cmpuint(sl_cpu_monitor_ncpu(mon), ==, 4);
}

static void test_monitor_counter_step_back(void)
{
  g_autoptr(SlCpuMonitor) mon = sl_cpu_monitor_new_full(100);

  g_assert_true(sl_cpu_monitor_feed(mon, "cpu 100 0 0 100 50\ncpu0 100 0 0 100 50\n", NULL));
  /* iowait went back by 10: counted as no change, not as a wrap. user +100, idle +100. */
  g_assert_true(sl_cpu_monitor_feed(mon, "cpu 200 0 0 200 40\ncpu0 200 0 0 200 40\n", NULL));
  g_assert_cmpfloat_with_epsilon(sl_cpu_monitor_load(mon), 0.5, 1e-12);
}

static void test_monitor_pid(void)
{
  g_autoptr(SlCpuMonitor) mon = sl_cpu_monitor_new_full(100);
  g_autoptr(GError) error = NULL;
  g_autofree char *s0 = pid_stat(500, "sluice handler", 1000, 200, 8, 5000, 10);
  g_autofree char *s1 = pid_stat(500, "sluice handler", 1250, 250, 8, 5000, 10);
  g_autofree char *s2 = pid_stat(500, "sluice handler", 1350, 250, 8, 5000, 10);
  g_autofree char *reused = pid_stat(500, "other", 10, 0, 1, 9000, 10);
  g_autofree char *wrong = pid_stat(501, "x", 0, 0, 1, 1, 1);
  const gint64 t0 = 1000000000;

  g_assert_cmpfloat(sl_cpu_monitor_pid_cores(mon, 500), ==, 0.0);

  /* First sample sets the baseline. */
  g_assert_true(sl_cpu_monitor_feed_pid(mon, 500, s0, t0, &error));
  g_assert_no_error(error);
  g_assert_cmpfloat(sl_cpu_monitor_pid_cores(mon, 500), ==, 0.0);

  /* +300 ticks at 100 Hz = 3 CPU-seconds in 2 s = 1.5 cores. */
  g_assert_true(sl_cpu_monitor_feed_pid(mon, 500, s1, t0 + 2 * G_USEC_PER_SEC, &error));
  g_assert_cmpfloat_with_epsilon(sl_cpu_monitor_pid_cores(mon, 500), 1.5, 1e-12);

  /* +100 ticks in 4 s = 0.25 cores. */
  g_assert_true(sl_cpu_monitor_feed_pid(mon, 500, s2, t0 + 6 * G_USEC_PER_SEC, &error));
  g_assert_cmpfloat_with_epsilon(sl_cpu_monitor_pid_cores(mon, 500), 0.25, 1e-12);

  /* Text for another pid is refused and leaves the value alone. */
  g_assert_false(sl_cpu_monitor_feed_pid(mon, 500, wrong, t0 + 7 * G_USEC_PER_SEC, &error));
  g_assert_error(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE);
  g_clear_error(&error);
  g_assert_cmpfloat_with_epsilon(sl_cpu_monitor_pid_cores(mon, 500), 0.25, 1e-12);

  /* The pid now belongs to a new process: restart from a baseline. */
  g_assert_true(sl_cpu_monitor_feed_pid(mon, 500, reused, t0 + 8 * G_USEC_PER_SEC, &error));
  g_assert_cmpfloat(sl_cpu_monitor_pid_cores(mon, 500), ==, 0.0);

  sl_cpu_monitor_forget_pid(mon, 500);
  sl_cpu_monitor_forget_pid(mon, 12345);
  g_assert_cmpfloat(sl_cpu_monitor_pid_cores(mon, 500), ==, 0.0);
}

/* The I/O wrapper against the real /proc: only checks that it reads and parses what is there. */
static void test_monitor_sample_live(void)
{
  g_autoptr(SlCpuMonitor) mon = sl_cpu_monitor_new();
  g_autoptr(GError) error = NULL;

  if (!g_file_test("/proc/stat", G_FILE_TEST_EXISTS)) {
    g_test_skip("no /proc/stat on this system");
    return;
  }
  sl_cpu_monitor_track_pid(mon, getpid());
  sl_cpu_monitor_track_pid(mon, 0x7ffffff0); /* no such process: kept, reads as 0 */
  g_assert_true(sl_cpu_monitor_sample(mon, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(sl_cpu_monitor_ncpu(mon), >=, 1);
  g_assert_cmpfloat(sl_cpu_monitor_load(mon), >=, 0.0);
  g_assert_cmpfloat(sl_cpu_monitor_load(mon), <=, 1.0);
  g_assert_true(sl_cpu_monitor_sample(mon, &error));
  g_assert_no_error(error);
  g_assert_cmpfloat(sl_cpu_monitor_pid_cores(mon, getpid()), >=, 0.0);
  g_assert_cmpfloat(sl_cpu_monitor_pid_cores(mon, 0x7ffffff0), ==, 0.0);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/cpu/parse/proc-stat", test_parse_proc_stat);
  g_test_add_func("/cpu/parse/proc-stat-old-kernel", test_parse_proc_stat_old_kernel);
  g_test_add_func("/cpu/parse/proc-stat-malformed", test_parse_proc_stat_malformed);
  g_test_add_func("/cpu/parse/boot-time", test_parse_boot_time);
  g_test_add_func("/cpu/parse/pid-stat", test_parse_pid_stat);
  g_test_add_func("/cpu/parse/pid-stat-tricky-comm", test_parse_pid_stat_tricky_comm);
  g_test_add_func("/cpu/parse/pid-stat-malformed", test_parse_pid_stat_malformed);
  g_test_add_func("/cpu/monitor/load", test_monitor_load);
  g_test_add_func("/cpu/monitor/counter-step-back", test_monitor_counter_step_back);
  g_test_add_func("/cpu/monitor/pid", test_monitor_pid);
  g_test_add_func("/cpu/monitor/sample-live", test_monitor_sample_live);
  return g_test_run();
}
