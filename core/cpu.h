/* cpu.h — CPU measurement for admission and metrics.
 *
 * Two layers, kept apart so the arithmetic can be tested without a live /proc:
 *
 *  - Parsers (sl_cpu_parse_*) turn the text of /proc/stat and /proc/<pid>/stat into structs. They
 *    touch nothing but their arguments and may be called from any thread.
 *
 *  - SlCpuMonitor keeps the previous sample of the machine and of each tracked child process and
 *    turns consecutive samples into rates: busy cores for the whole machine and cores used by each
 *    pid. It is fed text (sl_cpu_monitor_feed, sl_cpu_monitor_feed_pid); only
 *    sl_cpu_monitor_sample() reads files, and it is the sole function here that does I/O.
 *
 * Ownership: every pointer argument is borrowed for the duration of the call. sl_cpu_monitor_new*()
 * return a monitor owned by the caller (free with sl_cpu_monitor_free or g_autoptr). No function
 * returns memory the caller must free.
 *
 * Threads: an SlCpuMonitor has no lock. Create, feed, sample, query and free it from one thread —
 * in the service that is the main loop thread, which samples on a timer.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SL_CPU_ERROR (sl_cpu_error_quark())
GQuark sl_cpu_error_quark(void);

typedef enum {
  SL_CPU_ERROR_PARSE, /* the text is not what the kernel writes */
  SL_CPU_ERROR_IO,    /* a /proc file could not be read */
} SlCpuError;

/* Jiffies (USER_HZ ticks) from the aggregate "cpu" line of /proc/stat. Fields an old kernel does
 * not print are 0. Guest time is already part of user/nice, so it is not kept. */
typedef struct {
  guint64 user;
  guint64 nice;
  guint64 system;
  guint64 idle;
  guint64 iowait;
  guint64 irq;
  guint64 softirq;
  guint64 steal;
} SlCpuTimes;

/* Sum of all fields. */
guint64 sl_cpu_times_total(const SlCpuTimes *t);
/* Total minus idle and iowait: time the CPUs spent doing work. */
guint64 sl_cpu_times_busy(const SlCpuTimes *t);

/* Fields of /proc/<pid>/stat that sluice uses. Field numbers follow proc(5). */
typedef struct {
  gint64 pid;         /* field 1 */
  char comm[64];      /* field 2 without the parentheses, truncated to fit, NUL-terminated */
  char state;         /* field 3 */
  guint64 utime;      /* field 14, ticks */
  guint64 stime;      /* field 15, ticks */
  gint64 num_threads; /* field 20 */
  guint64 starttime;  /* field 22, ticks after boot */
  guint64 vsize;      /* field 23, bytes */
  gint64 rss_pages;   /* field 24, pages */
} SlProcStat;

/* Parses the text of /proc/stat. Fills *out_total from the aggregate "cpu " line (4 to 10 numeric
 * fields accepted; the first 8 are kept) and *out_ncpu with the number of "cpuN" lines. Either out
 * pointer may be NULL. Returns FALSE and sets @error (SL_CPU_ERROR_PARSE) when the aggregate line
 * is missing, repeated or malformed, or when there is no cpuN line. */
gboolean sl_cpu_parse_proc_stat(const char *text, SlCpuTimes *out_total, guint *out_ncpu,
                                GError **error);

/* Parses the "btime" line of /proc/stat: boot time in seconds since the Unix epoch. */
gboolean sl_cpu_parse_boot_time(const char *text, guint64 *out_btime, GError **error);

/* Parses the text of /proc/<pid>/stat. The command name may hold spaces and parentheses, so the
 * fields after it are found from the last ')' in the text. Returns FALSE and sets @error
 * (SL_CPU_ERROR_PARSE) when fields are missing or not numbers. */
gboolean sl_cpu_parse_pid_stat(const char *text, SlProcStat *out, GError **error);

typedef struct _SlCpuMonitor SlCpuMonitor;

/* A monitor using the system's clock tick rate (sysconf(_SC_CLK_TCK)). Transfer full. */
SlCpuMonitor *sl_cpu_monitor_new(void);
/* A monitor with an explicit tick rate for per-pid rates; tests pass a fixed value. @clk_tck > 0.
 * Transfer full. */
SlCpuMonitor *sl_cpu_monitor_new_full(long clk_tck);
void sl_cpu_monitor_free(SlCpuMonitor *mon);

/* Feeds one /proc/stat sample. The load becomes the busy fraction between the previous sample and
 * this one; the first sample is measured against boot, giving the average since boot. When the
 * text does not parse, the previous state is kept and FALSE is returned. */
gboolean sl_cpu_monitor_feed(SlCpuMonitor *mon, const char *proc_stat_text, GError **error);

/* Busy fraction of the whole machine in the last interval, 0..1 (0 before any sample). */
double sl_cpu_monitor_load(SlCpuMonitor *mon);
/* sl_cpu_monitor_load() × sl_cpu_monitor_ncpu(): cores' worth of work being done. */
double sl_cpu_monitor_busy_cores(SlCpuMonitor *mon);
/* Number of cpuN lines in the last sample (0 before any sample). */
guint sl_cpu_monitor_ncpu(SlCpuMonitor *mon);

/* Starts tracking @pid so that sl_cpu_monitor_sample() reads its stat file. Feeding a pid with
 * sl_cpu_monitor_feed_pid() also starts tracking it. Tracking a tracked pid does nothing. */
void sl_cpu_monitor_track_pid(SlCpuMonitor *mon, GPid pid);

/* Feeds one /proc/<pid>/stat sample taken at @now_us (monotonic microseconds). Records the cores
 * the process used since its previous sample: (Δutime + Δstime) / clk_tck / Δt. The first sample
 * of a pid, or one whose start time differs from the last (the pid was reused), only sets the
 * baseline and records 0. Returns FALSE with @error when the text does not parse or its pid is
 * not @pid; the recorded value is then unchanged. */
gboolean sl_cpu_monitor_feed_pid(SlCpuMonitor *mon, GPid pid, const char *pid_stat_text,
                                 gint64 now_us, GError **error);

/* Cores used by @pid in its last interval; 0 for an untracked pid or one with one sample. */
double sl_cpu_monitor_pid_cores(SlCpuMonitor *mon, GPid pid);

/* Stops tracking @pid (call when the child has exited). Unknown pids are ignored. */
void sl_cpu_monitor_forget_pid(SlCpuMonitor *mon, GPid pid);

/* Reads /proc/stat and feeds it, then reads and feeds /proc/<pid>/stat for every tracked pid at
 * g_get_monotonic_time(). Fails only when /proc/stat cannot be read or parsed; a pid whose file
 * cannot be read (it exited before being forgotten) records 0 cores and is kept. */
gboolean sl_cpu_monitor_sample(SlCpuMonitor *mon, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlCpuMonitor, sl_cpu_monitor_free)

G_END_DECLS
