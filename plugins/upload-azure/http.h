/* upload-azure — sending one signed request to the Blob service, with retries (libsoup, sync).
 *
 * az_http_send() signs the request for the current time, sends it, and reads at most 64 KiB of
 * the answer (error documents are small; nothing else is read). It tries again as retry.h says,
 * signing each attempt afresh, and logs each retry through the host. The body goes out with its
 * exact Content-Length (the service refuses chunked uploads), either from memory or streamed from
 * a file that every attempt opens afresh (libsoup reads it 8 KiB at a time, so a file costs no
 * more memory than a small one); bodies larger than 1 MiB ask for "100-continue" first, so an auth
 * or container error does not cost the whole body.
 *
 * Errors (AZ_ERROR): AUTH for 403, HTTP for any other status outside 2xx, NETWORK when no answer
 * came; the message names the operation, the HTTP status, Azure's error code and its message:
 *   "Put Blob 'a/b.mp4': HTTP 403 AuthorizationFailure: Server failed to authenticate the
 *    request. ... (...; check account_name, account_key and this machine's clock)"
 * Headers and the key are never part of it.
 *
 * Ownership: the caller keeps `req` (its x-ms-date and Authorization are rewritten on each
 * attempt), `body` (a reference is taken while sending) and `session`. Sessions and `*answer_md5`
 * are transfer full.
 * Threading: a session belongs to the thread that made it; use one per thread. az_http_send()
 * blocks, and returns early with G_IO_ERROR_CANCELLED once `cancellable` is cancelled.
 */
#ifndef AZ_HTTP_H
#define AZ_HTTP_H

#include <libsoup/soup.h>
#include <sluice/host.h>

#include "request.h"
#include "target.h"

G_BEGIN_DECLS

/* One log line through the host; nothing when `host` (or its log) is NULL. */
void az_log(const SluiceHost *host, SluiceLogLevel level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* A session for one thread of one upload. */
SoupSession *az_http_session_new(void);

/* What a request sends: `bytes` from memory, or `size` bytes of the file at `file` (a file that is
 * shorter when an attempt opens it fails that attempt; one that grew is cut at `size`). */
typedef struct {
  GBytes *bytes;
  const char *file;
  guint64 size;
} AzBody;

/* `body` may be NULL (no body). `what` names the operation in logs and errors. `host` may be NULL
 * (no log lines). TRUE when the service answered 2xx; then `*answer_md5` (when not NULL) is the
 * answer's Content-MD5 header, the base64 MD5 the service computed of what it stored, or NULL
 * when it sent none. */
gboolean az_http_send(SoupSession *session, const AzTarget *target, AzRequest *req,
                      const AzBody *body, const char *what, const SluiceHost *host,
                      GCancellable *cancellable, char **answer_md5, GError **error);

G_END_DECLS

#endif /* AZ_HTTP_H */
