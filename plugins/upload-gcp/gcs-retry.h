/* upload-gcp: when to retry and how long to wait (no I/O, unit-tested).
 *
 * Google's guidance for Cloud Storage: retry 408, 429 and 5xx answers and connection failures,
 * with exponential backoff and random jitter (about 1 s doubling to a 32 s cap). The jitter is
 * passed in so the arithmetic is testable; callers draw it from g_random_double().
 *
 * Any thread.
 */
#ifndef GCS_RETRY_H
#define GCS_RETRY_H

#include <glib.h>

G_BEGIN_DECLS

/* Failed attempts in a row (without progress) after which an upload gives up. */
#define GCS_RETRY_MAX_ATTEMPTS 6

#define GCS_BACKOFF_INITIAL_US (G_USEC_PER_SEC)
#define GCS_BACKOFF_MAX_US     (32 * G_USEC_PER_SEC)

/* TRUE for statuses worth retrying: 408, 429 and every 5xx. */
gboolean gcs_status_retriable(guint status);

/* TRUE for transport errors worth retrying (refused, reset, timed out, closed early...); FALSE
 * for ones a retry cannot fix (TLS certificate refused, proxy credentials refused, bad URL,
 * cancelled). */
gboolean gcs_transport_retriable(const GError *error);

/* The wait before retry number `failures` (1 for the first retry): the capped exponential
 * delay min(MAX, INITIAL * 2^(failures-1)) scaled into [50%, 100%] by `jitter` in [0, 1).
 * In microseconds. */
gint64 gcs_backoff_us(guint failures, double jitter);

G_END_DECLS

#endif /* GCS_RETRY_H */
