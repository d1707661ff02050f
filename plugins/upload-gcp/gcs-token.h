/* upload-gcp: OAuth 2.0 access tokens for service accounts, cached per process.
 *
 * A token is fetched by POSTing a signed JWT assertion (gcs-jwt.h) to the account's token_uri
 * with grant_type urn:ietf:params:oauth:grant-type:jwt-bearer. Tokens are cached per
 * credentials (GcsServiceAccount.cache_key) and replaced before they expire
 * (gcs_response_token_refresh_at), so concurrent and consecutive uploads share one token and a
 * long upload switches to a fresh one between chunks.
 *
 * Threading: any thread. One lock guards the cache table; each cached credential has its own
 * lock held while its token is fetched, so concurrent uploads with the same credentials wait for
 * one fetch instead of each making their own, and uploads with other credentials do not wait.
 * Ownership: returned tokens are transfer full (g_free); they are secrets and never logged.
 */
#ifndef GCS_TOKEN_H
#define GCS_TOKEN_H

#include "gcs-target.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* A valid access token for `account`, from the cache or fetched now through `session` (the
 * calling upload's). NULL with `error` (GCS_ERROR_AUTH with the endpoint's status and message,
 * GCS_ERROR_CREDENTIALS for an unusable key, GCS_ERROR_TRANSPORT) when none can be had. */
char *gcs_token_get(SoupSession *session, const GcsServiceAccount *account, GError **error);

/* Drops the cached token for `account` if it still is `token` (a server refused it), so the next
 * gcs_token_get() fetches a new one; a token another upload already replaced stays. */
void gcs_token_invalidate(const GcsServiceAccount *account, const char *token);

/* Empties the cache (plugin shutdown). Main thread, no uploads running. */
void gcs_token_cache_clear(void);

G_END_DECLS

#endif /* GCS_TOKEN_H */
