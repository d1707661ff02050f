/* upload-s3 — signed requests with retries over libsoup. See s3-client.h. */
#include "s3-client.h"

#include "s3-error.h"
#include "s3-retry.h"
#include "s3-role.h"
#include "s3-xml.h"
#include "sigv4.h"
#include "upload-s3.h"

#include <libsoup/soup.h>
#include <string.h>

/* Bodies from this size on wait for "100 Continue", so S3 can refuse a request (a bad signature,
 * a missing bucket) before megabytes are sent for nothing. */
#define S3_EXPECT_CONTINUE_FROM (1024 * 1024)

/* Inactivity limit on a connection, in seconds. */
#define S3_IO_TIMEOUT 60

struct _S3Client {
  S3Target *target;
  SoupSession *session;
  S3Credentials *own; /* the target's keys, when it assumes no role */
};

/* The proxy asks for credentials (407): answer once with the configured ones. libsoup emits this
 * on our message for a plain proxied request and for the CONNECT of an https tunnel alike. */
static gboolean on_authenticate(SoupMessage *msg, SoupAuth *auth, gboolean retrying,
                                gpointer user_data)
{
  const S3Target *t = user_data;
  if (!soup_auth_is_for_proxy(auth) || retrying || t->proxy_username == NULL)
    return FALSE;
  soup_auth_authenticate(auth, t->proxy_username, t->proxy_password ? t->proxy_password : "");
  return TRUE;
}

/* libsoup re-sends a message by itself in a few cases (a proxy's 407 answered by
 * on_authenticate, a kept-alive connection found closed) and drops its body stream when it does
 * (soup_message_restarted): without this the retry would go out with Content-Length: 0 under a
 * signature made for the whole body. The body and its type ride on the message. */
static void on_restarted(SoupMessage *msg, gpointer user_data)
{
  soup_message_set_request_body_from_bytes(msg, g_object_get_data(G_OBJECT(msg), "s3-body-type"),
                                           g_object_get_data(G_OBJECT(msg), "s3-body"));
}

SoupSession *s3_client_session_new(const S3Target *target)
{
  SoupSession *session = soup_session_new_with_options("timeout", S3_IO_TIMEOUT, "idle-timeout", 30,
                                                       "user-agent", "sluice-upload-s3", NULL);
  if (target->proxy_url != NULL) {
    g_autoptr(GProxyResolver) resolver = g_simple_proxy_resolver_new(target->proxy_url, NULL);
    soup_session_set_proxy_resolver(session, resolver);
  }
  return session;
}

void s3_client_prepare_message(SoupMessage *msg, const S3Target *target, const char *content_type,
                               GBytes *body)
{
  soup_message_add_flags(msg, SOUP_MESSAGE_NO_REDIRECT);
  if (body != NULL) {
    soup_message_set_request_body_from_bytes(msg, content_type, body);
    g_object_set_data_full(G_OBJECT(msg), "s3-body", g_bytes_ref(body),
                           (GDestroyNotify)g_bytes_unref);
    g_object_set_data_full(G_OBJECT(msg), "s3-body-type", g_strdup(content_type), g_free);
    g_signal_connect(msg, "restarted", G_CALLBACK(on_restarted), NULL);
    if (g_bytes_get_size(body) >= S3_EXPECT_CONTINUE_FROM)
      soup_message_headers_set_expectations(soup_message_get_request_headers(msg),
                                            SOUP_EXPECTATION_CONTINUE);
  }
  g_signal_connect(msg, "authenticate", G_CALLBACK(on_authenticate), (gpointer)target);
}

S3Client *s3_client_new(S3Target *target)
{
  S3Client *c = g_new0(S3Client, 1);
  c->target = target;
  c->session = s3_client_session_new(target);
  if (target->assume_role_arn == NULL)
    c->own = s3_credentials_new(target->access_key, target->secret, target->session_token,
                                G_MAXINT64, G_MAXINT64);
  return c;
}

void s3_client_free(S3Client *c)
{
  if (c == NULL)
    return;
  g_object_unref(c->session);
  s3_credentials_unref(c->own);
  g_free(c);
}

void s3_response_clear(S3Response *r)
{
  g_clear_pointer(&r->body, g_bytes_unref);
  g_clear_pointer(&r->etag, g_free);
  g_clear_pointer(&r->error_code, g_free);
  r->status = 0;
  r->attempts = 0;
}

/* The outcome of one attempt. */
typedef struct {
  guint status;
  GBytes *body;
  char *etag;
  char *date;          /* the Date header, for clock correction */
  char *bucket_region; /* x-amz-bucket-region */
  GError *transport;   /* no answer */
} Attempt;

static void attempt_clear(Attempt *a)
{
  g_clear_pointer(&a->body, g_bytes_unref);
  g_clear_pointer(&a->etag, g_free);
  g_clear_pointer(&a->date, g_free);
  g_clear_pointer(&a->bucket_region, g_free);
  g_clear_error(&a->transport);
  a->status = 0;
}

static void send_once(S3Client *c, const S3Request *req, const S3Credentials *creds,
                      const char *path, const char *query, const char *payload_hash, Attempt *out)
{
  S3Target *t = c->target;
  gint64 now = g_get_real_time() / G_USEC_PER_SEC + g_atomic_int_get(&t->clock_skew);
  g_autofree char *amz_date = s3_sigv4_amz_date(now);
  g_autoptr(GPtrArray) h = g_ptr_array_new();
  g_autofree char *auth = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  SoupMessageHeaders *mh;

  g_ptr_array_add(h, "host");
  g_ptr_array_add(h, t->host_header);
  g_ptr_array_add(h, "x-amz-date");
  g_ptr_array_add(h, amz_date);
  g_ptr_array_add(h, "x-amz-content-sha256");
  g_ptr_array_add(h, (char *)payload_hash);
  if (creds->session_token != NULL) {
    g_ptr_array_add(h, "x-amz-security-token");
    g_ptr_array_add(h, creds->session_token);
  }
  if (req->body != NULL && req->content_type != NULL) {
    g_ptr_array_add(h, "content-type");
    g_ptr_array_add(h, (char *)req->content_type);
  }
  for (guint i = 0; req->headers != NULL && req->headers[i] != NULL; i += 2) {
    g_ptr_array_add(h, (char *)req->headers[i]);
    g_ptr_array_add(h, (char *)req->headers[i + 1]);
  }
  g_ptr_array_add(h, NULL);
  auth =
      s3_sigv4_authorization(creds->access_key, creds->secret, t->region, "s3", amz_date,
                             req->method, path, query, (const char *const *)h->pdata, payload_hash);

  /* Built from parts, not parsed: parsing would resolve "." and ".." segments of the key, and
   * the path must go out exactly as it was signed. */
  uri = g_uri_build(SOUP_HTTP_URI_FLAGS, t->scheme, NULL, t->host, t->port, path,
                    *query ? query : NULL, NULL);
  msg = soup_message_new_from_uri(req->method, uri);
  s3_client_prepare_message(msg, t, req->content_type, req->body);
  mh = soup_message_get_request_headers(msg);
  for (guint i = 0; i + 1 < h->len && h->pdata[i] != NULL; i += 2)
    soup_message_headers_replace(mh, h->pdata[i], h->pdata[i + 1]);
  soup_message_headers_replace(mh, "Authorization", auth);

  out->body = soup_session_send_and_read(c->session, msg, NULL, &out->transport);
  if (out->transport == NULL) {
    SoupMessageHeaders *rh = soup_message_get_response_headers(msg);
    out->status = soup_message_get_status(msg);
    out->etag = g_strdup(soup_message_headers_get_one(rh, "ETag"));
    out->date = g_strdup(soup_message_headers_get_one(rh, "Date"));
    out->bucket_region = g_strdup(soup_message_headers_get_one(rh, "x-amz-bucket-region"));
  }
}

/* After RequestTimeTooSkewed: how far the local clock is off, from the answer's Date header (or
 * the ServerTime S3 puts in the error). */
static void correct_clock(S3Target *t, const Attempt *a, const S3XmlError *xe)
{
  g_autoptr(GDateTime) server = NULL;
  gint64 skew;
  if (a->date != NULL)
    server = soup_date_time_new_from_http_string(a->date);
  if (server == NULL && xe->server_time != NULL)
    server = g_date_time_new_from_iso8601(xe->server_time, NULL);
  if (server == NULL)
    return;
  skew = g_date_time_to_unix(server) - g_get_real_time() / G_USEC_PER_SEC;
  g_atomic_int_set(&t->clock_skew, (gint)CLAMP(skew, -G_MAXINT / 2, G_MAXINT / 2));
  s3_log(SLUICE_LOG_WARNING,
         "the local clock is %+" G_GINT64_FORMAT " s off S3's; signing with S3's time", -skew);
}

/* What the next attempt signs with: the target's own keys, or the role's current credentials;
 * `stale` (may be NULL) are ones S3 just called expired. */
static S3Credentials *credentials(S3Client *c, S3Credentials *stale, GError **error)
{
  if (c->own != NULL)
    return s3_credentials_ref(c->own);
  return s3_role_credentials(c->target, stale, error);
}

static gboolean is_expired_token(const char *code)
{
  return code != NULL &&
         (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "TokenRefreshRequired") == 0);
}

gboolean s3_client_send(S3Client *c, const S3Request *req, S3Response *resp, GError **error)
{
  S3Target *t = c->target;
  guint max = req->max_attempts ? req->max_attempts : t->max_attempts;
  g_autofree char *path = s3_target_object_path(t, req->key);
  g_autofree char *query = s3_sigv4_canonical_query(req->query);
  g_autofree char *describe = s3_target_describe(t, req->key);
  g_autofree char *op = req->what ? g_strdup_printf("%s %s (%s)", req->method, describe, req->what)
                                  : g_strdup_printf("%s %s", req->method, describe);
  g_autofree char *payload_hash =
      req->body ? s3_sha256_hex(g_bytes_get_data(req->body, NULL), g_bytes_get_size(req->body))
                : g_strdup(S3_SIGV4_EMPTY_SHA256);
  gboolean region_fixed = FALSE;
  gboolean renewed = FALSE;
  g_autoptr(S3Credentials) stale = NULL;
  Attempt a = {0};
  S3Response local = {0};

  if (resp == NULL)
    resp = &local;
  s3_response_clear(resp);
  for (guint n = 1;; n++) {
    g_auto(S3XmlError) xe = {0};
    g_autofree char *problem = NULL;
    g_autoptr(S3Credentials) creds = NULL;
    g_autoptr(GError) creds_error = NULL;
    gboolean retry;
    double delay;

    attempt_clear(&a);
    creds = credentials(c, stale, &creds_error);
    if (creds == NULL) { /* STS refused, or stayed out of reach through its own retries */
      g_set_error(error, creds_error->domain, creds_error->code, "%s: %s", op,
                  creds_error->message);
      s3_response_clear(&local);
      return FALSE;
    }
    send_once(c, req, creds, path, query, payload_hash, &a);
    resp->attempts++;

    if (a.transport != NULL) {
      problem = g_strdup(a.transport->message);
      retry = !g_error_matches(a.transport, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    } else {
      gsize len = 0;
      const char *data = a.body ? g_bytes_get_data(a.body, &len) : NULL;
      gboolean is_error = s3_xml_parse_error(data, len, &xe);
      if (SOUP_STATUS_IS_SUCCESSFUL(a.status) && !req->body_may_hold_error)
        break;
      if (SOUP_STATUS_IS_SUCCESSFUL(a.status) && !is_error) {
        /* S3 answers <CompleteMultipartUploadResult>, moto <...Response>: any whole document
         * that is not an <Error> will do. One cut short means S3 had not finished: ask again. */
        g_autoptr(S3XmlDoc) doc = s3_xml_parse(data, len, NULL);
        if (doc != NULL)
          break;
        problem = g_strdup_printf("%u with an incomplete answer", a.status);
        retry = TRUE;
      } else {
        const char *region = a.bucket_region ? a.bucket_region : xe.region;
        if (req->may_fix_region && !region_fixed && (a.status == 301 || a.status == 400) &&
            region != NULL && *region && strcmp(region, t->region) != 0 &&
            (xe.code == NULL || strcmp(xe.code, "PermanentRedirect") == 0 ||
             strcmp(xe.code, "AuthorizationHeaderMalformed") == 0)) {
          s3_log(SLUICE_LOG_WARNING,
                 "bucket %s is in region %s, not %s; set region: %s to skip this", t->bucket,
                 region, t->region, region);
          s3_target_set_region(t, region);
          region_fixed = TRUE;
          n--; /* not the request's fault: this does not use up an attempt */
          continue;
        }
        if (is_error && t->assume_role_arn != NULL && !renewed && is_expired_token(xe.code)) {
          /* The role's credentials ran out before the cache replaced them (a clock that is off,
           * a session cut short): new ones, and this attempt does not count. */
          s3_log(SLUICE_LOG_WARNING, "%s: %u %s: %s; assuming role %s again", op, a.status, xe.code,
                 xe.message ? xe.message : "", t->assume_role_arn);
          g_clear_pointer(&stale, s3_credentials_unref);
          stale = s3_credentials_ref(creds);
          renewed = TRUE;
          n--;
          continue;
        }
        if (is_error && xe.code != NULL && strcmp(xe.code, "RequestTimeTooSkewed") == 0)
          correct_clock(t, &a, &xe);
        if (is_error)
          problem = xe.message && *xe.message
                        ? g_strdup_printf("%u %s: %s", a.status, xe.code, xe.message)
                        : g_strdup_printf("%u %s", a.status, xe.code);
        else
          problem = g_strdup_printf("%u %s", a.status, soup_status_get_phrase(a.status));
        retry = s3_retry_is_retryable(a.status, xe.code);
      }
    }

    if (!retry || n >= max) {
      resp->status = a.status;
      resp->body = g_steal_pointer(&a.body);
      resp->error_code = g_strdup(xe.code);
      if (n > 1)
        g_set_error(error, S3_ERROR, a.transport ? S3_ERROR_TRANSPORT : S3_ERROR_HTTP,
                    "%s: %s (after %u attempts)", op, problem, n);
      else
        g_set_error(error, S3_ERROR, a.transport ? S3_ERROR_TRANSPORT : S3_ERROR_HTTP, "%s: %s", op,
                    problem);
      attempt_clear(&a);
      s3_response_clear(&local);
      return FALSE;
    }
    delay = s3_retry_delay(n, t->min_delay, t->max_delay, g_random_double());
    s3_log(SLUICE_LOG_WARNING, "%s: %s; attempt %u of %u in %.2f s", op, problem, n + 1, max,
           delay);
    g_usleep((gulong)(delay * G_USEC_PER_SEC));
  }

  resp->status = a.status;
  resp->body = g_steal_pointer(&a.body);
  resp->etag = g_steal_pointer(&a.etag);
  attempt_clear(&a);
  s3_response_clear(&local);
  return TRUE;
}
