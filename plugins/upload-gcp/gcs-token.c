/* upload-gcp: access token cache and fetch. See gcs-token.h. */
#include "gcs-token.h"

#include "gcs-error.h"
#include "gcs-http.h"
#include "gcs-jwt.h"
#include "gcs-log.h"
#include "gcs-response.h"

#include <string.h>

typedef struct {
  GMutex lock;       /* held while reading, fetching or replacing the token */
  char *token;       /* NULL until fetched, or after invalidation */
  gint64 refresh_at; /* monotonic µs after which the token is replaced */
} TokenEntry;

static GMutex cache_lock; /* guards `cache` (the table, not the entries) */
static GHashTable *cache; /* cache_key -> TokenEntry*, entries live until shutdown */

static void entry_free(gpointer p)
{
  TokenEntry *e = p;
  if (e->token != NULL) {
    memset(e->token, 0, strlen(e->token));
    g_free(e->token);
  }
  g_mutex_clear(&e->lock);
  g_free(e);
}

static TokenEntry *entry_for(const GcsServiceAccount *account)
{
  TokenEntry *e;
  g_mutex_lock(&cache_lock);
  if (cache == NULL)
    cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
  e = g_hash_table_lookup(cache, account->cache_key);
  if (e == NULL) {
    e = g_new0(TokenEntry, 1);
    g_mutex_init(&e->lock);
    g_hash_table_insert(cache, g_strdup(account->cache_key), e);
  }
  g_mutex_unlock(&cache_lock);
  return e;
}

typedef struct {
  const char *token_uri;
  const char *form; /* grant_type=...&assertion=... */
} TokenRequest;

static SoupMessage *build_token_request(gpointer data, GError **error)
{
  TokenRequest *r = data;
  SoupMessage *msg = soup_message_new("POST", r->token_uri);
  g_autoptr(GBytes) body = NULL;
  if (msg == NULL) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS,
                "the service account's token_uri \"%s\" is not a URL", r->token_uri);
    return NULL;
  }
  body = g_bytes_new(r->form, strlen(r->form));
  soup_message_set_request_body_from_bytes(msg, "application/x-www-form-urlencoded", body);
  soup_message_headers_replace(soup_message_get_request_headers(msg), "Accept", "application/json");
  return msg;
}

/* Exchanges a fresh assertion for a token. Fills `*token` and `*refresh_at`. */
static gboolean fetch(SoupSession *session, const GcsServiceAccount *account, char **token,
                      gint64 *refresh_at, GError **error)
{
  GcsJwtClaims claims = {
      .issuer = account->client_email,
      .key_id = account->private_key_id,
      .audience = account->token_uri,
      .scope = GCS_SCOPE_READ_WRITE,
      /* Ten seconds back, so a clock slightly ahead of Google's still yields an iat that is not
       * in the future; exp stays within the one hour Google allows after iat. */
      .issued_at = g_get_real_time() / G_USEC_PER_SEC - 10,
      .lifetime = GCS_JWT_MAX_LIFETIME,
  };
  g_autofree char *assertion = gcs_jwt_assertion(account->private_key, &claims, error);
  g_autofree char *form = NULL;
  g_autofree char *what = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  TokenRequest req;
  gint64 sent_at, expires_in = 0;
  guint status;

  if (assertion == NULL)
    return FALSE;
  /* The assertion is base64url text joined with dots: nothing in it needs form-encoding. */
  form = g_strconcat("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
                     "&assertion=",
                     assertion, NULL);
  req.token_uri = account->token_uri;
  req.form = form;
  what = g_strdup_printf("token request to %s for %s", account->token_uri, account->client_email);
  sent_at = g_get_monotonic_time();
  msg = gcs_http_send(session, NULL, what, build_token_request, &req, &body, error);
  memset(form, 0, strlen(form));
  memset(assertion, 0, strlen(assertion));
  if (msg == NULL)
    return FALSE;
  status = soup_message_get_status(msg);
  if (!SOUP_STATUS_IS_SUCCESSFUL(status)) {
    g_autofree char *desc = gcs_http_describe(msg, body);
    g_set_error(error, GCS_ERROR, GCS_ERROR_AUTH, "%s failed: %s", what, desc);
    return FALSE;
  }
  if (!gcs_response_token(body, token, &expires_in, error)) {
    g_prefix_error(error, "%s: ", what);
    return FALSE;
  }
  *refresh_at = gcs_response_token_refresh_at(sent_at, expires_in);
  gcs_log_debug("gcp: new access token for %s, valid %" G_GINT64_FORMAT " s", account->client_email,
                expires_in);
  return TRUE;
}

char *gcs_token_get(SoupSession *session, const GcsServiceAccount *account, GError **error)
{
  TokenEntry *e = entry_for(account);
  char *out = NULL;
  g_mutex_lock(&e->lock);
  if (e->token == NULL || g_get_monotonic_time() >= e->refresh_at) {
    char *token = NULL;
    gint64 refresh_at = 0;
    if (fetch(session, account, &token, &refresh_at, error)) {
      if (e->token != NULL) {
        memset(e->token, 0, strlen(e->token));
        g_free(e->token);
      }
      e->token = token;
      e->refresh_at = refresh_at;
    }
  }
  if (e->token != NULL && g_get_monotonic_time() < e->refresh_at)
    out = g_strdup(e->token);
  else if (error != NULL && *error == NULL)
    g_set_error(error, GCS_ERROR, GCS_ERROR_AUTH, "no valid access token for %s",
                account->client_email);
  g_mutex_unlock(&e->lock);
  return out;
}

void gcs_token_invalidate(const GcsServiceAccount *account, const char *token)
{
  TokenEntry *e = entry_for(account);
  g_mutex_lock(&e->lock);
  if (e->token != NULL && g_strcmp0(e->token, token) == 0) {
    memset(e->token, 0, strlen(e->token));
    g_clear_pointer(&e->token, g_free);
  }
  g_mutex_unlock(&e->lock);
}

void gcs_token_cache_clear(void)
{
  g_mutex_lock(&cache_lock);
  g_clear_pointer(&cache, g_hash_table_unref);
  g_mutex_unlock(&cache_lock);
}
