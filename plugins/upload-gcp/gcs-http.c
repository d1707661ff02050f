/* upload-gcp: HTTP exchanges and the retry loop. See gcs-http.h. */
#include "gcs-http.h"

#include "gcs-error.h"
#include "gcs-log.h"
#include "gcs-response.h"
#include "gcs-retry.h"
#include "gcs-token.h"

/* Seconds without progress on a socket before a request fails (and is retried). */
#define GCS_IO_TIMEOUT_S 60

SoupSession *gcs_http_session_new(const GcsTarget *t)
{
  SoupSession *s = soup_session_new_with_options(
      "timeout", GCS_IO_TIMEOUT_S, "idle-timeout", GCS_IO_TIMEOUT_S, "user-agent",
      "sluice-upload-gcp/" SLUICE_UPLOAD_GCP_VERSION, NULL);
  if (t->proxy_url != NULL) {
    g_autoptr(GProxyResolver) resolver = g_simple_proxy_resolver_new(t->proxy_url, NULL);
    soup_session_set_proxy_resolver(s, resolver);
  }
  if (t->proxy_username != NULL) {
    g_object_set_data_full(G_OBJECT(s), "gcs-proxy-username", g_strdup(t->proxy_username), g_free);
    g_object_set_data_full(G_OBJECT(s), "gcs-proxy-password", g_strdup(t->proxy_password), g_free);
  }
  return s;
}

/* What an exchange watches for while libsoup handles the message. */
typedef struct {
  GCancellable *cancel;
  const char *proxy_username; /* NULL: no proxy credentials */
  const char *proxy_password;
  gboolean restarted;  /* libsoup was about to re-send on its own */
  gboolean challenged; /* the latest answer was a 407: its re-send is expected */
} Watch;

/* libsoup re-sends an idempotent request (PUT) by itself when a kept-alive connection turns out
 * closed before the answer began, and in 3.2 the re-sent request carries an empty body under the
 * original Content-Range. For a resumable chunk the server may also have stored part of what it
 * received. So such a restart is stopped here and reported as the connection failure it is; the
 * caller then asks the server what it has (a status query) and goes on from there. The re-send
 * that answers a proxy's 407 with credentials is let through. */
static void on_restarted(SoupMessage *msg, gpointer data)
{
  Watch *w = data;
  if (w->challenged) {
    w->challenged = FALSE;
    return;
  }
  w->restarted = TRUE;
  g_cancellable_cancel(w->cancel);
}

static void on_got_headers(SoupMessage *msg, gpointer data)
{
  Watch *w = data;
  w->challenged = soup_message_get_status(msg) == SOUP_STATUS_PROXY_UNAUTHORIZED;
}

/* A proxy asks for credentials: proxy_config's, once. When the proxy refuses them (`retrying`)
 * nothing is offered and the request ends with the proxy's 407. Origin servers' challenges are
 * not answered here: GCS uses bearer tokens, which gcs_http_authorize() sends up front. */
static gboolean on_authenticate(SoupMessage *msg, SoupAuth *auth, gboolean retrying, gpointer data)
{
  Watch *w = data;
  if (!soup_auth_is_for_proxy(auth) || w->proxy_username == NULL || retrying)
    return FALSE;
  soup_auth_authenticate(auth, w->proxy_username, w->proxy_password);
  return TRUE;
}

GBytes *gcs_http_exchange(SoupSession *session, SoupMessage *msg, GError **error)
{
  g_autoptr(GCancellable) cancel = g_cancellable_new();
  g_autoptr(GError) err = NULL;
  Watch w = {
      .cancel = cancel,
      .proxy_username = g_object_get_data(G_OBJECT(session), "gcs-proxy-username"),
      .proxy_password = g_object_get_data(G_OBJECT(session), "gcs-proxy-password"),
  };
  gulong restarted = g_signal_connect(msg, "restarted", G_CALLBACK(on_restarted), &w);
  gulong headers = g_signal_connect(msg, "got-headers", G_CALLBACK(on_got_headers), &w);
  gulong auth = g_signal_connect(msg, "authenticate", G_CALLBACK(on_authenticate), &w);
  GBytes *body = soup_session_send_and_read(session, msg, cancel, &err);
  g_signal_handler_disconnect(msg, restarted);
  g_signal_handler_disconnect(msg, headers);
  g_signal_handler_disconnect(msg, auth);
  if (body != NULL)
    return body;
  if (w.restarted)
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                "the connection closed before the server answered");
  else
    g_propagate_error(error, g_steal_pointer(&err));
  return NULL;
}

gboolean gcs_http_authorize(SoupSession *session, const GcsServiceAccount *account,
                            SoupMessage *msg, char **token_used, GError **error)
{
  g_autofree char *token = NULL;
  g_autofree char *value = NULL;
  *token_used = NULL;
  if (account == NULL)
    return TRUE;
  token = gcs_token_get(session, account, error);
  if (token == NULL)
    return FALSE;
  value = g_strconcat("Bearer ", token, NULL);
  soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", value);
  *token_used = g_steal_pointer(&token);
  return TRUE;
}

char *gcs_http_describe(SoupMessage *msg, GBytes *body)
{
  return gcs_response_describe(soup_message_get_status(msg), soup_message_get_reason_phrase(msg),
                               body);
}

void gcs_http_backoff(const char *what, guint failures, const char *reason)
{
  gint64 wait = gcs_backoff_us(failures, g_random_double());
  gcs_log_warning("gcp: %s: %s; retry %u/%u in %.1f s", what, reason, failures,
                  GCS_RETRY_MAX_ATTEMPTS - 1, (double)wait / G_USEC_PER_SEC);
  g_usleep((gulong)wait);
}

SoupMessage *gcs_http_send(SoupSession *session, const GcsServiceAccount *account, const char *what,
                           GcsBuildFunc build, gpointer data, GBytes **body, GError **error)
{
  guint failures = 0;
  gboolean reauthorized = FALSE;
  *body = NULL;
  for (;;) {
    g_autoptr(SoupMessage) msg = build(data, error);
    g_autofree char *token = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) answer = NULL;
    g_autofree char *reason = NULL;
    guint status;

    if (msg == NULL)
      return NULL;
    if (!gcs_http_authorize(session, account, msg, &token, error))
      return NULL;
    answer = gcs_http_exchange(session, msg, &err);
    if (answer == NULL) {
      if (!gcs_transport_retriable(err) || failures + 1 >= GCS_RETRY_MAX_ATTEMPTS) {
        g_set_error(error, GCS_ERROR, GCS_ERROR_TRANSPORT, "%s failed: %s%s", what, err->message,
                    failures > 0 ? " (gave up after retries)" : "");
        return NULL;
      }
      gcs_http_backoff(what, ++failures, err->message);
      continue;
    }
    status = soup_message_get_status(msg);
    if (status == SOUP_STATUS_UNAUTHORIZED && token != NULL && !reauthorized) {
      /* The token was revoked or expired early: fetch a new one and try again at once. */
      gcs_log_info("gcp: %s: the access token was refused; fetching a new one", what);
      gcs_token_invalidate(account, token);
      reauthorized = TRUE;
      continue;
    }
    if (gcs_status_retriable(status) && failures + 1 < GCS_RETRY_MAX_ATTEMPTS) {
      reason = gcs_http_describe(msg, answer);
      gcs_http_backoff(what, ++failures, reason);
      continue;
    }
    *body = g_steal_pointer(&answer);
    return g_steal_pointer(&msg);
  }
}
