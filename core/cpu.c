/* cpu.c — /proc parsers and the CPU monitor. See cpu.h. */
#include "cpu.h"

#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(sl - cpu - error - quark, sl_cpu_error)

guint64 sl_cpu_times_total(const SlCpuTimes *t)
{
  return t->user + t->nice + t->system + t->idle + t->iowait + t->irq + t->softirq + t->steal;
}

guint64 sl_cpu_times_busy(const SlCpuTimes *t)
{
  return t->user + t->nice + t->system + t->irq + t->softirq + t->steal;
}

/* ------------------------------------------------------------------------------------------ */
/* Tokenising. The kernel writes these files as blank-separated decimal fields, so a cursor over
 * one line with strict number readers is all that is needed; strtoull is avoided because it
 * accepts signs, leading blanks of any kind and silently wraps negative input. */

typedef struct {
  const char *p;
  const char *end;
} Span;

static gboolean is_blank(char c)
{
  return c == ' ' || c == '\t';
}

static void skip_blanks(Span *s)
{
  while (s->p < s->end && is_blank(*s->p))
    s->p++;
}

static gboolean span_done(Span *s)
{
  skip_blanks(s);
  return s->p >= s->end;
}

static gboolean take_u64(Span *s, guint64 *out)
{
  guint64 v = 0;

  skip_blanks(s);
  if (s->p >= s->end || !g_ascii_isdigit(*s->p))
    return FALSE;
  while (s->p < s->end && g_ascii_isdigit(*s->p)) {
    guint d = (guint)(*s->p - '0');
    if (v > (G_MAXUINT64 - d) / 10)
      return FALSE;
    v = v * 10 + d;
    s->p++;
  }
  if (s->p < s->end && !is_blank(*s->p))
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean take_i64(Span *s, gint64 *out)
{
  gboolean negative = FALSE;
  guint64 magnitude;

  skip_blanks(s);
  if (s->p < s->end && *s->p == '-') {
    negative = TRUE;
    s->p++;
    /* A sign followed by a blank is not a number. */
    if (s->p >= s->end || !g_ascii_isdigit(*s->p))
      return FALSE;
  }
  if (!take_u64(s, &magnitude))
    return FALSE;
  if (negative) {
    if (magnitude > (guint64)G_MAXINT64 + 1)
      return FALSE;
    *out = magnitude == (guint64)G_MAXINT64 + 1 ? G_MININT64 : -(gint64)magnitude;
  } else {
    if (magnitude > (guint64)G_MAXINT64)
      return FALSE;
    *out = (gint64)magnitude;
  }
  return TRUE;
}

static const char *line_end(const char *line)
{
  const char *nl = strchr(line, '\n');
  return nl ? nl : line + strlen(line);
}

/* ------------------------------------------------------------------------------------------ */
/* /proc/stat */

/* The aggregate line has grown over kernel versions: 4 fields before 2.5.41, then iowait, irq and
 * softirq, steal in 2.6.11, guest and guest_nice later. Anything from 4 fields up is accepted and
 * fields a newer kernel may append are read (so garbage is still refused) but not kept. */
static gboolean parse_aggregate(Span *s, guint lineno, SlCpuTimes *out, GError **error)
{
  guint64 *slots[] = {&out->user,   &out->nice, &out->system,  &out->idle,
                      &out->iowait, &out->irq,  &out->softirq, &out->steal};
  guint n = 0;

  memset(out, 0, sizeof *out);
  while (!span_done(s)) {
    guint64 v;
    if (!take_u64(s, &v)) {
      g_set_error(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE,
                  "/proc/stat line %u: cpu field %u is not a non-negative integer", lineno, n + 1);
      return FALSE;
    }
    if (n < G_N_ELEMENTS(slots))
      *slots[n] = v;
    n++;
  }
  if (n < 4) {
    g_set_error(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE,
                "/proc/stat line %u: cpu line has %u fields, at least 4 expected", lineno, n);
    return FALSE;
  }
  return TRUE;
}

gboolean sl_cpu_parse_proc_stat(const char *text, SlCpuTimes *out_total, guint *out_ncpu,
                                GError **error)
{
  SlCpuTimes total = {0};
  gboolean have_total = FALSE;
  guint ncpu = 0;
  guint lineno = 0;

  g_return_val_if_fail(text != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  for (const char *line = text; *line != '\0';) {
    const char *end = line_end(line);
    gsize len = (gsize)(end - line);

    lineno++;
    if (len > 3 && strncmp(line, "cpu", 3) == 0) {
      Span s = {line + 3, end};
      if (is_blank(line[3])) {
        if (have_total) {
          g_set_error(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE,
                      "/proc/stat line %u: second aggregate cpu line", lineno);
          return FALSE;
        }
        if (!parse_aggregate(&s, lineno, &total, error))
          return FALSE;
        have_total = TRUE;
      } else if (g_ascii_isdigit(line[3])) {
        guint64 index;
        if (!take_u64(&s, &index)) {
          g_set_error(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE,
                      "/proc/stat line %u: malformed per-cpu line", lineno);
          return FALSE;
        }
        ncpu++;
      }
    }
    line = *end == '\n' ? end + 1 : end;
  }

  if (!have_total) {
    g_set_error_literal(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE,
                        "/proc/stat: no aggregate \"cpu\" line");
    return FALSE;
  }
  if (ncpu == 0) {
    g_set_error_literal(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE, "/proc/stat: no cpuN lines");
    return FALSE;
  }
  if (out_total)
    *out_total = total;
  if (out_ncpu)
    *out_ncpu = ncpu;
  return TRUE;
}

gboolean sl_cpu_parse_boot_time(const char *text, guint64 *out_btime, GError **error)
{
  g_return_val_if_fail(text != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  for (const char *line = text; *line != '\0';) {
    const char *end = line_end(line);

    if ((gsize)(end - line) > 6 && strncmp(line, "btime", 5) == 0 && is_blank(line[5])) {
      Span s = {line + 5, end};
      guint64 v;
      if (!take_u64(&s, &v) || !span_done(&s)) {
        g_set_error_literal(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE,
                            "/proc/stat: malformed btime line");
        return FALSE;
      }
      if (out_btime)
        *out_btime = v;
      return TRUE;
    }
    line = *end == '\n' ? end + 1 : end;
  }
  g_set_error_literal(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE, "/proc/stat: no btime line");
  return FALSE;
}

/* ------------------------------------------------------------------------------------------ */
/* /proc/<pid>/stat */

/* The command name is whatever the process set with prctl or exec, so it may contain blanks,
 * '(' and ')'. The kernel writes it between the first '(' and the last ')' of the line; every
 * field after that is numeric or a single state letter, so splitting at the last ')' is exact. */
gboolean sl_cpu_parse_pid_stat(const char *text, SlProcStat *out, GError **error)
{
  SlProcStat st = {0};
  const char *open, *close, *end;
  gsize comm_len;

  g_return_val_if_fail(text != NULL, FALSE);
  g_return_val_if_fail(out != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  open = strchr(text, '(');
  close = strrchr(text, ')');
  if (open == NULL || close == NULL || close < open) {
    g_set_error_literal(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE,
                        "pid stat: no command name in parentheses");
    return FALSE;
  }

  {
    Span s = {text, open};
    if (!take_i64(&s, &st.pid) || !span_done(&s)) {
      g_set_error_literal(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE,
                          "pid stat: malformed pid before the command name");
      return FALSE;
    }
  }

  comm_len = MIN((gsize)(close - open - 1), sizeof st.comm - 1);
  memcpy(st.comm, open + 1, comm_len);
  st.comm[comm_len] = '\0';

  end = line_end(close);
  Span s = {close + 1, end};

  /* Field 3: one state letter. */
  skip_blanks(&s);
  if (s.p >= s.end || !g_ascii_isalpha(*s.p) || (s.p + 1 < s.end && !is_blank(s.p[1]))) {
    g_set_error_literal(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE,
                        "pid stat: field 3 (state) is not a single letter");
    return FALSE;
  }
  st.state = *s.p++;

  for (guint field = 4; field <= 24; field++) {
    gboolean ok;
    gint64 ignored;

    switch (field) {
    case 14:
      ok = take_u64(&s, &st.utime);
      break;
    case 15:
      ok = take_u64(&s, &st.stime);
      break;
    case 20:
      ok = take_i64(&s, &st.num_threads);
      break;
    case 22:
      ok = take_u64(&s, &st.starttime);
      break;
    case 23:
      ok = take_u64(&s, &st.vsize);
      break;
    case 24:
      ok = take_i64(&s, &st.rss_pages);
      break;
    default:
      /* Fields sluice does not keep are still required to be integers. */
      ok = take_i64(&s, &ignored);
      break;
    }
    if (!ok) {
      if (span_done(&s))
        g_set_error(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE,
                    "pid stat: only %u fields, at least 24 expected", field - 1);
      else
        g_set_error(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE, "pid stat: field %u is not an integer",
                    field);
      return FALSE;
    }
  }

  *out = st;
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Monitor */

typedef struct {
  guint64 ticks;     /* utime + stime at the last sample */
  guint64 starttime; /* identifies the process behind the pid */
  gint64 at_us;
  double cores;
  gboolean have_sample;
} PidTrack;

struct _SlCpuMonitor {
  long clk_tck;
  SlCpuTimes prev; /* zero until the first sample, so that one measures since boot */
  guint ncpu;
  double load;
  GHashTable *pids; /* GINT_TO_POINTER(pid) -> PidTrack* (owned) */
};

SlCpuMonitor *sl_cpu_monitor_new_full(long clk_tck)
{
  SlCpuMonitor *mon;

  g_return_val_if_fail(clk_tck > 0, NULL);

  mon = g_new0(SlCpuMonitor, 1);
  mon->clk_tck = clk_tck;
  mon->pids = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
  return mon;
}

SlCpuMonitor *sl_cpu_monitor_new(void)
{
  long tck = sysconf(_SC_CLK_TCK);

  /* USER_HZ has been 100 on every Linux ABI; use it if sysconf cannot say. */
  return sl_cpu_monitor_new_full(tck > 0 ? tck : 100);
}

void sl_cpu_monitor_free(SlCpuMonitor *mon)
{
  if (mon == NULL)
    return;
  g_hash_table_destroy(mon->pids);
  g_free(mon);
}

static guint64 delta(guint64 now, guint64 before)
{
  /* Per-field counters are not strictly monotonic (iowait is known to step back on some
   * kernels); a negative step counts as none rather than wrapping to a huge value. */
  return now > before ? now - before : 0;
}

gboolean sl_cpu_monitor_feed(SlCpuMonitor *mon, const char *proc_stat_text, GError **error)
{
  SlCpuTimes cur, d;
  guint ncpu;
  guint64 total, busy;

  g_return_val_if_fail(mon != NULL, FALSE);
  g_return_val_if_fail(proc_stat_text != NULL, FALSE);

  if (!sl_cpu_parse_proc_stat(proc_stat_text, &cur, &ncpu, error))
    return FALSE;

  d.user = delta(cur.user, mon->prev.user);
  d.nice = delta(cur.nice, mon->prev.nice);
  d.system = delta(cur.system, mon->prev.system);
  d.idle = delta(cur.idle, mon->prev.idle);
  d.iowait = delta(cur.iowait, mon->prev.iowait);
  d.irq = delta(cur.irq, mon->prev.irq);
  d.softirq = delta(cur.softirq, mon->prev.softirq);
  d.steal = delta(cur.steal, mon->prev.steal);

  total = sl_cpu_times_total(&d);
  busy = sl_cpu_times_busy(&d);
  /* Two samples inside one tick show no change; keep the last known load rather than 0. */
  if (total > 0)
    mon->load = CLAMP((double)busy / (double)total, 0.0, 1.0);
  mon->prev = cur;
  mon->ncpu = ncpu;
  return TRUE;
}

double sl_cpu_monitor_load(SlCpuMonitor *mon)
{
  g_return_val_if_fail(mon != NULL, 0.0);
  return mon->load;
}

double sl_cpu_monitor_busy_cores(SlCpuMonitor *mon)
{
  g_return_val_if_fail(mon != NULL, 0.0);
  return mon->load * (double)mon->ncpu;
}

guint sl_cpu_monitor_ncpu(SlCpuMonitor *mon)
{
  g_return_val_if_fail(mon != NULL, 0);
  return mon->ncpu;
}

static PidTrack *track_pid(SlCpuMonitor *mon, GPid pid)
{
  PidTrack *t = g_hash_table_lookup(mon->pids, GINT_TO_POINTER(pid));

  if (t == NULL) {
    t = g_new0(PidTrack, 1);
    g_hash_table_insert(mon->pids, GINT_TO_POINTER(pid), t);
  }
  return t;
}

void sl_cpu_monitor_track_pid(SlCpuMonitor *mon, GPid pid)
{
  g_return_if_fail(mon != NULL);
  g_return_if_fail(pid > 0);
  track_pid(mon, pid);
}

gboolean sl_cpu_monitor_feed_pid(SlCpuMonitor *mon, GPid pid, const char *pid_stat_text,
                                 gint64 now_us, GError **error)
{
  SlProcStat st;
  PidTrack *t;
  guint64 ticks;

  g_return_val_if_fail(mon != NULL, FALSE);
  g_return_val_if_fail(pid > 0, FALSE);
  g_return_val_if_fail(pid_stat_text != NULL, FALSE);

  if (!sl_cpu_parse_pid_stat(pid_stat_text, &st, error))
    return FALSE;
  if (st.pid != (gint64)pid) {
    g_set_error(error, SL_CPU_ERROR, SL_CPU_ERROR_PARSE,
                "pid stat: text is for pid %" G_GINT64_FORMAT ", expected %d", st.pid, (int)pid);
    return FALSE;
  }

  t = track_pid(mon, pid);
  ticks = st.utime + st.stime;

  /* A different start time means the pid now names another process: its counters have nothing
   * to do with the old ones, so start over instead of producing a nonsense delta. */
  if (!t->have_sample || st.starttime != t->starttime || ticks < t->ticks) {
    t->ticks = ticks;
    t->starttime = st.starttime;
    t->at_us = now_us;
    t->cores = 0.0;
    t->have_sample = TRUE;
    return TRUE;
  }

  if (now_us > t->at_us) {
    double seconds = (double)(now_us - t->at_us) / G_USEC_PER_SEC;
    double cpu_seconds = (double)(ticks - t->ticks) / (double)mon->clk_tck;
    t->cores = cpu_seconds / seconds;
    t->ticks = ticks;
    t->at_us = now_us;
  }
  return TRUE;
}

double sl_cpu_monitor_pid_cores(SlCpuMonitor *mon, GPid pid)
{
  PidTrack *t;

  g_return_val_if_fail(mon != NULL, 0.0);
  t = g_hash_table_lookup(mon->pids, GINT_TO_POINTER(pid));
  return t ? t->cores : 0.0;
}

void sl_cpu_monitor_forget_pid(SlCpuMonitor *mon, GPid pid)
{
  g_return_if_fail(mon != NULL);
  g_hash_table_remove(mon->pids, GINT_TO_POINTER(pid));
}

gboolean sl_cpu_monitor_sample(SlCpuMonitor *mon, GError **error)
{
  g_autofree char *stat_text = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(GList) pids = NULL;
  gint64 now_us;

  g_return_val_if_fail(mon != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  if (!g_file_get_contents("/proc/stat", &stat_text, NULL, &local)) {
    g_set_error(error, SL_CPU_ERROR, SL_CPU_ERROR_IO, "%s", local->message);
    return FALSE;
  }
  if (!sl_cpu_monitor_feed(mon, stat_text, error))
    return FALSE;

  now_us = g_get_monotonic_time();
  pids = g_hash_table_get_keys(mon->pids);
  for (GList *l = pids; l != NULL; l = l->next) {
    GPid pid = GPOINTER_TO_INT(l->data);
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *text = NULL;
    g_autoptr(GError) pid_error = NULL;

    if (!g_file_get_contents(path, &text, NULL, &pid_error) ||
        !sl_cpu_monitor_feed_pid(mon, pid, text, now_us, &pid_error)) {
      PidTrack *t = g_hash_table_lookup(mon->pids, GINT_TO_POINTER(pid));
      g_debug("cpu: pid %d: %s", (int)pid, pid_error->message);
      t->cores = 0.0;
      t->have_sample = FALSE;
    }
  }
  return TRUE;
}
