/* metrics.h — Prometheus metric registry and text exposition (format 0.0.4).
 *
 * A registry (SlMetrics) holds metric families — counters and gauges — each with a name, help text
 * and a fixed list of label names. Samples are addressed by their label values and created on
 * first set/add. sl_metrics_render() produces the text served on prometheus_port: families sorted
 * by name, samples sorted by label values, so the output is stable from scrape to scrape.
 * Names are used exactly as registered: nothing is appended (a counter the caller wants named
 * `x_total` must be registered as `x_total`).
 *
 * Collectors are callbacks run at the start of every render, to refresh values that are sampled
 * rather than pushed (CPU load, availability, the process_* series of
 * sl_metrics_add_process_collector()).
 *
 * Ownership: sl_metrics_new() returns a registry owned by the caller (sl_metrics_free or
 * g_autoptr). SlMetricFamily pointers from sl_metrics_register()/sl_metrics_lookup() are transfer
 * none: they belong to the registry and stay valid until it is freed. sl_metrics_render() returns
 * transfer full (g_free). Strings and string arrays passed in are copied.
 *
 * Threads: the registry is guarded by one GMutex. sl_metrics_register, sl_metrics_lookup and the
 * sl_metric_* functions may be called from any thread (plugins update from GStreamer streaming
 * threads). sl_metrics_new, sl_metrics_free, sl_metrics_add_collector* and sl_metrics_render are
 * called from the main loop thread; collectors run in the thread that renders, with the lock not
 * held, so they may call sl_metric_set.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SL_METRICS_ERROR (sl_metrics_error_quark())
GQuark sl_metrics_error_quark(void);

typedef enum {
  SL_METRICS_ERROR_INVALID_NAME, /* metric or label name outside the allowed alphabet */
  SL_METRICS_ERROR_CONFLICT,     /* name already registered with another kind, help or labels */
  SL_METRICS_ERROR_PARSE,        /* a /proc file did not have the expected shape */
} SlMetricsError;

typedef enum {
  SL_METRIC_COUNTER,
  SL_METRIC_GAUGE,
} SlMetricKind;

typedef struct _SlMetrics SlMetrics;
typedef struct _SlMetricFamily SlMetricFamily;

typedef void (*SlMetricsCollectFunc)(SlMetrics *metrics, gpointer user_data);

/* Transfer full. */
SlMetrics *sl_metrics_new(void);
void sl_metrics_free(SlMetrics *metrics);

/* Registers a family. @name must match [a-zA-Z_:][a-zA-Z0-9_:]*; @label_names (NULL-terminated,
 * may be NULL for none) must each match [a-zA-Z_][a-zA-Z0-9_]*, not start with "__" and not
 * repeat. Registering a name again with the same kind, help and label names returns the existing
 * family; anything else under that name fails with SL_METRICS_ERROR_CONFLICT. A family without
 * labels starts with one sample at 0, as client libraries do. Returns transfer none. */
SlMetricFamily *sl_metrics_register(SlMetrics *metrics, SlMetricKind kind, const char *name,
                                    const char *help, const char *const *label_names,
                                    GError **error);

/* The family registered under @name, or NULL. Transfer none. */
SlMetricFamily *sl_metrics_lookup(SlMetrics *metrics, const char *name);

/* @label_values holds exactly one value per label name, in registration order (NULL when the
 * family has no labels). Values that are not valid UTF-8 are stored with U+FFFD replacements. */

/* Sets a sample. Counters refuse negative values and NaN (returns FALSE). */
gboolean sl_metric_set(SlMetricFamily *family, const char *const *label_values, double value);
/* Adds to a sample (creating it at 0). Counters refuse negative deltas and NaN (returns FALSE). */
gboolean sl_metric_add(SlMetricFamily *family, const char *const *label_values, double delta);
/* Reads a sample; FALSE when it does not exist. */
gboolean sl_metric_get(SlMetricFamily *family, const char *const *label_values, double *out_value);
/* Removes a sample (a session that ended); FALSE when it did not exist. */
gboolean sl_metric_remove(SlMetricFamily *family, const char *const *label_values);

/* Adds a callback run before every render, in the order added. */
void sl_metrics_add_collector(SlMetrics *metrics, SlMetricsCollectFunc fn, gpointer user_data);
/* The same, with @destroy called on @user_data when the registry is freed. */
void sl_metrics_add_collector_full(SlMetrics *metrics, SlMetricsCollectFunc fn, gpointer user_data,
                                   GDestroyNotify destroy);

/* Runs the collectors, then renders every family that has samples. Transfer full. */
char *sl_metrics_render(SlMetrics *metrics);

/* Registers the standard process_* families (process_cpu_seconds_total,
 * process_resident_memory_bytes, process_virtual_memory_bytes, process_start_time_seconds,
 * process_open_fds, process_max_fds) and a collector that refreshes them from /proc/self/stat,
 * /proc/self/fd, /proc/self/limits and /proc/stat. Fails only on a conflicting registration. */
gboolean sl_metrics_add_process_collector(SlMetrics *metrics, GError **error);

/* Parses the soft "Max open files" limit from the text of /proc/<pid>/limits; "unlimited" gives
 * +Inf. */
gboolean sl_metrics_parse_max_open_files(const char *limits_text, double *out_value,
                                         GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlMetrics, sl_metrics_free)

G_END_DECLS
