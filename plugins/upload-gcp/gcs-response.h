/* upload-gcp: reading what Google's servers answer (no I/O, unit-tested).
 *
 * Three shapes: the JSON API's error document {"error": {"code", "message", "errors": [...]}},
 * the OAuth token endpoint's answers ({"access_token", "expires_in", "token_type"} or
 * {"error", "error_description"}), and the object resource a finished upload returns
 * ({"name", "bucket", "size": "<decimal string>", ...}).
 *
 * Ownership: `body` arguments are transfer none and may be NULL; returned strings are transfer
 * full. Any thread.
 */
#ifndef GCS_RESPONSE_H
#define GCS_RESPONSE_H

#include <glib.h>

G_BEGIN_DECLS

/* A one-line description of a failed answer: "HTTP 403 Forbidden: <Google's message>". The
 * message is taken from either JSON error shape; a body that is not JSON contributes its first
 * line (at most 200 bytes, control characters dropped); an empty body contributes nothing.
 * `reason` may be NULL. */
char *gcs_response_describe(guint status, const char *reason, GBytes *body);

/* Parses a successful token answer. `*token` (transfer full) is the access token and
 * `*expires_in` its lifetime in seconds (3600 when the field is missing). FALSE with `error`
 * (GCS_ERROR_AUTH) when there is no usable token; the message never quotes the body. */
gboolean gcs_response_token(GBytes *body, char **token, gint64 *expires_in, GError **error);

/* When a token received at `received_us` (monotonic) with `expires_in` seconds to live should be
 * replaced: a quarter of its lifetime early, but never more than five minutes early, so that a
 * request never starts with a token about to expire (Google's tokens live an hour; refreshed 5
 * minutes early). */
gint64 gcs_response_token_refresh_at(gint64 received_us, gint64 expires_in);

/* Reads the object resource of a finished upload: `*size` from its "size" string. FALSE with
 * `error` (GCS_ERROR_PROTOCOL) when the body is not an object resource. */
gboolean gcs_response_object_size(GBytes *body, gint64 *size, GError **error);

G_END_DECLS

#endif /* GCS_RESPONSE_H */
