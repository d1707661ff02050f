/* The node's HTTP surfaces on libsoup 3: health (/ and /availability) and Prometheus (/metrics).
 *
 * When health_port and prometheus_port are the same, one listener serves both. Handlers answer
 * from state the service keeps current (availability is asked through a callback so the answer
 * is computed at request time).
 *
 * Ownership: SlHttp owns its SoupServers; the SlMetrics and the callback data are borrowed and
 * must outlive it. Main thread (libsoup dispatches on the thread-default main context).
 */
#ifndef SL_HTTP_H
#define SL_HTTP_H

#include "metrics.h"

#include <glib.h>

G_BEGIN_DECLS

/* Returns TRUE when the node can take the largest job; otherwise sets `why` (transfer full). */
typedef gboolean (*SlAvailabilityFunc)(gpointer user_data, char **why);

typedef struct _SlHttp SlHttp;

SlHttp *sl_http_new(void);
void sl_http_free(SlHttp *http);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlHttp, sl_http_free)

/* Serve "/" → 200 "Healthy" and "/availability" → 200 "Available" or 503 with the reason.
 * `port` 0 or -1 leaves it off. */
gboolean sl_http_serve_health(SlHttp *http, const char *address, gint port,
                              SlAvailabilityFunc availability, gpointer user_data, GError **error);

/* Serve "/metrics" in Prometheus text format. `port` 0 or -1 leaves it off. */
gboolean sl_http_serve_metrics(SlHttp *http, const char *address, gint port, SlMetrics *metrics,
                               GError **error);

/* Stop listening (used when draining ends). */
void sl_http_close(SlHttp *http);

G_END_DECLS

#endif /* SL_HTTP_H */
