/* upload-alioss — the plugin's GError domain. Messages name the operation, the object key, the
 * HTTP status and OSS's own <Code> and <Message>; they never contain the AccessKey secret. */
#ifndef OSS_ERROR_H
#define OSS_ERROR_H

#include <glib.h>

G_BEGIN_DECLS

#define OSS_ERROR (g_quark_from_static_string("upload-alioss-error"))

typedef enum {
  OSS_ERROR_CONFIG = 1, /* the target is missing a field or has an unusable one */
  OSS_ERROR_KEY,        /* the object key cannot be stored in OSS */
  OSS_ERROR_FILE,       /* the local file could not be read, or changed while being read */
  OSS_ERROR_HTTP,       /* OSS answered with an error status (message has Code and Message) */
  OSS_ERROR_TRANSPORT,  /* no answer: connection, TLS or timeout, after the retries */
  OSS_ERROR_PROTOCOL,   /* an answer that does not follow the OSS API */
} OssErrorCode;

G_END_DECLS

#endif /* OSS_ERROR_H */
