/* upload-gcp: the plugin's error domain.
 *
 * Every GError the plugin returns is in GCS_ERROR. Messages name the object, the HTTP status and
 * Google's own message; they never contain the private key, the signed assertion or a token.
 */
#ifndef GCS_ERROR_H
#define GCS_ERROR_H

#include <glib.h>

G_BEGIN_DECLS

#define GCS_ERROR (g_quark_from_static_string("sluice-upload-gcp-error"))

typedef enum {
  GCS_ERROR_CONFIG = 1,  /* the target structure is incomplete or malformed */
  GCS_ERROR_CREDENTIALS, /* the service account JSON is unusable (parse, key, type) */
  GCS_ERROR_AUTH,        /* the token endpoint refused us, or the API said 401/403 */
  GCS_ERROR_HTTP,        /* the API answered with an error status */
  GCS_ERROR_TRANSPORT,   /* the connection failed (after retries) */
  GCS_ERROR_PROTOCOL,    /* the server broke the resumable protocol (bad Range, early finish) */
  GCS_ERROR_IO,          /* reading the local file failed */
} GcsErrorCode;

G_END_DECLS

#endif /* GCS_ERROR_H */
