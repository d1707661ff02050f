/* upload-s3: the STS AssumeRole request (form body, signed headers) and the credentials'
 * refresh margin.
 *
 * Expected signatures were computed once with botocore's SigV4Auth (the AWS SDK for Python's
 * signer, service "sts") over the same credentials, date, headers and body; AWS's own example
 * credentials (AKIAIOSFODNN7EXAMPLE) and date (20130524T000000Z) as in test-sigv4.c. The expected
 * form body is what Python's urllib.parse.urlencode writes for the same parameters.
 */
#include "s3-sts.h"

#include <string.h>

#define AKID    "AKIAIOSFODNN7EXAMPLE"
#define SECRET  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DATE    "20130524T000000Z"
#define ROLE    "arn:aws:iam::123456789012:role/demo"
#define SESSION "sluice-1369353600000000000"

/* The value of header `name` in a name/value list; NULL when absent. */
static const char *header(char **h, const char *name)
{
  for (guint i = 0; h[i] != NULL; i += 2)
    if (strcmp(h[i], name) == 0)
      return h[i + 1];
  return NULL;
}

static guint count_headers(char **h)
{
  return g_strv_length(h) / 2;
}

static void test_body(void)
{
  g_autofree char *plain = s3_sts_assume_role_body(ROLE, SESSION, NULL, 900);
  g_autofree char *empty = s3_sts_assume_role_body(ROLE, SESSION, "", 900);
  g_autofree char *ext = s3_sts_assume_role_body(ROLE, SESSION, "ext+id/1=:@ x", 900);
  g_autoptr(GHashTable) params = NULL;

  g_assert_cmpstr(plain, ==,
                  "Action=AssumeRole&Version=2011-06-15"
                  "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdemo"
                  "&RoleSessionName=" SESSION "&DurationSeconds=900");
  g_assert_cmpstr(empty, ==, plain); /* an empty external id is none */
  g_assert_cmpstr(ext, ==,
                  "Action=AssumeRole&Version=2011-06-15"
                  "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdemo"
                  "&RoleSessionName=" SESSION "&DurationSeconds=900"
                  "&ExternalId=ext%2Bid%2F1%3D%3A%40+x");
  /* A form decoder gets back exactly what was given: '+' in a value is %2B, a space is '+'. */
  params = g_uri_parse_params(ext, -1, "&", G_URI_PARAMS_WWW_FORM, NULL);
  g_assert_nonnull(params);
  g_assert_cmpstr(g_hash_table_lookup(params, "ExternalId"), ==, "ext+id/1=:@ x");
  g_assert_cmpstr(g_hash_table_lookup(params, "RoleArn"), ==, ROLE);
  g_assert_cmpstr(g_hash_table_lookup(params, "DurationSeconds"), ==, "900");
}

static void test_signed_headers(void)
{
  g_autoptr(S3Credentials) base = s3_credentials_new(AKID, SECRET, NULL, G_MAXINT64, G_MAXINT64);
  g_autofree char *body = s3_sts_assume_role_body(ROLE, SESSION, "ext+id/1=:@ x", 900);
  g_auto(GStrv) h =
      s3_sts_request_headers(base, "us-east-1", "sts.us-east-1.amazonaws.com", "/", DATE, body);
  g_assert_cmpuint(count_headers(h), ==, 4);
  g_assert_cmpstr(header(h, "host"), ==, "sts.us-east-1.amazonaws.com");
  g_assert_cmpstr(header(h, "x-amz-date"), ==, DATE);
  g_assert_cmpstr(header(h, "content-type"), ==,
                  "application/x-www-form-urlencoded; charset=utf-8");
  g_assert_null(header(h, "x-amz-security-token"));
  g_assert_null(header(h, "x-amz-content-sha256")); /* STS: the hash is in the signature only */
  g_assert_cmpstr(header(h, "authorization"), ==,
                  "AWS4-HMAC-SHA256 Credential=" AKID "/20130524/us-east-1/sts/aws4_request, "
                  "SignedHeaders=content-type;host;x-amz-date, "
                  "Signature=b1c3a5f084395f963878daa1e3dabb356ea2cc9e49e00f431bb2db2063277e58");
}

/* Base credentials that are themselves temporary: the token is sent and signed. */
static void test_signed_headers_with_token(void)
{
  g_autoptr(S3Credentials) base =
      s3_credentials_new(AKID, SECRET, "FQoGZXIvYXdzEXAMPLETOKEN/+==", G_MAXINT64, G_MAXINT64);
  g_autofree char *body = s3_sts_assume_role_body(ROLE, SESSION, "ext+id/1=:@ x", 900);
  g_auto(GStrv) h =
      s3_sts_request_headers(base, "us-east-1", "sts.us-east-1.amazonaws.com", "/", DATE, body);
  g_assert_cmpuint(count_headers(h), ==, 5);
  g_assert_cmpstr(header(h, "x-amz-security-token"), ==, "FQoGZXIvYXdzEXAMPLETOKEN/+==");
  g_assert_cmpstr(header(h, "authorization"), ==,
                  "AWS4-HMAC-SHA256 Credential=" AKID "/20130524/us-east-1/sts/aws4_request, "
                  "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
                  "Signature=b5363c7ea3eb6862ac8ad0a5d3cccbdad9c331ce605ff0303b4c63fe8c593531");
}

/* A custom endpoint with a path prefix and a port, another region. */
static void test_signed_headers_custom_endpoint(void)
{
  g_autoptr(S3Credentials) base = s3_credentials_new(AKID, SECRET, "", G_MAXINT64, G_MAXINT64);
  g_autofree char *body = s3_sts_assume_role_body("arn:aws:iam::1:role/r", "s", NULL, 900);
  g_auto(GStrv) h = s3_sts_request_headers(base, "eu-west-1", "127.0.0.1:9000", "/gw/", DATE, body);
  g_assert_null(base->session_token); /* "" is no token */
  g_assert_cmpstr(header(h, "host"), ==, "127.0.0.1:9000");
  g_assert_cmpstr(header(h, "authorization"), ==,
                  "AWS4-HMAC-SHA256 Credential=" AKID "/20130524/eu-west-1/sts/aws4_request, "
                  "SignedHeaders=content-type;host;x-amz-date, "
                  "Signature=6cac49dd66d0b4a22411355af9a0b549fd3048a1e9c9cbeb61e56fd87319f7c6");
}

static void test_session_name(void)
{
  g_autofree char *name = s3_sts_session_name(G_GINT64_CONSTANT(1795284245123456789));
  g_assert_cmpstr(name, ==, "sluice-1795284245123456789");
  g_assert_true(g_regex_match_simple("^[\\w+=,.@-]{2,64}$", name, 0, 0));
}

static void test_refresh_margin(void)
{
  g_assert_cmpint(s3_sts_refresh_margin(900), ==, 180);  /* a fifth */
  g_assert_cmpint(s3_sts_refresh_margin(3600), ==, 720); /* a fifth */
  g_assert_cmpint(s3_sts_refresh_margin(200), ==, 60);   /* at least a minute */
  g_assert_cmpint(s3_sts_refresh_margin(100), ==, 50);   /* at most half */
  g_assert_cmpint(s3_sts_refresh_margin(2), ==, 1);
  g_assert_cmpint(s3_sts_refresh_margin(0), ==, 0);
  g_assert_cmpint(s3_sts_refresh_margin(-5), ==, 0);
}

static void test_credentials_refcount(void)
{
  S3Credentials *c = s3_credentials_new("K", "S", "T", 10, 20);
  S3Credentials *again = s3_credentials_ref(c);
  g_assert_true(again == c);
  g_assert_cmpstr(c->session_token, ==, "T");
  g_assert_cmpint(c->refresh_at, ==, 10);
  g_assert_cmpint(c->expires_at, ==, 20);
  s3_credentials_unref(c);
  g_assert_cmpstr(again->access_key, ==, "K"); /* still held */
  s3_credentials_unref(again);
  s3_credentials_unref(NULL);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/upload-s3/sts/body", test_body);
  g_test_add_func("/upload-s3/sts/signed-headers", test_signed_headers);
  g_test_add_func("/upload-s3/sts/signed-headers-token", test_signed_headers_with_token);
  g_test_add_func("/upload-s3/sts/signed-headers-endpoint", test_signed_headers_custom_endpoint);
  g_test_add_func("/upload-s3/sts/session-name", test_session_name);
  g_test_add_func("/upload-s3/sts/refresh-margin", test_refresh_margin);
  g_test_add_func("/upload-s3/sts/credentials-refcount", test_credentials_refcount);
  return g_test_run();
}
