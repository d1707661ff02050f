/* upload-azure — when a failed request is tried again, and how long to wait first.
 *
 * Tried again: 408, 500, 502, 503 (ServerBusy), 504, and a request that got no answer at all
 * (connection refused or reset, timeout, a broken response). Never: any other status, 403
 * included — a refused signature stays refused, and retrying it only delays the error — nor a
 * TLS failure (a certificate problem does not heal in a second) nor a cancellation.
 * Every attempt is signed afresh (http.c), so a retry never carries a stale x-ms-date.
 *
 * Back-off: exponential with "equal jitter": before retry n (1-based) the nominal delay is
 * min(max, base * 2^(n-1)) and the wait is uniformly in [nominal/2, nominal]. Half of it is
 * guaranteed, so the attempts are spread in time even with bad luck; the random half keeps many
 * uploads that failed together from coming back together.
 *
 * Threading: pure and reentrant; the caller supplies the random fraction.
 */
#ifndef AZ_RETRY_H
#define AZ_RETRY_H

#include <glib.h>

G_BEGIN_DECLS

#define AZ_RETRY_MAX_ATTEMPTS 5 /* the first try and four retries */
#define AZ_RETRY_BASE_MS      400
#define AZ_RETRY_MAX_MS       5000

gboolean az_retry_status(guint status);

/* A transport error (no HTTP answer) that is worth another attempt. */
gboolean az_retry_transport_error(const GError *error);

/* Milliseconds to wait before retry `retry` (1 = the first retry); `fraction` in [0, 1). */
guint az_retry_delay_ms(guint retry, guint base_ms, guint max_ms, double fraction);

G_END_DECLS

#endif /* AZ_RETRY_H */
