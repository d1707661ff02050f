/* upload-alioss — one OSS API call over HTTP: signed, sent with libsoup's blocking API, retried.
 *
 * Each attempt is signed afresh (a new x-oss-date), so a retry minutes later is not refused as
 * stale. Retried, with exponential backoff and jitter: connection failures and timeouts, HTTP 5xx
 * and 429. A 403 RequestTimeTooSkewed is retried once at once with the clock corrected by the
 * <ServerTime> OSS sent. Every other answer is final.
 *
 * Ownership: an OssClient borrows its OssTarget (which must outlive it) and owns its
 * SoupSession. Bodies are transfer none; OssResponse fields are owned by the response
 * (oss_response_clear). Threading: an OssClient belongs to the thread that made it (libsoup's
 * blocking calls run on the caller's thread); make one per thread. Distinct clients share
 * nothing and run concurrently.
 */
#ifndef OSS_HTTP_H
#define OSS_HTTP_H

#include "oss-target.h"

#include <sluice/host.h>

G_BEGIN_DECLS

/* Logs one line from any thread; `message` is transfer none. */
typedef void (*OssLogFunc)(SluiceLogLevel level, const char *message, gpointer user_data);

typedef struct {
  guint max_retries;   /* attempts after the first; 0 = no retry */
  guint base_delay_ms; /* first backoff; doubles per retry */
  guint max_delay_ms;  /* cap on one backoff */
  guint timeout_s;     /* I/O timeout of one attempt (connect, each read and write) */
} OssRetryPolicy;

#define OSS_RETRY_POLICY_DEFAULT                                                                   \
  {                                                                                                \
    5, 200, 5000, 60                                                                               \
  }

typedef struct _OssClient OssClient;

OssClient *oss_client_new(const OssTarget *target, const OssRetryPolicy *policy, OssLogFunc log,
                          gpointer log_data);
void oss_client_free(OssClient *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(OssClient, oss_client_free)

typedef struct {
  const char *op;       /* API name for messages: "PutObject", "UploadPart", ... */
  const char *detail;   /* extra words for messages ("part 3 of 8"), or NULL */
  const char *method;   /* HTTP method */
  const char *key;      /* object key (raw) */
  const OssPair *query; /* raw query parameters (value NULL: valueless) */
  guint n_query;
  const char *content_type; /* Content-Type to send, or NULL for none */
  GBytes *body;             /* request body (sent with Content-MD5), or NULL for none */
} OssCall;

typedef struct {
  guint status;
  GBytes *body;  /* the answer's body, never NULL after success */
  char *etag;    /* the ETag header, or NULL */
  gint64 length; /* Content-Length of the answer, or -1 */
} OssResponse;

void oss_response_clear(OssResponse *r);

/* Makes the call. TRUE with `resp` filled on a 2xx answer; FALSE with `error` (OSS_ERROR_HTTP or
 * OSS_ERROR_TRANSPORT) otherwise, and then `*oss_code` (when not NULL) is set to OSS's <Code>
 * or NULL (transfer full). */
gboolean oss_client_call(OssClient *c, const OssCall *call, OssResponse *resp, char **oss_code,
                         GError **error);

/* The backoff before retry number `retry` (0-based): half of min(max, base * 2^retry) plus a
 * random part of up to the other half. Exposed for tests. */
guint oss_backoff_ms(const OssRetryPolicy *p, guint retry, guint32 random);

G_END_DECLS

#endif /* OSS_HTTP_H */
