/* upload-s3 — which failed S3 requests are worth another attempt, and how long to wait. No I/O.
 *
 * The policy follows the AWS SDKs' "standard" retry mode: connection failures, 5xx, throttling
 * (429, SlowDown, Throttling...), RequestTimeout, InternalError (including the one a
 * CompleteMultipartUpload answers with status 200), 409 OperationAborted and RequestTimeTooSkewed
 * (after correcting the clock) are retried; an answer that will not change by asking again —
 * SignatureDoesNotMatch, AccessDenied, InvalidAccessKeyId, EntityTooSmall, InvalidPart, a missing
 * bucket — is final at once, whatever its status.
 *
 * The wait before attempt n+1 is exponential with jitter: the ceiling doubles from
 * `min_delay` with each failure up to `max_delay`, and the wait is drawn in the upper half of it
 * ("equal jitter"), so concurrent uploads that failed together do not come back together, and
 * never less than `min_delay`.
 *
 * Threading: pure functions, any thread.
 */
#ifndef S3_RETRY_H
#define S3_RETRY_H

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when an answer with HTTP `status` and S3 error `code` (NULL when the body had none) may
 * succeed if asked again. A status of 0 means no answer at all (a transport failure). */
gboolean s3_retry_is_retryable(guint status, const char *code);

/* Seconds to wait after `failures` (>= 1) failed attempts; `random01` in [0, 1). */
double s3_retry_delay(guint failures, double min_delay, double max_delay, double random01);

G_END_DECLS

#endif /* S3_RETRY_H */
