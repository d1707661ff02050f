/* metrics.c — Prometheus registry and text exposition. See metrics.h. */
#include "metrics.h"
#include "cpu.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(sl - metrics - error - quark, sl_metrics_error)

typedef struct {
  char **values; /* one per label name; also the GTree key */
  double value;
} Sample;

struct _SlMetricFamily {
  SlMetrics *owner;
  SlMetricKind kind;
  char *name;
  char *help;
  char **label_names;
  guint n_labels;
  GTree *samples; /* char ** (the sample's values) -> Sample* (owned) */
};

typedef struct {
  SlMetricsCollectFunc fn;
  gpointer user_data;
  GDestroyNotify destroy;
} Collector;

struct _SlMetrics {
  GMutex lock;
  GTree *families;       /* name (owned by the family) -> SlMetricFamily* (owned) */
  GPtrArray *collectors; /* Collector* (owned); only ever appended to */
};

/* ------------------------------------------------------------------------------------------ */
/* Registry */

static void sample_free(gpointer data)
{
  Sample *s = data;

  g_strfreev(s->values);
  g_free(s);
}

static void family_free(gpointer data)
{
  SlMetricFamily *f = data;

  g_tree_destroy(f->samples);
  g_free(f->name);
  g_free(f->help);
  g_strfreev(f->label_names);
  g_free(f);
}

static void collector_free(gpointer data)
{
  Collector *c = data;

  if (c->destroy)
    c->destroy(c->user_data);
  g_free(c);
}

static gint compare_names(gconstpointer a, gconstpointer b, gpointer unused)
{
  (void)unused;
  return strcmp(a, b);
}

/* Samples sort by their label values, compared one label at a time, so that the order does not
 * depend on insertion order or hashing and two scrapes list the series identically. */
static gint compare_values(gconstpointer a, gconstpointer b, gpointer n_labels)
{
  const char *const *x = a;
  const char *const *y = b;
  guint n = GPOINTER_TO_UINT(n_labels);

  for (guint i = 0; i < n; i++) {
    int c = strcmp(x[i], y[i]);
    if (c != 0)
      return c;
  }
  return 0;
}

SlMetrics *sl_metrics_new(void)
{
  SlMetrics *m = g_new0(SlMetrics, 1);

  g_mutex_init(&m->lock);
  m->families = g_tree_new_full(compare_names, NULL, NULL, family_free);
  m->collectors = g_ptr_array_new_with_free_func(collector_free);
  return m;
}

void sl_metrics_free(SlMetrics *metrics)
{
  if (metrics == NULL)
    return;
  g_ptr_array_unref(metrics->collectors);
  g_tree_destroy(metrics->families);
  g_mutex_clear(&metrics->lock);
  g_free(metrics);
}

static gboolean valid_metric_name(const char *name)
{
  if (name == NULL || !(g_ascii_isalpha(name[0]) || name[0] == '_' || name[0] == ':'))
    return FALSE;
  for (const char *p = name + 1; *p; p++)
    if (!(g_ascii_isalnum(*p) || *p == '_' || *p == ':'))
      return FALSE;
  return TRUE;
}

static gboolean valid_label_name(const char *name)
{
  if (name == NULL || !(g_ascii_isalpha(name[0]) || name[0] == '_'))
    return FALSE;
  for (const char *p = name + 1; *p; p++)
    if (!(g_ascii_isalnum(*p) || *p == '_'))
      return FALSE;
  return TRUE;
}

static gboolean validate_labels(const char *metric, const char *const *label_names, GError **error)
{
  if (label_names == NULL)
    return TRUE;
  for (guint i = 0; label_names[i] != NULL; i++) {
    const char *l = label_names[i];
    if (!valid_label_name(l)) {
      g_set_error(error, SL_METRICS_ERROR, SL_METRICS_ERROR_INVALID_NAME,
                  "metric %s: invalid label name \"%s\"", metric, l);
      return FALSE;
    }
    /* Names starting with "__" belong to Prometheus itself (__name__, __address__, ...). */
    if (g_str_has_prefix(l, "__")) {
      g_set_error(error, SL_METRICS_ERROR, SL_METRICS_ERROR_INVALID_NAME,
                  "metric %s: label name \"%s\" is reserved", metric, l);
      return FALSE;
    }
    for (guint j = 0; j < i; j++) {
      if (strcmp(label_names[j], l) == 0) {
        g_set_error(error, SL_METRICS_ERROR, SL_METRICS_ERROR_INVALID_NAME,
                    "metric %s: label name \"%s\" repeated", metric, l);
        return FALSE;
      }
    }
  }
  return TRUE;
}

static const char *kind_name(SlMetricKind kind)
{
  return kind == SL_METRIC_COUNTER ? "counter" : "gauge";
}

static gboolean same_labels(const SlMetricFamily *f, const char *const *label_names)
{
  guint n = label_names ? g_strv_length((char **)label_names) : 0;

  if (n != f->n_labels)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (strcmp(f->label_names[i], label_names[i]) != 0)
      return FALSE;
  return TRUE;
}

static Sample *sample_new(SlMetricFamily *f, const char *const *values)
{
  Sample *s = g_new0(Sample, 1);

  s->values = g_new0(char *, f->n_labels + 1);
  for (guint i = 0; i < f->n_labels; i++)
    s->values[i] = g_strdup(values[i]);
  g_tree_insert(f->samples, s->values, s);
  return s;
}

SlMetricFamily *sl_metrics_register(SlMetrics *metrics, SlMetricKind kind, const char *name,
                                    const char *help, const char *const *label_names,
                                    GError **error)
{
  g_autofree char *clean_help = NULL;
  SlMetricFamily *f;

  g_return_val_if_fail(metrics != NULL, NULL);
  g_return_val_if_fail(kind == SL_METRIC_COUNTER || kind == SL_METRIC_GAUGE, NULL);
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);

  if (!valid_metric_name(name)) {
    g_set_error(error, SL_METRICS_ERROR, SL_METRICS_ERROR_INVALID_NAME,
                "invalid metric name \"%s\"", name ? name : "(null)");
    return NULL;
  }
  if (!validate_labels(name, label_names, error))
    return NULL;
  clean_help = g_utf8_make_valid(help ? help : "", -1);

  g_mutex_lock(&metrics->lock);
  f = g_tree_lookup(metrics->families, name);
  if (f != NULL) {
    const char *differs = NULL;
    if (f->kind != kind)
      differs = "kind";
    else if (!same_labels(f, label_names))
      differs = "label names";
    else if (strcmp(f->help, clean_help) != 0)
      differs = "help text";
    g_mutex_unlock(&metrics->lock);
    if (differs) {
      g_set_error(error, SL_METRICS_ERROR, SL_METRICS_ERROR_CONFLICT,
                  "metric %s is already registered (%s) with different %s", name,
                  kind_name(f->kind), differs);
      return NULL;
    }
    return f;
  }

  f = g_new0(SlMetricFamily, 1);
  f->owner = metrics;
  f->kind = kind;
  f->name = g_strdup(name);
  f->help = g_steal_pointer(&clean_help);
  f->label_names = label_names ? g_strdupv((char **)label_names) : g_new0(char *, 1);
  f->n_labels = g_strv_length(f->label_names);
  f->samples = g_tree_new_full(compare_values, GUINT_TO_POINTER(f->n_labels), NULL, sample_free);
  if (f->n_labels == 0)
    sample_new(f, NULL);
  g_tree_insert(metrics->families, f->name, f);
  g_mutex_unlock(&metrics->lock);
  return f;
}

SlMetricFamily *sl_metrics_lookup(SlMetrics *metrics, const char *name)
{
  SlMetricFamily *f;

  g_return_val_if_fail(metrics != NULL, NULL);
  g_return_val_if_fail(name != NULL, NULL);

  g_mutex_lock(&metrics->lock);
  f = g_tree_lookup(metrics->families, name);
  g_mutex_unlock(&metrics->lock);
  return f;
}

/* ------------------------------------------------------------------------------------------ */
/* Samples */

/* Checks the arity of @values and returns the values to use as the sample key: @values itself
 * when every value is valid UTF-8 (the common case, no allocation), otherwise a repaired copy
 * stored in *@repaired for the caller to free. The exposition format is UTF-8 and a room name
 * taken from a stream must not be able to make a scrape unparseable. */
static const char *const *prepare_values(SlMetricFamily *f, const char *const *values,
                                         char ***repaired)
{
  static const char *const none[] = {NULL};
  guint n = 0;
  gboolean valid = TRUE;

  *repaired = NULL;
  if (values == NULL)
    values = none;
  while (values[n] != NULL) {
    if (!g_utf8_validate(values[n], -1, NULL))
      valid = FALSE;
    n++;
  }
  if (n != f->n_labels) {
    g_critical("metric %s: %u label values given, %u expected", f->name, n, f->n_labels);
    return NULL;
  }
  if (valid)
    return values;
  *repaired = g_new0(char *, n + 1);
  for (guint i = 0; i < n; i++)
    (*repaired)[i] = g_utf8_make_valid(values[i], -1);
  return (const char *const *)*repaired;
}

typedef enum { OP_SET, OP_ADD } Op;

static gboolean update(SlMetricFamily *f, const char *const *label_values, double v, Op op)
{
  g_auto(GStrv) repaired = NULL;
  const char *const *key;
  Sample *s;

  g_return_val_if_fail(f != NULL, FALSE);

  /* A counter only goes up; a negative step or value would read as a counter reset. */
  if (f->kind == SL_METRIC_COUNTER && (isnan(v) || v < 0)) {
    g_debug("metric %s: refused %s of %g on a counter", f->name, op == OP_SET ? "set" : "add", v);
    return FALSE;
  }
  key = prepare_values(f, label_values, &repaired);
  if (key == NULL)
    return FALSE;

  g_mutex_lock(&f->owner->lock);
  s = g_tree_lookup(f->samples, key);
  if (s == NULL)
    s = sample_new(f, key);
  if (op == OP_SET)
    s->value = v;
  else
    s->value += v;
  g_mutex_unlock(&f->owner->lock);
  return TRUE;
}

gboolean sl_metric_set(SlMetricFamily *family, const char *const *label_values, double value)
{
  return update(family, label_values, value, OP_SET);
}

gboolean sl_metric_add(SlMetricFamily *family, const char *const *label_values, double delta)
{
  return update(family, label_values, delta, OP_ADD);
}

gboolean sl_metric_get(SlMetricFamily *family, const char *const *label_values, double *out_value)
{
  g_auto(GStrv) repaired = NULL;
  const char *const *key;
  Sample *s;

  g_return_val_if_fail(family != NULL, FALSE);

  key = prepare_values(family, label_values, &repaired);
  if (key == NULL)
    return FALSE;
  g_mutex_lock(&family->owner->lock);
  s = g_tree_lookup(family->samples, key);
  if (s != NULL && out_value != NULL)
    *out_value = s->value;
  g_mutex_unlock(&family->owner->lock);
  return s != NULL;
}

gboolean sl_metric_remove(SlMetricFamily *family, const char *const *label_values)
{
  g_auto(GStrv) repaired = NULL;
  const char *const *key;
  gboolean removed;

  g_return_val_if_fail(family != NULL, FALSE);

  key = prepare_values(family, label_values, &repaired);
  if (key == NULL)
    return FALSE;
  g_mutex_lock(&family->owner->lock);
  removed = g_tree_remove(family->samples, key);
  g_mutex_unlock(&family->owner->lock);
  return removed;
}

/* ------------------------------------------------------------------------------------------ */
/* Collectors and rendering */

void sl_metrics_add_collector_full(SlMetrics *metrics, SlMetricsCollectFunc fn, gpointer user_data,
                                   GDestroyNotify destroy)
{
  Collector *c;

  g_return_if_fail(metrics != NULL);
  g_return_if_fail(fn != NULL);

  c = g_new0(Collector, 1);
  c->fn = fn;
  c->user_data = user_data;
  c->destroy = destroy;
  g_mutex_lock(&metrics->lock);
  g_ptr_array_add(metrics->collectors, c);
  g_mutex_unlock(&metrics->lock);
}

void sl_metrics_add_collector(SlMetrics *metrics, SlMetricsCollectFunc fn, gpointer user_data)
{
  sl_metrics_add_collector_full(metrics, fn, user_data, NULL);
}

static void append_help(GString *out, const char *help)
{
  for (const char *p = help; *p; p++) {
    if (*p == '\\')
      g_string_append(out, "\\\\");
    else if (*p == '\n')
      g_string_append(out, "\\n");
    else
      g_string_append_c(out, *p);
  }
}

static void append_label_value(GString *out, const char *value)
{
  for (const char *p = value; *p; p++) {
    if (*p == '\\')
      g_string_append(out, "\\\\");
    else if (*p == '"')
      g_string_append(out, "\\\"");
    else if (*p == '\n')
      g_string_append(out, "\\n");
    else
      g_string_append_c(out, *p);
  }
}

/* Prometheus parses values with Go's ParseFloat and spells the specials NaN, +Inf and -Inf.
 * Whole numbers (counts, bytes) print in plain decimal rather than as 1.2345e+06, which
 * is what people reading a scrape expect; everything else prints with the fewest digits that
 * read back as the same double. g_ascii_formatd keeps '.' whatever the locale. */
static void append_value(GString *out, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (isnan(v)) {
    g_string_append(out, "NaN");
  } else if (isinf(v)) {
    g_string_append(out, v > 0 ? "+Inf" : "-Inf");
  } else if (v == 0) {
    g_string_append_c(out, '0'); /* also -0 */
  } else if (v == floor(v) && fabs(v) < 1e18) {
    g_string_append_printf(out, "%.0f", v);
  } else {
    static const char *const formats[] = {"%.15g", "%.16g", "%.17g"};
    for (guint i = 0; i < G_N_ELEMENTS(formats); i++) {
      g_ascii_formatd(buf, sizeof buf, formats[i], v);
      if (g_ascii_strtod(buf, NULL) == v)
        break;
    }
    g_string_append(out, buf);
  }
}

typedef struct {
  GString *out;
  const SlMetricFamily *family;
} RenderCtx;

static gboolean render_sample(gpointer key, gpointer value, gpointer data)
{
  RenderCtx *ctx = data;
  const SlMetricFamily *f = ctx->family;
  const Sample *s = value;
  (void)key;

  g_string_append(ctx->out, f->name);
  if (f->n_labels > 0) {
    g_string_append_c(ctx->out, '{');
    for (guint i = 0; i < f->n_labels; i++) {
      if (i > 0)
        g_string_append_c(ctx->out, ',');
      g_string_append(ctx->out, f->label_names[i]);
      g_string_append(ctx->out, "=\"");
      append_label_value(ctx->out, s->values[i]);
      g_string_append_c(ctx->out, '"');
    }
    g_string_append_c(ctx->out, '}');
  }
  g_string_append_c(ctx->out, ' ');
  append_value(ctx->out, s->value);
  g_string_append_c(ctx->out, '\n');
  return FALSE;
}

static gboolean render_family(gpointer key, gpointer value, gpointer data)
{
  GString *out = data;
  const SlMetricFamily *f = value;
  RenderCtx ctx = {out, f};
  (void)key;

  /* A labelled family with no series yet says nothing rather than an empty HELP/TYPE pair. */
  if (g_tree_nnodes(f->samples) == 0)
    return FALSE;
  g_string_append_printf(out, "# HELP %s ", f->name);
  append_help(out, f->help);
  g_string_append_printf(out, "\n# TYPE %s %s\n", f->name, kind_name(f->kind));
  g_tree_foreach(f->samples, render_sample, &ctx);
  return FALSE;
}

char *sl_metrics_render(SlMetrics *metrics)
{
  g_autoptr(GPtrArray) collectors = NULL;
  GString *out;

  g_return_val_if_fail(metrics != NULL, NULL);

  /* Collectors call sl_metric_set, which takes the lock, so they run before it is taken. The
   * array only grows and its elements live as long as the registry, so a snapshot of the
   * pointers is safe to walk unlocked. */
  collectors = g_ptr_array_new();
  g_mutex_lock(&metrics->lock);
  for (guint i = 0; i < metrics->collectors->len; i++)
    g_ptr_array_add(collectors, g_ptr_array_index(metrics->collectors, i));
  g_mutex_unlock(&metrics->lock);
  for (guint i = 0; i < collectors->len; i++) {
    const Collector *c = g_ptr_array_index(collectors, i);
    c->fn(metrics, c->user_data);
  }

  out = g_string_new(NULL);
  g_mutex_lock(&metrics->lock);
  g_tree_foreach(metrics->families, render_family, out);
  g_mutex_unlock(&metrics->lock);
  return g_string_free(out, FALSE);
}

/* ------------------------------------------------------------------------------------------ */
/* Process collector */

gboolean sl_metrics_parse_max_open_files(const char *limits_text, double *out_value, GError **error)
{
  static const char prefix[] = "Max open files";

  g_return_val_if_fail(limits_text != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  for (const char *line = limits_text; *line != '\0';) {
    const char *nl = strchr(line, '\n');
    const char *end = nl ? nl : line + strlen(line);

    if (g_str_has_prefix(line, prefix)) {
      const char *p = line + strlen(prefix);
      const char *tok;
      g_autofree char *word = NULL;
      guint64 v;

      while (p < end && (*p == ' ' || *p == '\t'))
        p++;
      tok = p;
      while (p < end && *p != ' ' && *p != '\t')
        p++;
      word = g_strndup(tok, (gsize)(p - tok));
      if (strcmp(word, "unlimited") == 0) {
        *out_value = INFINITY;
        return TRUE;
      }
      if (!g_ascii_string_to_unsigned(word, 10, 0, G_MAXUINT64, &v, NULL)) {
        g_set_error(error, SL_METRICS_ERROR, SL_METRICS_ERROR_PARSE,
                    "limits: soft open-files limit \"%s\" is not a number", word);
        return FALSE;
      }
      *out_value = (double)v;
      return TRUE;
    }
    line = nl ? nl + 1 : end;
  }
  g_set_error_literal(error, SL_METRICS_ERROR, SL_METRICS_ERROR_PARSE,
                      "limits: no \"Max open files\" line");
  return FALSE;
}

typedef struct {
  SlMetricFamily *cpu_seconds;
  SlMetricFamily *resident;
  SlMetricFamily *virtual_mem;
  SlMetricFamily *start_time;
  SlMetricFamily *open_fds;
  SlMetricFamily *max_fds;
  long clk_tck;
  long page_size;
  guint64 boot_time; /* 0 until read */
} ProcessCollector;

static void collect_process(SlMetrics *metrics, gpointer data)
{
  ProcessCollector *pc = data;
  g_autofree char *stat_text = NULL;
  g_autofree char *limits_text = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  SlProcStat st;
  double max_fds;
  (void)metrics;

  /* Each source is read on its own: a failure of one leaves the others' values fresh and its
   * own series at their last value, which beats dropping the whole set from a scrape. */
  if (g_file_get_contents("/proc/self/stat", &stat_text, NULL, &error) &&
      sl_cpu_parse_pid_stat(stat_text, &st, &error)) {
    sl_metric_set(pc->cpu_seconds, NULL, (double)(st.utime + st.stime) / (double)pc->clk_tck);
    sl_metric_set(pc->resident, NULL, (double)st.rss_pages * (double)pc->page_size);
    sl_metric_set(pc->virtual_mem, NULL, (double)st.vsize);
    if (pc->boot_time == 0) {
      g_autofree char *proc_stat = NULL;
      if (g_file_get_contents("/proc/stat", &proc_stat, NULL, NULL))
        sl_cpu_parse_boot_time(proc_stat, &pc->boot_time, NULL);
    }
    if (pc->boot_time != 0)
      sl_metric_set(pc->start_time, NULL,
                    (double)pc->boot_time + (double)st.starttime / (double)pc->clk_tck);
  } else {
    g_debug("metrics: /proc/self/stat: %s", error->message);
  }
  g_clear_error(&error);

  dir = g_dir_open("/proc/self/fd", 0, &error);
  if (dir != NULL) {
    guint n = 0;
    while (g_dir_read_name(dir) != NULL)
      n++;
    sl_metric_set(pc->open_fds, NULL, n);
  } else {
    g_debug("metrics: /proc/self/fd: %s", error->message);
  }
  g_clear_error(&error);

  if (g_file_get_contents("/proc/self/limits", &limits_text, NULL, &error) &&
      sl_metrics_parse_max_open_files(limits_text, &max_fds, &error))
    sl_metric_set(pc->max_fds, NULL, max_fds);
  else
    g_debug("metrics: /proc/self/limits: %s", error->message);
}

gboolean sl_metrics_add_process_collector(SlMetrics *metrics, GError **error)
{
  g_autofree ProcessCollector *pc = g_new0(ProcessCollector, 1);
  long tck = sysconf(_SC_CLK_TCK);
  long page = sysconf(_SC_PAGESIZE);

  g_return_val_if_fail(metrics != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  pc->clk_tck = tck > 0 ? tck : 100;
  pc->page_size = page > 0 ? page : 4096;

  if (!(pc->cpu_seconds =
            sl_metrics_register(metrics, SL_METRIC_COUNTER, "process_cpu_seconds_total",
                                "Total user and system CPU time spent in seconds.", NULL, error)))
    return FALSE;
  if (!(pc->resident =
            sl_metrics_register(metrics, SL_METRIC_GAUGE, "process_resident_memory_bytes",
                                "Resident memory size in bytes.", NULL, error)))
    return FALSE;
  if (!(pc->virtual_mem =
            sl_metrics_register(metrics, SL_METRIC_GAUGE, "process_virtual_memory_bytes",
                                "Virtual memory size in bytes.", NULL, error)))
    return FALSE;
  if (!(pc->start_time = sl_metrics_register(
            metrics, SL_METRIC_GAUGE, "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.", NULL, error)))
    return FALSE;
  if (!(pc->open_fds = sl_metrics_register(metrics, SL_METRIC_GAUGE, "process_open_fds",
                                           "Number of open file descriptors.", NULL, error)))
    return FALSE;
  if (!(pc->max_fds = sl_metrics_register(metrics, SL_METRIC_GAUGE, "process_max_fds",
                                          "Maximum number of open file descriptors.", NULL, error)))
    return FALSE;

  sl_metrics_add_collector_full(metrics, collect_process, g_steal_pointer(&pc), g_free);
  return TRUE;
}
