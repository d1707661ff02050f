/* upload-azure — signed requests over libsoup with retries. See http.h. */
#include "http.h"

#include <string.h>

#include "errors.h"
#include "retry.h"
#include "sharedkey.h"

#define MAX_ANSWER     (64 * 1024)
#define CONTINUE_ABOVE (1024 * 1024)
#define IO_TIMEOUT_S   120
#define USER_AGENT     "sluice-upload-azure/1.0"

SoupSession *az_http_session_new(void)
{
  return soup_session_new_with_options("timeout", IO_TIMEOUT_S, "idle-timeout", 60, "user-agent",
                                       USER_AGENT, NULL);
}

void az_log(const SluiceHost *host, SluiceLogLevel level, const char *fmt, ...)
{
  g_autofree char *msg = NULL;
  va_list ap;
  if (host == NULL || host->log == NULL)
    return;
  va_start(ap, fmt);
  msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  host->log(host, level, msg);
}

/* Sleeps `ms`, waking early when `cancellable` fires. FALSE when it did. */
static gboolean sleep_ms(guint ms, GCancellable *cancellable)
{
  gint64 until = g_get_monotonic_time() + (gint64)ms * 1000;
  for (;;) {
    gint64 left = until - g_get_monotonic_time();
    if (g_cancellable_is_cancelled(cancellable))
      return FALSE;
    if (left <= 0)
      return TRUE;
    g_usleep((gulong)MIN(left, 50000));
  }
}

/* One attempt's outcome. */
typedef struct {
  guint status;     /* 0 when no answer came (see `error`) */
  GBytes *answer;   /* up to MAX_ANSWER bytes of the body */
  char *error_code; /* x-ms-error-code */
  char *md5;        /* Content-MD5 of the answer */
  GError *error;    /* transport error */
} Attempt;

static void attempt_clear(Attempt *a)
{
  g_clear_pointer(&a->answer, g_bytes_unref);
  g_clear_pointer(&a->error_code, g_free);
  g_clear_pointer(&a->md5, g_free);
  g_clear_error(&a->error);
  a->status = 0;
}

static GBytes *read_answer(GInputStream *in, GCancellable *cancellable)
{
  guchar *buf = g_malloc(MAX_ANSWER);
  gsize got = 0;
  /* An error while reading a refusal's body only loses its details; the status stands. */
  g_input_stream_read_all(in, buf, MAX_ANSWER, &got, cancellable, NULL);
  return g_bytes_new_take(buf, got);
}

/* Sets `body` as the message's request body: the bytes, or the file opened afresh. */
static gboolean set_body(SoupMessage *msg, const char *ctype, const AzBody *body,
                         GCancellable *cancellable, GError **error)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFileInputStream) in = NULL;
  g_autoptr(GFileInfo) info = NULL;

  if (body->bytes != NULL) {
    soup_message_set_request_body_from_bytes(msg, ctype, body->bytes);
    return TRUE;
  }
  file = g_file_new_for_path(body->file);
  in = g_file_read(file, cancellable, error);
  if (in != NULL)
    info = g_file_input_stream_query_info(in, G_FILE_ATTRIBUTE_STANDARD_SIZE, cancellable, error);
  if (info == NULL) {
    g_prefix_error(error, "reading %s: ", body->file);
    return FALSE;
  }
  if ((guint64)g_file_info_get_size(info) < body->size) {
    g_set_error(error, AZ_ERROR, AZ_ERROR_FILE, "%s became shorter while it was uploaded",
                body->file);
    return FALSE;
  }
  soup_message_set_request_body(msg, ctype, G_INPUT_STREAM(in), (gssize)body->size);
  return TRUE;
}

/* libsoup re-sends a message by itself when a kept-alive connection turns out closed, and drops
 * the body stream when it does: give it the body again (a file is opened afresh). */
static void on_restarted(SoupMessage *msg, gpointer user_data)
{
  const AzBody *body = user_data;
  g_autoptr(GError) err = NULL;
  const char *ctype =
      soup_message_headers_get_content_type(soup_message_get_request_headers(msg), NULL);
  if (!set_body(msg, ctype, body, NULL, &err))
    /* The attempt then fails on its Content-Length; the next one reports the file's error. */
    soup_message_set_request_body_from_bytes(msg, ctype, NULL);
}

static void send_once(SoupSession *session, const AzRequest *req, const AzBody *body,
                      GCancellable *cancellable, Attempt *out)
{
  g_autofree char *url = az_request_url(req);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GInputStream) in = NULL;
  SoupMessageHeaders *h;
  const char *ctype = az_request_get_header(req, "Content-Type");

  msg = soup_message_new(req->method, url);
  if (msg == NULL) {
    g_set_error(&out->error, AZ_ERROR, AZ_ERROR_CONFIG, "cannot make a request for %s", url);
    return;
  }
  soup_message_add_flags(msg, SOUP_MESSAGE_NO_REDIRECT);
  h = soup_message_get_request_headers(msg);
  for (guint i = 0; i < req->headers->len; i++) {
    const AzHeader *hd = &g_array_index(req->headers, AzHeader, i);
    /* libsoup writes these two from the body it is given, which carries the same values */
    if (g_ascii_strcasecmp(hd->name, "Content-Length") == 0 ||
        g_ascii_strcasecmp(hd->name, "Content-Type") == 0)
      continue;
    soup_message_headers_replace(h, hd->name, hd->value);
  }
  if (body != NULL) {
    GError *err = NULL;
    if (!set_body(msg, ctype, body, cancellable, &err)) {
      /* not the service's fault: no retry (http.c retries only what came over the wire) */
      if (err->domain != AZ_ERROR) {
        GError *file_err = g_error_new(AZ_ERROR, AZ_ERROR_FILE, "%s", err->message);
        g_error_free(err);
        err = file_err;
      }
      out->error = err;
      return;
    }
    g_signal_connect(msg, "restarted", G_CALLBACK(on_restarted), (gpointer)body);
    if ((body->bytes ? g_bytes_get_size(body->bytes) : body->size) > CONTINUE_ABOVE)
      soup_message_headers_set_expectations(h, SOUP_EXPECTATION_CONTINUE);
  } else if (ctype != NULL) {
    soup_message_headers_replace(h, "Content-Type", ctype);
  }

  in = soup_session_send(session, msg, cancellable, &out->error);
  if (in == NULL)
    return;
  out->status = soup_message_get_status(msg);
  out->error_code = g_strdup(
      soup_message_headers_get_one(soup_message_get_response_headers(msg), "x-ms-error-code"));
  out->md5 =
      g_strdup(soup_message_headers_get_one(soup_message_get_response_headers(msg), "Content-MD5"));
  if (!SOUP_STATUS_IS_SUCCESSFUL(out->status))
    out->answer = read_answer(in, cancellable);
  g_input_stream_close(in, NULL, NULL);
}

static char *describe(const Attempt *a)
{
  gsize len = 0;
  const char *data = a->answer ? g_bytes_get_data(a->answer, &len) : NULL;
  return az_error_describe(a->status, a->error_code, data, len);
}

gboolean az_http_send(SoupSession *session, const AzTarget *target, AzRequest *req,
                      const AzBody *body, const char *what, const SluiceHost *host,
                      GCancellable *cancellable, char **answer_md5, GError **error)
{
  g_autofree char *client_id = g_uuid_string_random();
  Attempt a = {0};

  if (body != NULL) {
    /* The signature covers Content-Length; libsoup sends the body's. They must agree. */
    g_autofree char *len = g_strdup_printf(
        "%" G_GUINT64_FORMAT, body->bytes ? (guint64)g_bytes_get_size(body->bytes) : body->size);
    g_return_val_if_fail(g_strcmp0(az_request_get_header(req, "Content-Length"), len) == 0, FALSE);
  }
  /* One id for every attempt of this request: the service logs it, which ties retries
   * together when someone asks Azure support about a failure. */
  az_request_set_header(req, "x-ms-client-request-id", client_id);

  for (guint attempt = 1;; attempt++) {
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *problem = NULL;
    guint delay;

    attempt_clear(&a);
    az_sharedkey_authorize(req, target->account, target->key, now);
    send_once(session, req, body, cancellable, &a);

    if (a.error == NULL && SOUP_STATUS_IS_SUCCESSFUL(a.status)) {
      if (answer_md5 != NULL)
        *answer_md5 = g_steal_pointer(&a.md5);
      attempt_clear(&a);
      return TRUE;
    }
    if (a.error != NULL && g_error_matches(a.error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      g_propagate_error(error, g_steal_pointer(&a.error));
      attempt_clear(&a);
      return FALSE;
    }
    if (a.error != NULL && a.error->domain == AZ_ERROR) {
      g_propagate_prefixed_error(error, g_steal_pointer(&a.error), "%s: ", what);
      attempt_clear(&a);
      return FALSE;
    }

    problem = a.error ? g_strdup(a.error->message) : describe(&a);
    if (attempt >= AZ_RETRY_MAX_ATTEMPTS ||
        !(a.error ? az_retry_transport_error(a.error) : az_retry_status(a.status))) {
      if (a.error != NULL) {
        g_set_error(error, AZ_ERROR, AZ_ERROR_NETWORK, "%s: %s (after %u attempt%s)", what, problem,
                    attempt, attempt == 1 ? "" : "s");
      } else if (a.status == 403) {
        g_set_error(error, AZ_ERROR, AZ_ERROR_AUTH,
                    "%s: %s (the service refused the request's authorization; check "
                    "account_name, account_key and this machine's clock)",
                    what, problem);
      } else if (attempt > 1) {
        g_set_error(error, AZ_ERROR, AZ_ERROR_HTTP, "%s: %s (after %u attempts)", what, problem,
                    attempt);
      } else {
        g_set_error(error, AZ_ERROR, AZ_ERROR_HTTP, "%s: %s", what, problem);
      }
      attempt_clear(&a);
      return FALSE;
    }

    delay = az_retry_delay_ms(attempt, AZ_RETRY_BASE_MS, AZ_RETRY_MAX_MS, g_random_double());
    az_log(host, SLUICE_LOG_WARNING, "azure: %s: %s; retry %u of %u in %.1f s", what, problem,
           attempt, AZ_RETRY_MAX_ATTEMPTS - 1, delay / 1000.0);
    if (!sleep_ms(delay, cancellable)) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s: cancelled", what);
      attempt_clear(&a);
      return FALSE;
    }
  }
}
