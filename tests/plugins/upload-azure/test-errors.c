/* Unit tests for upload-azure's error reading and retry policy (plugins/upload-azure/errors.c,
 * retry.c). */
#include "errors.h"
#include "retry.h"

#include <gio/gio.h>
#include <string.h>

/* What Azurite 3.37 answers to a wrong account key. */
static const char azurite_403[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Error>\n"
    "  <Code>AuthorizationFailure</Code>\n"
    "  <Message>Server failed to authenticate the request. Make sure the value of the "
    "Authorization header is formed correctly including the signature.\n"
    "RequestId:0d0c8b8e-4a3b-4f0e-9f4f-1c2d3e4f5a6b\nTime:2026-11-21T14:23:15.071Z</Message>\n"
    "</Error>";

/* The service's shape: a byte order mark, one line, an extra detail element, an entity. */
static const char service_403[] =
    "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>"
    "<Message>Server failed to authenticate the request. Make sure the value of Authorization "
    "header is formed correctly including the signature.\nRequestId:x\nTime:y</Message>"
    "<AuthenticationErrorDetail>The MAC signature found in the HTTP request &apos;abc&apos; is "
    "not the same as any computed signature.</AuthenticationErrorDetail></Error>";

static void test_parse(void)
{
  g_autofree char *code = NULL;
  g_autofree char *message = NULL;

  g_assert_true(az_error_parse(azurite_403, strlen(azurite_403), &code, &message));
  g_assert_cmpstr(code, ==, "AuthorizationFailure");
  g_assert_true(g_str_has_prefix(message, "Server failed to authenticate the request."));
  g_assert_true(g_str_has_suffix(message, "Time:2026-11-21T14:23:15.071Z"));
  g_clear_pointer(&code, g_free);
  g_clear_pointer(&message, g_free);

  g_assert_true(az_error_parse(service_403, strlen(service_403), &code, &message));
  g_assert_cmpstr(code, ==, "AuthenticationFailed");
  g_assert_nonnull(message);
  g_clear_pointer(&code, g_free);
  g_clear_pointer(&message, g_free);

  /* only the code wanted; a body that is not NUL-terminated */
  {
    const char body[] = "<Error><Code>ServerBusy</Code></Error>TRAILING GARBAGE";
    g_assert_true(
        az_error_parse(body, strlen("<Error><Code>ServerBusy</Code></Error>"), &code, NULL));
    g_assert_cmpstr(code, ==, "ServerBusy");
    g_clear_pointer(&code, g_free);
  }
}

static void test_parse_rejects(void)
{
  const char *bodies[] = {
      "",
      "not xml at all",
      "<BlockList><Latest>AAAA</Latest></BlockList>", /* XML, but no error */
      "<Error><Code>Unclosed",
      "<Error><Other>x</Other></Error>", /* an Error without Code or Message */
      "<Wrapper><Error><Code>Deep</Code></Error></Wrapper>",
  };
  for (guint i = 0; i < G_N_ELEMENTS(bodies); i++) {
    char *code = (char *)"sentinel";
    char *message = (char *)"sentinel";
    g_assert_false(az_error_parse(bodies[i], strlen(bodies[i]), &code, &message));
    g_assert_null(code);
    g_assert_null(message);
  }
  g_assert_false(az_error_parse(NULL, 0, NULL, NULL));
}

static void test_describe(void)
{
  g_autofree char *a =
      az_error_describe(403, "AuthorizationFailure", azurite_403, strlen(azurite_403));
  g_autofree char *b = az_error_describe(503, "ServerBusy", NULL, 0);
  g_autofree char *c = az_error_describe(500, NULL, "", 0);
  g_autofree char *d = az_error_describe(404, "ContainerNotFound", "<html>oops</html>", 17);
  g_autofree char *e = az_error_describe(599, NULL, NULL, 0);

  g_assert_cmpstr(a, ==,
                  "HTTP 403 AuthorizationFailure: Server failed to authenticate the request. "
                  "Make sure the value of the Authorization header is formed correctly including "
                  "the signature.");
  g_assert_cmpstr(b, ==, "HTTP 503 ServerBusy");
  g_assert_cmpstr(c, ==, "HTTP 500 Internal Server Error");
  g_assert_cmpstr(d, ==, "HTTP 404 ContainerNotFound");
  g_assert_cmpstr(e, ==, "HTTP 599");
}

static void test_retry_statuses(void)
{
  const guint yes[] = {408, 500, 502, 503, 504};
  const guint no[] = {200, 201, 301, 400, 401, 403, 404, 409, 411, 412, 413, 429, 501, 505};
  for (guint i = 0; i < G_N_ELEMENTS(yes); i++)
    g_assert_true(az_retry_status(yes[i]));
  for (guint i = 0; i < G_N_ELEMENTS(no); i++)
    g_assert_false(az_retry_status(no[i]));
}

static void test_retry_transport(void)
{
  g_autoptr(GError) refused = g_error_new(G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "refused");
  g_autoptr(GError) reset = g_error_new(G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "reset");
  g_autoptr(GError) timeout = g_error_new(G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out");
  g_autoptr(GError) cancelled = g_error_new(G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
  g_autoptr(GError) tls = g_error_new(G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE, "bad cert");
  g_assert_true(az_retry_transport_error(refused));
  g_assert_true(az_retry_transport_error(reset));
  g_assert_true(az_retry_transport_error(timeout));
  g_assert_false(az_retry_transport_error(cancelled));
  g_assert_false(az_retry_transport_error(tls));
  g_assert_false(az_retry_transport_error(NULL));
}

static void test_backoff(void)
{
  /* nominal 400, 800, 1600, 3200, then capped at 5000; the wait is in [nominal/2, nominal] */
  const guint nominal[] = {400, 800, 1600, 3200, 5000, 5000, 5000};
  for (guint r = 1; r <= G_N_ELEMENTS(nominal); r++) {
    guint lo = az_retry_delay_ms(r, 400, 5000, 0.0);
    guint mid = az_retry_delay_ms(r, 400, 5000, 0.5);
    guint hi = az_retry_delay_ms(r, 400, 5000, 0.999999);
    g_assert_cmpuint(lo, ==, nominal[r - 1] / 2);
    g_assert_cmpuint(mid, ==, nominal[r - 1] * 3 / 4);
    g_assert_cmpuint(hi, <=, nominal[r - 1]);
    g_assert_cmpuint(hi, >=, nominal[r - 1] - 1);
  }
  /* out-of-range fractions are clamped; a huge retry number does not overflow */
  g_assert_cmpuint(az_retry_delay_ms(2, 400, 5000, -3), ==, 400);
  g_assert_cmpuint(az_retry_delay_ms(2, 400, 5000, 7), <=, 800);
  g_assert_cmpuint(az_retry_delay_ms(1000, 400, 5000, 0), ==, 2500);
  /* with these constants three retries take more than a second at the least, so the fourth
   * attempt of a request carries a different x-ms-date than the first (the e2e test checks
   * that the date changes) */
  g_assert_cmpuint(az_retry_delay_ms(1, AZ_RETRY_BASE_MS, AZ_RETRY_MAX_MS, 0) +
                       az_retry_delay_ms(2, AZ_RETRY_BASE_MS, AZ_RETRY_MAX_MS, 0) +
                       az_retry_delay_ms(3, AZ_RETRY_BASE_MS, AZ_RETRY_MAX_MS, 0),
                   >, 1000);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/upload-azure/errors/parse", test_parse);
  g_test_add_func("/upload-azure/errors/parse-rejects", test_parse_rejects);
  g_test_add_func("/upload-azure/errors/describe", test_describe);
  g_test_add_func("/upload-azure/retry/statuses", test_retry_statuses);
  g_test_add_func("/upload-azure/retry/transport", test_retry_transport);
  g_test_add_func("/upload-azure/retry/backoff", test_backoff);
  return g_test_run();
}
