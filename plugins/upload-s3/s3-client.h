/* upload-s3 — one signed S3 request, with retries, over libsoup's synchronous API.
 *
 * An S3Client owns one SoupSession (so connections are kept alive between the requests it sends)
 * and is used by one thread only: libsoup sessions are not shared between threads, so each part
 * worker of a multipart upload makes its own client.
 *
 * s3_client_send() signs every attempt afresh (a new x-amz-date, the clock corrected after a
 * RequestTimeTooSkewed), retries what s3-retry.h calls retryable with its back-off, and turns
 * the final failure into one GError whose message names the operation and carries S3's Code and
 * Message and the HTTP status. A request may fix the region once when S3 says the bucket lives
 * elsewhere (PermanentRedirect / AuthorizationHeaderMalformed with the bucket's region); only the
 * thread that owns the target may ask for that, before any other thread uses it.
 *
 * Credentials are taken for each attempt: the target's own keys, or, when it has
 * assume_role_arn, the role's temporary credentials as s3-role.h holds them at that moment (so a
 * long upload moves to new ones as they are refreshed). An answer ExpiredToken or
 * TokenRefreshRequired makes s3-role.h fetch new ones and earns one more attempt that does not
 * count against the target's. When no credentials can be had (STS refused), the request fails
 * with STS's error, prefixed with the operation.
 *
 * s3_client_session_new() and s3_client_prepare_message() are the pieces other requests to the
 * target's hosts share (s3-role.c's AssumeRole): the timeouts, the proxy and its credentials, a
 * body that survives libsoup's own re-sends.
 *
 * Ownership: the client keeps `target` (transfer none), which must outlive it. S3Response holds
 * transfer-full members; clear it with s3_response_clear. s3_client_session_new is transfer
 * full; s3_client_prepare_message takes a reference to `body` and keeps `target` (transfer none)
 * for the message's lifetime.
 */
#ifndef S3_CLIENT_H
#define S3_CLIENT_H

#include "s3-target.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _S3Client S3Client;

S3Client *s3_client_new(S3Target *target);
void s3_client_free(S3Client *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(S3Client, s3_client_free)

typedef struct {
  const char *method;
  const char *key;              /* object key, unencoded */
  const char *const *query;     /* raw name/value pairs, NULL-terminated; may be NULL */
  const char *const *headers;   /* more headers to send and sign (name/value pairs); may be NULL */
  GBytes *body;                 /* NULL: no body */
  const char *content_type;     /* of the body; signed */
  const char *what;             /* for messages: "part 3 of 8", ...; may be NULL */
  guint max_attempts;           /* 0: the target's */
  gboolean body_may_hold_error; /* CompleteMultipartUpload: a 200 may carry an <Error> */
  gboolean may_fix_region;      /* see above */
} S3Request;

typedef struct {
  guint status;     /* of the last attempt; 0 when it got no answer */
  GBytes *body;     /* of the last answer; NULL when none */
  char *etag;       /* the ETag header of the answer, quotes kept; NULL when none */
  char *error_code; /* on failure, S3's Code when the answer had one */
  guint attempts;   /* how many were made */
} S3Response;

void s3_response_clear(S3Response *response);

/* Sends `request` until it succeeds (2xx, and for body_may_hold_error no <Error> in the body) or
 * fails for good. `response` (may be NULL) receives the last answer either way. */
gboolean s3_client_send(S3Client *client, const S3Request *request, S3Response *response,
                        GError **error);

/* A session with the plugin's I/O timeout and user agent and the target's proxy. */
SoupSession *s3_client_session_new(const S3Target *target);

/* No redirects followed; `body` (may be NULL) with `content_type` as the request body, kept across
 * libsoup's re-sends, and "100-continue" awaited for a large one; a proxy's 407 answered with the
 * target's proxy_config credentials. */
void s3_client_prepare_message(SoupMessage *msg, const S3Target *target, const char *content_type,
                               GBytes *body);

G_END_DECLS

#endif /* S3_CLIENT_H */
