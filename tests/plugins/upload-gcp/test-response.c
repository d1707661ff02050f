/* upload-gcp: Google's answers (error documents, token answers, object resources) and the retry
 * policy (which statuses and failures are retried, the backoff with its jitter). */
#include "gcs-error.h"
#include "gcs-response.h"
#include "gcs-retry.h"

#include <gio/gio.h>
#include <string.h>

static char *describe(guint status, const char *reason, const char *body)
{
  g_autoptr(GBytes) b = body ? g_bytes_new(body, strlen(body)) : NULL;
  return gcs_response_describe(status, reason, b);
}

static void test_describe(void)
{
  g_autofree char *api =
      describe(403, "Forbidden",
               "{\"error\":{\"code\":403,\"message\":\"up@p.iam.gserviceaccount.com does not have "
               "storage.objects.create access to the Google Cloud Storage object.\",\"errors\":[{"
               "\"message\":\"x\",\"domain\":\"global\",\"reason\":\"forbidden\"}]}}");
  g_autofree char *oauth =
      describe(400, "Bad Request",
               "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}");
  g_autofree char *oauth_bare = describe(400, "Bad Request", "{\"error\":\"invalid_client\"}");
  g_autofree char *html =
      describe(502, "Bad Gateway", "  <html><title>502</title>\r\n<body>secret</body></html>");
  g_autofree char *empty = describe(503, "Service Unavailable", "");
  g_autofree char *none = describe(500, NULL, NULL);
  g_autofree char *json_other = describe(404, "Not Found", "{\"kind\":\"storage#object\"}");
  g_autofree char *ctl = describe(500, "",
                                  "a\tb\x01"
                                  "c");
  g_autofree char *longline = NULL;
  GString *big = g_string_new(NULL);
  for (int i = 0; i < 1000; i++)
    g_string_append_c(big, 'x');
  longline = describe(500, "Internal Server Error", big->str);
  g_string_free(big, TRUE);

  g_assert_cmpstr(api, ==,
                  "HTTP 403 Forbidden: up@p.iam.gserviceaccount.com does not have "
                  "storage.objects.create access to the Google Cloud Storage object.");
  g_assert_cmpstr(oauth, ==, "HTTP 400 Bad Request: invalid_grant: Invalid JWT Signature.");
  g_assert_cmpstr(oauth_bare, ==, "HTTP 400 Bad Request: invalid_client");
  g_assert_cmpstr(html, ==, "HTTP 502 Bad Gateway: <html><title>502</title>");
  g_assert_cmpstr(empty, ==, "HTTP 503 Service Unavailable");
  g_assert_cmpstr(none, ==, "HTTP 500");
  g_assert_cmpstr(json_other, ==, "HTTP 404 Not Found");
  g_assert_cmpstr(ctl, ==, "HTTP 500: abc");
  g_assert_cmpuint(strlen(longline), <, 260);
}

static gboolean token(const char *body, char **tok, gint64 *exp, GError **error)
{
  g_autoptr(GBytes) b = g_bytes_new(body, strlen(body));
  return gcs_response_token(b, tok, exp, error);
}

static void test_token_answers(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tok = NULL;
  gint64 exp = 0;
  g_assert_true(
      token("{\"access_token\":\"ya29.abc\",\"expires_in\":3599,\"token_type\":\"Bearer\"}", &tok,
            &exp, &error));
  g_assert_no_error(error);
  g_assert_cmpstr(tok, ==, "ya29.abc");
  g_assert_cmpint(exp, ==, 3599);
  g_clear_pointer(&tok, g_free);
  g_assert_true(token("{\"access_token\":\"t\"}", &tok, &exp, &error));
  g_assert_cmpint(exp, ==, 3600);
  g_clear_pointer(&tok, g_free);
  g_assert_true(token("{\"access_token\":\"t\",\"expires_in\":\"120\",\"token_type\":\"bearer\"}",
                      &tok, &exp, &error));
  g_assert_cmpint(exp, ==, 120);

  static const char *const bad[] = {
      "{\"expires_in\":3599}",
      "{\"access_token\":\"\",\"expires_in\":3599}",
      "{\"access_token\":\"ya29.SECRETTOKEN\",\"token_type\":\"MAC\"}",
      "{\"access_token\":\"ya29.SECRETTOKEN\",\"expires_in\":0}",
      "{\"access_token\":\"ya29.SECRETTOKEN\",\"expires_in\":-5}",
      "not json SECRETTOKEN",
      "",
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    char *t = NULL;
    g_assert_false(token(bad[i], &t, &exp, &error));
    g_assert_null(t);
    g_assert_error(error, GCS_ERROR, GCS_ERROR_AUTH);
    g_assert_null(strstr(error->message, "SECRET"));
    g_clear_error(&error);
  }
}

static void test_refresh_at(void)
{
  gint64 s = G_USEC_PER_SEC;
  /* Google's hour-long tokens are replaced five minutes early; short ones a quarter early. */
  g_assert_cmpint(gcs_response_token_refresh_at(1000, 3600), ==, 1000 + 3300 * s);
  g_assert_cmpint(gcs_response_token_refresh_at(1000, 3599), ==, 1000 + 3299 * s);
  g_assert_cmpint(gcs_response_token_refresh_at(0, 4), ==, 3 * s);
  g_assert_cmpint(gcs_response_token_refresh_at(0, 600), ==, 450 * s);
  g_assert_cmpint(gcs_response_token_refresh_at(0, 1), ==, 750000);
}

static void test_object_size(void)
{
  static const char good[] = "{\"kind\":\"storage#object\",\"name\":\"a b\",\"bucket\":\"b\","
                             "\"size\":\"67108864\",\"md5Hash\":\"x==\",\"generation\":\"1\"}";
  g_autoptr(GBytes) b = g_bytes_new(good, strlen(good));
  g_autoptr(GBytes) nosize = g_bytes_new_static("{\"name\":\"a\"}", 12);
  g_autoptr(GBytes) numeric = g_bytes_new_static("{\"size\":12}", 11);
  g_autoptr(GBytes) negative = g_bytes_new_static("{\"size\":\"-1\"}", 13);
  g_autoptr(GError) error = NULL;
  gint64 size = 0;
  g_assert_true(gcs_response_object_size(b, &size, &error));
  g_assert_cmpint(size, ==, 64 * 1024 * 1024);
  g_assert_false(gcs_response_object_size(nosize, &size, &error));
  g_assert_error(error, GCS_ERROR, GCS_ERROR_PROTOCOL);
  g_clear_error(&error);
  g_assert_false(gcs_response_object_size(numeric, &size, &error)); /* the API sends a string */
  g_clear_error(&error);
  g_assert_false(gcs_response_object_size(negative, &size, &error));
  g_clear_error(&error);
  g_assert_false(gcs_response_object_size(NULL, &size, &error));
}

static void test_retriable_statuses(void)
{
  static const guint yes[] = {408, 429, 500, 502, 503, 504, 599};
  static const guint no[] = {200, 201, 308, 400, 401, 403, 404, 410, 412, 499, 600};
  for (guint i = 0; i < G_N_ELEMENTS(yes); i++)
    g_assert_true(gcs_status_retriable(yes[i]));
  for (guint i = 0; i < G_N_ELEMENTS(no); i++)
    g_assert_false(gcs_status_retriable(no[i]));
}

static void test_retriable_transport(void)
{
  g_autoptr(GError) refused = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "");
  g_autoptr(GError) closed = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "");
  g_autoptr(GError) timeout = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "");
  g_autoptr(GError) dns =
      g_error_new_literal(G_RESOLVER_ERROR, G_RESOLVER_ERROR_TEMPORARY_FAILURE, "");
  g_autoptr(GError) cert = g_error_new_literal(G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE, "");
  g_autoptr(GError) cancelled = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED, "");
  g_autoptr(GError) proxy = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_PROXY_AUTH_FAILED, "");
  g_assert_true(gcs_transport_retriable(refused));
  g_assert_true(gcs_transport_retriable(closed));
  g_assert_true(gcs_transport_retriable(timeout));
  g_assert_true(gcs_transport_retriable(dns));
  g_assert_false(gcs_transport_retriable(cert));
  g_assert_false(gcs_transport_retriable(cancelled));
  g_assert_false(gcs_transport_retriable(proxy));
  g_assert_false(gcs_transport_retriable(NULL));
}

static void test_backoff(void)
{
  gint64 s = G_USEC_PER_SEC;
  g_assert_cmpint(gcs_backoff_us(0, 0.5), ==, 0);
  /* The delay doubles from 1 s; jitter picks a point in [half, whole). */
  g_assert_cmpint(gcs_backoff_us(1, 0.0), ==, s / 2);
  g_assert_cmpint(gcs_backoff_us(1, 0.999), <, s);
  g_assert_cmpint(gcs_backoff_us(1, 0.999), >, 9 * s / 10);
  g_assert_cmpint(gcs_backoff_us(2, 0.0), ==, s);
  g_assert_cmpint(gcs_backoff_us(3, 0.0), ==, 2 * s);
  g_assert_cmpint(gcs_backoff_us(6, 0.0), ==, 16 * s);
  /* Capped at 32 s however many failures. */
  g_assert_cmpint(gcs_backoff_us(7, 1.0), ==, 32 * s);
  g_assert_cmpint(gcs_backoff_us(60, 1.0), ==, 32 * s);
  g_assert_cmpint(gcs_backoff_us(G_MAXUINT, 0.0), ==, 16 * s);
  /* Out-of-range jitter is clamped. */
  g_assert_cmpint(gcs_backoff_us(1, -3.0), ==, s / 2);
  g_assert_cmpint(gcs_backoff_us(1, 7.0), ==, s);
  /* Jitter spreads retries: different draws, different waits. */
  g_assert_cmpint(gcs_backoff_us(4, 0.1), !=, gcs_backoff_us(4, 0.9));
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/upload-gcp/response/describe", test_describe);
  g_test_add_func("/upload-gcp/response/token-answers", test_token_answers);
  g_test_add_func("/upload-gcp/response/refresh-at", test_refresh_at);
  g_test_add_func("/upload-gcp/response/object-size", test_object_size);
  g_test_add_func("/upload-gcp/retry/statuses", test_retriable_statuses);
  g_test_add_func("/upload-gcp/retry/transport", test_retriable_transport);
  g_test_add_func("/upload-gcp/retry/backoff", test_backoff);
  return g_test_run();
}
