/* upload-gcp: HTTP with libsoup's synchronous API, authorisation and the retry loop.
 *
 * Each upload makes its own SoupSession on the upload worker thread that runs it and drops it
 * when done: libsoup sessions are bound to the thread that made them, and a session per upload
 * keeps concurrent uploads independent (the one thing they share, the token cache, has its own
 * lock in gcs-token.c). Connections are reused within an upload.
 *
 * Ownership as stated per function. Threading: the thread that created the session.
 */
#ifndef GCS_HTTP_H
#define GCS_HTTP_H

#include "gcs-target.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* A session for one upload to `t`: I/O timeouts, sluice's User-Agent, and the target's proxy
 * (or the system's). Transfer full. */
SoupSession *gcs_http_session_new(const GcsTarget *t);

/* One exchange: sends `msg` (transfer none) and reads the whole answer. Returns the body
 * (transfer full, possibly empty) with the status in `msg`, or NULL with `error` set when no
 * answer arrived (refused, reset, timed out...). */
GBytes *gcs_http_exchange(SoupSession *session, SoupMessage *msg, GError **error);

/* Adds "Authorization: Bearer <token>" for `account` (nothing when it is NULL), fetching or
 * refreshing the token as needed. `*token_used` (transfer full, may be NULL) is the token sent,
 * for gcs_token_invalidate() after a 401. FALSE with `error` when no token could be had. */
gboolean gcs_http_authorize(SoupSession *session, const GcsServiceAccount *account,
                            SoupMessage *msg, char **token_used, GError **error);

/* Builds the request for one attempt (a new message each time, since a body stream is used up by
 * sending it). Transfer full; NULL with `error` to stop. */
typedef SoupMessage *(*GcsBuildFunc)(gpointer data, GError **error);

/* Sends the request `build` makes, authorised for `account` (may be NULL), until an answer is
 * not worth retrying: connection failures, 408, 429 and 5xx are retried with backoff up to
 * GCS_RETRY_MAX_ATTEMPTS times; a 401 refreshes the token and retries at once, once. Returns
 * the last message (transfer full), its body in `*body` (transfer full): the caller judges the
 * status. NULL with `error` (GCS_ERROR_TRANSPORT, or the build's or token's error) when no
 * answer came. `what` names the request in errors and logs ("simple upload of gs://b/o"). */
SoupMessage *gcs_http_send(SoupSession *session, const GcsServiceAccount *account, const char *what,
                           GcsBuildFunc build, gpointer data, GBytes **body, GError **error);

/* Sleeps the backoff before retry number `failures` (gcs-retry.h), logging why. */
void gcs_http_backoff(const char *what, guint failures, const char *reason);

/* "HTTP <status> <reason>: <Google's message>" for a finished exchange. Transfer full. */
char *gcs_http_describe(SoupMessage *msg, GBytes *body);

G_END_DECLS

#endif /* GCS_HTTP_H */
