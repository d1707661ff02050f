/* upload-s3 — STS AssumeRole and the process-wide cache of role credentials. See s3-role.h. */
#include "s3-role.h"

#include "s3-client.h"
#include "s3-error.h"
#include "s3-retry.h"
#include "s3-xml.h"
#include "sigv4.h"
#include "upload-s3.h"

#include <string.h>

/* After a failed refresh, how long the current credentials are used before STS is asked again. */
#define ROLE_RETRY_AFTER (10 * G_USEC_PER_SEC)

/* From this many entries on, a new one first drops those whose credentials ran out. */
#define ROLE_CACHE_PRUNE_FROM 32

typedef struct {
  GMutex lock;          /* held while reading `creds` and through a fetch */
  S3Credentials *creds; /* NULL before the first success; replaced, never changed */
  gint64 retry_at;      /* after a failed refresh: no new attempt before this (monotonic) */
} RoleEntry;

/* A static GMutex needs no initialisation. */
static GMutex roles_lock;
static GHashTable *roles; /* cache key -> RoleEntry (a reference each); under roles_lock */

static void role_entry_clear(gpointer p)
{
  RoleEntry *e = p;
  g_mutex_clear(&e->lock);
  s3_credentials_unref(e->creds);
}

static void role_entry_unref(gpointer e)
{
  g_atomic_rc_box_release_full(e, role_entry_clear);
}

static char *cache_key(const S3Target *t)
{
  const char *parts[] = {
      t->access_key,
      t->secret,
      t->session_token ? t->session_token : "",
      t->assume_role_arn,
      t->assume_role_external_id ? t->assume_role_external_id : "",
      t->sts_url,
      t->sts_region,
  };
  GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
  char *key;
  for (guint i = 0; i < G_N_ELEMENTS(parts); i++) /* each with its NUL, as a separator */
    g_checksum_update(sum, (const guchar *)parts[i], (gssize)strlen(parts[i]) + 1);
  key = g_strdup(g_checksum_get_string(sum));
  g_checksum_free(sum);
  return key;
}

/* Under roles_lock. An entry whose lock is taken is being fetched: it stays. */
static void prune(void)
{
  GHashTableIter it;
  gpointer value;
  gint64 now = g_get_monotonic_time();
  g_hash_table_iter_init(&it, roles);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    RoleEntry *e = value;
    gboolean dead;
    if (!g_mutex_trylock(&e->lock))
      continue;
    dead = e->creds == NULL || now >= e->creds->expires_at;
    g_mutex_unlock(&e->lock);
    if (dead)
      g_hash_table_iter_remove(&it);
  }
}

/* The target's entry, made if it is new; transfer full. */
static RoleEntry *entry_for(const S3Target *t)
{
  g_autofree char *key = cache_key(t);
  RoleEntry *e;
  g_mutex_lock(&roles_lock);
  if (roles == NULL)
    roles = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, role_entry_unref);
  e = g_hash_table_lookup(roles, key);
  if (e == NULL) {
    if (g_hash_table_size(roles) >= ROLE_CACHE_PRUNE_FROM)
      prune();
    e = g_atomic_rc_box_new0(RoleEntry);
    g_mutex_init(&e->lock);
    g_hash_table_insert(roles, g_steal_pointer(&key), e);
  }
  e = g_atomic_rc_box_acquire(e);
  g_mutex_unlock(&roles_lock);
  return e;
}

/* Credentials from a parsed answer. Their lifetime is counted in STS's clock (the answer's Date;
 * the local one, corrected by the target's skew, without it) and placed on the monotonic one. */
static S3Credentials *from_answer(S3Target *t, const S3XmlCredentials *xc, SoupMessage *msg,
                                  const char *session_name)
{
  const char *date = soup_message_headers_get_one(soup_message_get_response_headers(msg), "Date");
  g_autoptr(GDateTime) server = date ? soup_date_time_new_from_http_string(date) : NULL;
  gint64 now = server ? g_date_time_to_unix(server)
                      : g_get_real_time() / G_USEC_PER_SEC + g_atomic_int_get(&t->clock_skew);
  gint64 lifetime = MAX(xc->expiration - now, 0);
  gint64 margin = s3_sts_refresh_margin(lifetime);
  gint64 mono = g_get_monotonic_time();

  s3_log(SLUICE_LOG_INFO,
         "assumed role %s (session %s): valid %" G_GINT64_FORMAT
         " s, renewed after %" G_GINT64_FORMAT " s",
         t->assume_role_arn, session_name, lifetime, lifetime - margin);
  return s3_credentials_new(xc->access_key_id, xc->secret_access_key, xc->session_token,
                            mono + (lifetime - margin) * G_USEC_PER_SEC,
                            mono + lifetime * G_USEC_PER_SEC);
}

/* One AssumeRole, retried as the target's S3 requests are. */
static S3Credentials *assume_role(S3Target *t, GError **error)
{
  g_autoptr(SoupSession) session = s3_client_session_new(t);
  g_autoptr(S3Credentials) base =
      s3_credentials_new(t->access_key, t->secret, t->session_token, G_MAXINT64, G_MAXINT64);
  g_autofree char *name = s3_sts_session_name(g_get_real_time() * 1000);
  g_autofree char *form = s3_sts_assume_role_body(t->assume_role_arn, name,
                                                  t->assume_role_external_id, S3_STS_DURATION);
  g_autoptr(GBytes) body = g_bytes_new(form, strlen(form));
  g_autoptr(GUri) uri = g_uri_build(SOUP_HTTP_URI_FLAGS, t->sts_scheme, NULL, t->sts_host,
                                    t->sts_port, t->sts_path, NULL, NULL);

  for (guint n = 1;; n++) {
    gint64 now = g_get_real_time() / G_USEC_PER_SEC + g_atomic_int_get(&t->clock_skew);
    g_autofree char *amz_date = s3_sigv4_amz_date(now);
    g_auto(GStrv) headers = s3_sts_request_headers(base, t->sts_region, t->sts_host_header,
                                                   t->sts_path, amz_date, form);
    g_autoptr(SoupMessage) msg = soup_message_new_from_uri("POST", uri);
    g_autoptr(GBytes) answer = NULL;
    g_autoptr(GError) transport = NULL;
    g_autofree char *problem = NULL;
    SoupMessageHeaders *mh = soup_message_get_request_headers(msg);
    gboolean retry = FALSE;
    double delay;

    s3_client_prepare_message(msg, t, S3_STS_CONTENT_TYPE, body);
    for (guint i = 0; headers[i] != NULL && headers[i + 1] != NULL; i += 2)
      soup_message_headers_replace(mh, headers[i], headers[i + 1]);
    answer = soup_session_send_and_read(session, msg, NULL, &transport);

    if (transport != NULL) {
      problem = g_strdup(transport->message);
      retry = !g_error_matches(transport, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    } else {
      guint status = soup_message_get_status(msg);
      gsize len = 0;
      const char *data = answer ? g_bytes_get_data(answer, &len) : NULL;
      if (SOUP_STATUS_IS_SUCCESSFUL(status)) {
        g_auto(S3XmlCredentials) xc = {0};
        g_autoptr(GError) err = NULL;
        if (s3_xml_parse_assume_role(data, len, &xc, &err))
          return from_answer(t, &xc, msg, name);
        /* Not STS (an S3-compatible server without it answers something else): final. */
        problem = g_strdup_printf("%u, but not an AssumeRoleResponse: %s", status, err->message);
      } else {
        g_auto(S3XmlError) xe = {0};
        if (s3_xml_parse_sts_error(data, len, &xe))
          problem = xe.message && *xe.message
                        ? g_strdup_printf("%u %s: %s", status, xe.code, xe.message)
                        : g_strdup_printf("%u %s", status, xe.code);
        else
          problem = g_strdup_printf("%u %s", status, soup_status_get_phrase(status));
        retry = s3_retry_is_retryable(status, xe.code);
      }
    }

    if (!retry || n >= t->max_attempts) {
      g_autofree char *after = n > 1 ? g_strdup_printf(" (after %u attempts)", n) : g_strdup("");
      g_set_error(error, S3_ERROR, transport ? S3_ERROR_TRANSPORT : S3_ERROR_HTTP,
                  "STS AssumeRole of %s at %s: %s%s", t->assume_role_arn, t->sts_url, problem,
                  after);
      return NULL;
    }
    delay = s3_retry_delay(n, t->min_delay, t->max_delay, g_random_double());
    s3_log(SLUICE_LOG_WARNING, "STS AssumeRole of %s: %s; attempt %u of %u in %.2f s",
           t->assume_role_arn, problem, n + 1, t->max_attempts, delay);
    g_usleep((gulong)(delay * G_USEC_PER_SEC));
  }
}

S3Credentials *s3_role_credentials(S3Target *t, S3Credentials *stale, GError **error)
{
  RoleEntry *e = entry_for(t);
  S3Credentials *out = NULL;
  S3Credentials *current;
  gint64 now;

  g_mutex_lock(&e->lock);
  now = g_get_monotonic_time();
  current = e->creds != NULL && e->creds != stale && now < e->creds->expires_at ? e->creds : NULL;
  if (current != NULL && (now < current->refresh_at || now < e->retry_at)) {
    out = s3_credentials_ref(current);
  } else {
    g_autoptr(GError) err = NULL;
    S3Credentials *fresh = assume_role(t, &err);
    if (fresh != NULL) {
      s3_credentials_unref(e->creds);
      e->creds = fresh;
      e->retry_at = 0;
      out = s3_credentials_ref(fresh);
    } else if (current != NULL) {
      s3_log(SLUICE_LOG_WARNING,
             "%s; signing with the role's current credentials, which end in %" G_GINT64_FORMAT " s",
             err->message, (current->expires_at - now) / G_USEC_PER_SEC);
      e->retry_at = g_get_monotonic_time() + ROLE_RETRY_AFTER;
      out = s3_credentials_ref(current);
    } else {
      g_propagate_error(error, g_steal_pointer(&err));
    }
  }
  g_mutex_unlock(&e->lock);
  role_entry_unref(e);
  return out;
}
