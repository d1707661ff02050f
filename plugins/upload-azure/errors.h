/* upload-azure — the plugin's error domain and what the Blob service says when it refuses.
 *
 * A refusal carries the Azure error code twice: in the x-ms-error-code header and in an XML body
 *   <?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationFailure</Code>
 *   <Message>Server failed to authenticate the request. ...
 *   RequestId:...\nTime:...</Message></Error>
 * (HEAD answers have no body, so the header is the one that is always there). az_error_parse()
 * reads the body with GMarkup; az_error_describe() makes the one line a person reads:
 *   "HTTP 403 AuthorizationFailure: Server failed to authenticate the request. ..."
 * Nothing here ever sees the account key, so no message can contain it.
 *
 * Ownership: returned strings are transfer full (g_free). Threading: pure and reentrant.
 */
#ifndef AZ_ERRORS_H
#define AZ_ERRORS_H

#include <glib.h>

G_BEGIN_DECLS

#define AZ_ERROR (g_quark_from_static_string("sluice-upload-azure-error"))
typedef enum {
  AZ_ERROR_CONFIG = 1, /* the target is incomplete or malformed */
  AZ_ERROR_FILE,       /* the local file could not be read */
  AZ_ERROR_KEY,        /* the blob name cannot be stored as given */
  AZ_ERROR_AUTH,       /* 403: the service refused our signature or our rights */
  AZ_ERROR_HTTP,       /* any other refusal (4xx, or 5xx after the last retry) */
  AZ_ERROR_NETWORK,    /* no answer after the last retry (refused, reset, timed out, TLS) */
} AzErrorCode;

/* Reads <Error><Code>…</Code><Message>…</Message></Error> from `body` (`len` bytes, need not be
 * NUL-terminated; a UTF-8 byte order mark is skipped). Sets `*code` / `*message` (either may be
 * NULL to skip) to what was found, NULL when absent. FALSE when the body is not such a document. */
gboolean az_error_parse(const char *body, gsize len, char **code, char **message);

/* "HTTP <status> <code>: <first line of message>", preferring the body's code and falling back to
 * `header_code` (x-ms-error-code, may be NULL), then to the status's reason phrase. `body` may be
 * NULL. */
char *az_error_describe(guint status, const char *header_code, const char *body, gsize len);

G_END_DECLS

#endif /* AZ_ERRORS_H */
