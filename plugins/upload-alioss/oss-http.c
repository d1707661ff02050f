/* upload-alioss — signed OSS calls with retries. See oss-http.h. */
#include "oss-http.h"

#include "oss-error.h"
#include "oss-xml.h"

#include <libsoup/soup.h>
#include <openssl/evp.h>
#include <string.h>

struct _OssClient {
  const OssTarget *target;
  OssRetryPolicy policy;
  SoupSession *session;
  OssLogFunc log;
  gpointer log_data;
  gint64 clock_offset_us; /* OSS's clock minus ours, learnt from RequestTimeTooSkewed */
};

OssClient *oss_client_new(const OssTarget *target, const OssRetryPolicy *policy, OssLogFunc log,
                          gpointer log_data)
{
  static const OssRetryPolicy defaults = OSS_RETRY_POLICY_DEFAULT;
  OssClient *c = g_new0(OssClient, 1);
  c->target = target;
  c->policy = policy ? *policy : defaults;
  c->log = log;
  c->log_data = log_data;
  c->session = soup_session_new_with_options("timeout", c->policy.timeout_s, "idle-timeout", 60,
                                             "user-agent", "sluice-upload-alioss", NULL);
  return c;
}

void oss_client_free(OssClient *c)
{
  if (c == NULL)
    return;
  g_clear_object(&c->session);
  g_free(c);
}

void oss_response_clear(OssResponse *r)
{
  g_clear_pointer(&r->body, g_bytes_unref);
  g_clear_pointer(&r->etag, g_free);
  r->status = 0;
  r->length = -1;
}

guint oss_backoff_ms(const OssRetryPolicy *p, guint retry, guint32 random)
{
  guint64 d = p->base_delay_ms;
  for (guint i = 0; i < retry && d < p->max_delay_ms; i++)
    d *= 2;
  if (d > p->max_delay_ms)
    d = p->max_delay_ms;
  return (guint)(d / 2 + random % (d - d / 2 + 1));
}

static void client_log(OssClient *c, SluiceLogLevel level, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static void client_log(OssClient *c, SluiceLogLevel level, const char *fmt, ...)
{
  g_autofree char *msg = NULL;
  va_list ap;
  if (c->log == NULL)
    return;
  va_start(ap, fmt);
  msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  c->log(level, msg, c->log_data);
}

/* Belt and braces: OSS never echoes the secret, but a message built from an answer must not
 * carry it whatever a server sends. */
static char *scrub(char *msg, const char *secret)
{
  g_auto(GStrv) parts = NULL;
  if (secret == NULL || strlen(secret) < 4 || strstr(msg, secret) == NULL)
    return msg;
  parts = g_strsplit(msg, secret, -1);
  g_free(msg);
  return g_strjoinv("{secret}", parts);
}

/* Sets `error` from `msg` (taken), scrubbed of the secret. */
static void set_error_take(GError **error, OssErrorCode code, char *msg, const char *secret)
{
  msg = scrub(msg, secret);
  g_set_error_literal(error, OSS_ERROR, code, msg);
  g_free(msg);
}

static char *content_md5(GBytes *body)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  gsize len = 0;
  const void *data = g_bytes_get_data(body, &len);
  EVP_Digest(data ? data : "", len, md, &n, EVP_md5(), NULL);
  return g_base64_encode(md, n);
}

static char *encode_query(const OssCall *call)
{
  GString *q = g_string_new(NULL);
  for (guint i = 0; i < call->n_query; i++) {
    g_autofree char *k = oss_uri_encode(call->query[i].name, FALSE);
    if (i > 0)
      g_string_append_c(q, '&');
    g_string_append(q, k);
    if (call->query[i].value != NULL && *call->query[i].value != '\0') {
      g_autofree char *v = oss_uri_encode(call->query[i].value, FALSE);
      g_string_append_c(q, '=');
      g_string_append(q, v);
    }
  }
  return g_string_free(q, FALSE);
}

/* One signed message for this attempt. The headers signing covers are set from the same list
 * that is signed, so what is sent is what is signed. */
static SoupMessage *build_message(OssClient *c, const OssCall *call, const char *md5,
                                  const char *query)
{
  const OssTarget *t = c->target;
  g_autoptr(GUri) uri = oss_target_uri(t, call->key, query);
  SoupMessage *msg = soup_message_new_from_uri(call->method, uri);
  SoupMessageHeaders *h = soup_message_get_request_headers(msg);
  g_autoptr(GDateTime) now =
      g_date_time_new_from_unix_utc((g_get_real_time() + c->clock_offset_us) / G_USEC_PER_SEC);
  g_autofree char *date = NULL;
  g_autofree char *auth = NULL;
  OssPair headers[5];
  guint n = 0;
  OssSignInput in = {.method = call->method,
                     .bucket = t->bucket,
                     .key = call->key,
                     .query = call->query,
                     .n_query = call->n_query};

  /* Body first: setting it replaces Content-Type and Content-Length. */
  if (call->body != NULL)
    soup_message_set_request_body_from_bytes(msg, NULL, call->body);
  if (call->content_type != NULL)
    headers[n++] = (OssPair){"Content-Type", call->content_type};
  if (md5 != NULL)
    headers[n++] = (OssPair){"Content-MD5", md5};
  if (t->sign == OSS_SIGN_V4) {
    date = oss_format_date_v4(now);
    headers[n++] = (OssPair){"x-oss-date", date};
    headers[n++] = (OssPair){"x-oss-content-sha256", "UNSIGNED-PAYLOAD"};
  } else {
    date = oss_format_date_v1(now);
    headers[n++] = (OssPair){"Date", date};
    headers[n++] = (OssPair){"x-oss-date", date};
  }
  in.headers = headers;
  in.n_headers = n;
  for (guint i = 0; i < n; i++)
    soup_message_headers_replace(h, headers[i].name, headers[i].value);
  auth = t->sign == OSS_SIGN_V4 ? oss_v4_authorization(t->access_key, t->secret, t->region, &in)
                                : oss_v1_authorization(t->access_key, t->secret, &in);
  soup_message_headers_replace(h, "Authorization", auth);
  /* Large bodies wait for 100 Continue, so a refused request (bad signature, no bucket) does
   * not cost the whole part first. */
  if (call->body != NULL && g_bytes_get_size(call->body) >= 64 * 1024)
    soup_message_headers_set_expectations(h, SOUP_EXPECTATION_CONTINUE);
  return msg;
}

static gboolean transport_error_retryable(const GError *e)
{
  /* A certificate that does not verify will not verify on the next try either. */
  return e->domain != G_TLS_ERROR && !g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static char *what(const OssCall *call)
{
  return g_strdup_printf("OSS %s of \"%s\"%s%s", call->op, call->key ? call->key : "",
                         call->detail ? " " : "", call->detail ? call->detail : "");
}

gboolean oss_client_call(OssClient *c, const OssCall *call, OssResponse *resp, char **oss_code,
                         GError **error)
{
  g_autofree char *md5 = call->body != NULL ? content_md5(call->body) : NULL;
  g_autofree char *query = encode_query(call);
  g_autofree char *op = what(call);
  g_autofree char *where = oss_target_describe(c->target);
  gboolean skew_fixed = FALSE;

  memset(resp, 0, sizeof *resp);
  resp->length = -1;
  if (oss_code != NULL)
    *oss_code = NULL;

  for (guint attempt = 0;; attempt++) {
    g_autoptr(SoupMessage) msg = build_message(c, call, md5, query);
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) body = soup_session_send_and_read(c->session, msg, NULL, &err);
    OssErrorInfo info = {0};
    g_autofree char *reason = NULL;
    guint status;
    gboolean retry;

    if (body == NULL) {
      if (attempt < c->policy.max_retries && transport_error_retryable(err)) {
        guint ms = oss_backoff_ms(&c->policy, attempt, g_random_int());
        client_log(c, SLUICE_LOG_WARNING, "%s: %s; retry %u of %u in %.1f s", op, err->message,
                   attempt + 1, c->policy.max_retries, ms / 1000.0);
        g_usleep((gulong)ms * 1000);
        continue;
      }
      {
        g_autofree char *tries =
            attempt > 0 ? g_strdup_printf(" after %u attempts", attempt + 1) : g_strdup("");
        set_error_take(error, OSS_ERROR_TRANSPORT,
                       g_strdup_printf("%s failed%s: %s (%s)", op, tries, err->message, where),
                       c->target->secret);
      }
      return FALSE;
    }

    status = soup_message_get_status(msg);
    if (status >= 200 && status < 300) {
      SoupMessageHeaders *rh = soup_message_get_response_headers(msg);
      const char *etag = soup_message_headers_get_one(rh, "ETag");
      resp->status = status;
      resp->body = g_steal_pointer(&body);
      resp->etag = g_strdup(etag);
      resp->length = soup_message_headers_get_content_length(rh);
      if (soup_message_headers_get_encoding(rh) != SOUP_ENCODING_CONTENT_LENGTH)
        resp->length = -1;
      return TRUE;
    }

    {
      gsize len = 0;
      const char *data = g_bytes_get_data(body, &len);
      oss_xml_parse_error(data, (gssize)len, &info);
    }

    /* OSS refuses a request whose date is more than 15 minutes off its own clock and says what
     * its clock reads: sign again with that. */
    if (status == 403 && g_strcmp0(info.code, "RequestTimeTooSkewed") == 0 && !skew_fixed &&
        info.server_time != NULL) {
      g_autoptr(GDateTime) server = g_date_time_new_from_iso8601(info.server_time, NULL);
      if (server != NULL) {
        c->clock_offset_us = g_date_time_to_unix(server) * G_USEC_PER_SEC - g_get_real_time();
        skew_fixed = TRUE;
        client_log(c, SLUICE_LOG_WARNING,
                   "%s: the local clock is %" G_GINT64_FORMAT
                   " s %s OSS's; signing again with OSS's time",
                   op, ABS(c->clock_offset_us) / G_USEC_PER_SEC,
                   c->clock_offset_us > 0 ? "behind" : "ahead of");
        oss_error_info_clear(&info);
        continue;
      }
    }

    retry = status >= 500 || status == 429;
    reason = info.code != NULL ? g_strdup_printf("HTTP %u %s: %s", status, info.code,
                                                 info.message ? info.message : "(no message)")
                               : g_strdup_printf("HTTP %u %s", status,
                                                 soup_message_get_reason_phrase(msg)
                                                     ? soup_message_get_reason_phrase(msg)
                                                     : "");
    if (retry && attempt < c->policy.max_retries) {
      guint ms = oss_backoff_ms(&c->policy, attempt, g_random_int());
      client_log(c, SLUICE_LOG_WARNING, "%s: %s; retry %u of %u in %.1f s", op, reason, attempt + 1,
                 c->policy.max_retries, ms / 1000.0);
      oss_error_info_clear(&info);
      g_usleep((gulong)ms * 1000);
      continue;
    }

    {
      GString *m = g_string_new(NULL);
      g_string_append_printf(m, "%s failed", op);
      if (attempt > 0)
        g_string_append_printf(m, " after %u attempts", attempt + 1);
      g_string_append_printf(m, ": %s (%s", reason, where);
      if (info.ec != NULL)
        g_string_append_printf(m, ", EC %s", info.ec);
      if (info.request_id != NULL)
        g_string_append_printf(m, ", request id %s", info.request_id);
      g_string_append_c(m, ')');
      set_error_take(error, OSS_ERROR_HTTP, g_string_free(m, FALSE), c->target->secret);
    }
    if (oss_code != NULL)
      *oss_code = g_steal_pointer(&info.code);
    oss_error_info_clear(&info);
    return FALSE;
  }
}
