/* upload-azure — one Blob service REST request as plain data, without I/O.
 *
 * An AzRequest holds what goes on the wire: the method, the URL split into the endpoint's origin
 * ("https://acct.blob.core.windows.net"), the percent-encoded path and the percent-encoded query
 * (both exactly as sent, because SharedKey signs the path as sent), and the request headers.
 * sharedkey.h signs one; http.c turns one into a SoupMessage.
 *
 * Header names compare case-insensitively; setting a header that exists replaces its value and
 * keeps its position. Content-Length is a header like the others here: the signer needs it and
 * http.c checks that the body it sends has that length.
 *
 * Ownership: an AzRequest owns copies of every string given to it; returned `const char *` stay
 * owned by the request, returned `char *` are transfer full (g_free).
 * Threading: no locking; a request belongs to the one thread that builds and sends it.
 */
#ifndef AZ_REQUEST_H
#define AZ_REQUEST_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *name;
  char *value;
} AzHeader;

typedef struct {
  char *method;    /* "PUT", "GET", ... */
  char *origin;    /* "scheme://host[:port]", no trailing '/' */
  char *path;      /* percent-encoded, starts with '/' */
  char *query;     /* percent-encoded, without the '?'; NULL when there is none */
  GArray *headers; /* AzHeader, in the order they were first set */
} AzRequest;

/* `query` may be NULL. */
AzRequest *az_request_new(const char *method, const char *origin, const char *path,
                          const char *query);
void az_request_free(AzRequest *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AzRequest, az_request_free)

void az_request_set_header(AzRequest *req, const char *name, const char *value);
void az_request_remove_header(AzRequest *req, const char *name);
/* NULL when the header is not set. */
const char *az_request_get_header(const AzRequest *req, const char *name);

/* origin + path [+ "?" + query]. */
char *az_request_url(const AzRequest *req);

/* An HTTP date (RFC 1123, always GMT, English names whatever the locale):
 * "Sun, 06 Nov 1994 08:49:37 GMT". */
char *az_http_date(GDateTime *when);

G_END_DECLS

#endif /* AZ_REQUEST_H */
