/* upload-s3 — credentials and the STS AssumeRole request. See s3-sts.h. */
#include "s3-sts.h"

#include "sigv4.h"

#include <string.h>

static void credentials_clear(gpointer p)
{
  S3Credentials *c = p;
  if (c->secret != NULL)
    memset(c->secret, 0, strlen(c->secret));
  if (c->session_token != NULL)
    memset(c->session_token, 0, strlen(c->session_token));
  g_free(c->access_key);
  g_free(c->secret);
  g_free(c->session_token);
}

S3Credentials *s3_credentials_new(const char *access_key, const char *secret,
                                  const char *session_token, gint64 refresh_at, gint64 expires_at)
{
  S3Credentials *c = g_atomic_rc_box_new0(S3Credentials);
  c->access_key = g_strdup(access_key);
  c->secret = g_strdup(secret);
  c->session_token = session_token != NULL && *session_token ? g_strdup(session_token) : NULL;
  c->refresh_at = refresh_at;
  c->expires_at = expires_at;
  return c;
}

S3Credentials *s3_credentials_ref(S3Credentials *creds)
{
  return g_atomic_rc_box_acquire(creds);
}

void s3_credentials_unref(S3Credentials *creds)
{
  if (creds != NULL)
    g_atomic_rc_box_release_full(creds, credentials_clear);
}

gint64 s3_sts_refresh_margin(gint64 lifetime)
{
  gint64 margin = MAX(60, lifetime / 5);
  return lifetime > 0 ? MIN(margin, lifetime / 2) : 0;
}

char *s3_sts_session_name(gint64 unix_ns)
{
  return g_strdup_printf("sluice-%" G_GINT64_FORMAT, unix_ns);
}

/* application/x-www-form-urlencoded as the AWS SDKs write it: A-Z a-z 0-9 - _ . ~ kept, a space
 * as '+', every other byte %XX. (moto checks the signature over the form it re-encodes this
 * way from the parsed parameters, so any other spelling of the same values fails there.) */
static void append_param(GString *out, const char *name, const char *value)
{
  static const char hex[] = "0123456789ABCDEF";
  g_string_append_printf(out, "%s%s=", out->len ? "&" : "", name);
  for (const guchar *p = (const guchar *)value; *p; p++) {
    if (g_ascii_isalnum(*p) || strchr("-_.~", *p) != NULL) {
      g_string_append_c(out, (char)*p);
    } else if (*p == ' ') {
      g_string_append_c(out, '+');
    } else {
      g_string_append_c(out, '%');
      g_string_append_c(out, hex[*p >> 4]);
      g_string_append_c(out, hex[*p & 15]);
    }
  }
}

char *s3_sts_assume_role_body(const char *role_arn, const char *session_name,
                              const char *external_id, guint duration_seconds)
{
  GString *out = g_string_new(NULL);
  g_autofree char *duration = g_strdup_printf("%u", duration_seconds);
  append_param(out, "Action", "AssumeRole");
  append_param(out, "Version", S3_STS_VERSION);
  append_param(out, "RoleArn", role_arn);
  append_param(out, "RoleSessionName", session_name);
  append_param(out, "DurationSeconds", duration);
  if (external_id != NULL && *external_id != '\0')
    append_param(out, "ExternalId", external_id);
  return g_string_free(out, FALSE);
}

char **s3_sts_request_headers(const S3Credentials *base, const char *region,
                              const char *host_header, const char *path, const char *amz_date,
                              const char *body)
{
  g_autofree char *payload_hash = s3_sha256_hex(body, strlen(body));
  GPtrArray *h = g_ptr_array_new();
  char *auth;

  g_ptr_array_add(h, g_strdup("host"));
  g_ptr_array_add(h, g_strdup(host_header));
  g_ptr_array_add(h, g_strdup("x-amz-date"));
  g_ptr_array_add(h, g_strdup(amz_date));
  g_ptr_array_add(h, g_strdup("content-type"));
  g_ptr_array_add(h, g_strdup(S3_STS_CONTENT_TYPE));
  if (base->session_token != NULL) {
    g_ptr_array_add(h, g_strdup("x-amz-security-token"));
    g_ptr_array_add(h, g_strdup(base->session_token));
  }
  g_ptr_array_add(h, NULL);
  /* Signed before authorization is added: every header above is signed, and only those. */
  auth = s3_sigv4_authorization(base->access_key, base->secret, region, "sts", amz_date, "POST",
                                path, "", (const char *const *)h->pdata, payload_hash);
  h->pdata[h->len - 1] = g_strdup("authorization");
  g_ptr_array_add(h, auth);
  g_ptr_array_add(h, NULL);
  return (char **)g_ptr_array_free(h, FALSE);
}
