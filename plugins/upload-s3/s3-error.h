/* upload-s3 — the error domain every part of the plugin reports in.
 *
 * Messages name the operation and the object ("PUT s3://bucket/key: 403 SignatureDoesNotMatch:
 * ..."), carry S3's own Code and Message when the answer had them, and never a credential.
 */
#ifndef S3_ERROR_H
#define S3_ERROR_H

#include <glib.h>

G_BEGIN_DECLS

#define S3_ERROR (g_quark_from_static_string("upload-s3-error"))

typedef enum {
  S3_ERROR_CONFIG = 1, /* the target cannot be used as configured (no bucket, bad endpoint...) */
  S3_ERROR_FILE,       /* the local file could not be read */
  S3_ERROR_HTTP,       /* S3 answered with an error status (or a 200 carrying an <Error>) */
  S3_ERROR_TRANSPORT,  /* no answer: connection, TLS, timeout */
  S3_ERROR_PROTOCOL,   /* an answer S3 would not send: missing ETag, unreadable XML */
} S3ErrorCode;

G_END_DECLS

#endif /* S3_ERROR_H */
