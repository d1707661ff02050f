/* upload-s3: the target structure read into addressing and object headers, the retry policy,
 * and the part size. */
#include "s3-error.h"
#include "s3-retry.h"
#include "s3-target.h"
#include "s3-upload.h"

#include <string.h>

static GstStructure *base(const char *endpoint)
{
  GstStructure *st =
      gst_structure_new("s3", "access_key", G_TYPE_STRING, "AKID", "secret", G_TYPE_STRING,
                        "s3cr3t-Value", "bucket", G_TYPE_STRING, "media", NULL);
  if (endpoint != NULL)
    gst_structure_set(st, "endpoint", G_TYPE_STRING, endpoint, NULL);
  return st;
}

static S3Target *target_ok(GstStructure *st)
{
  g_autoptr(GError) err = NULL;
  S3Target *t = s3_target_new(st, &err);
  g_assert_no_error(err);
  g_assert_nonnull(t);
  gst_structure_free(st);
  return t;
}

static void test_aws_default(void)
{
  g_autoptr(S3Target) t = target_ok(base(NULL));
  g_autofree char *url = s3_target_object_url(t, "rooms/a b+c/é.mp4");
  g_autofree char *path = s3_target_object_path(t, "x.mp4");
  g_assert_cmpstr(t->region, ==, "us-east-1");
  g_assert_false(t->path_style);
  g_assert_cmpstr(t->host_header, ==, "media.s3.us-east-1.amazonaws.com");
  g_assert_cmpstr(url, ==, "https://media.s3.us-east-1.amazonaws.com/rooms/a%20b%2Bc/%C3%A9.mp4");
  g_assert_cmpstr(path, ==, "/x.mp4");
  g_assert_cmpuint(t->max_attempts, ==, S3_DEFAULT_MAX_ATTEMPTS);
  g_assert_cmpfloat(t->min_delay, ==, S3_DEFAULT_MIN_DELAY);
  g_assert_cmpfloat(t->max_delay, ==, S3_DEFAULT_MAX_DELAY);
  g_assert_cmpstr(t->content_disposition, ==, "inline");
}

static void test_aws_region_and_path_style(void)
{
  GstStructure *st = base(NULL);
  g_autoptr(S3Target) t = NULL;
  g_autofree char *url = NULL;
  gst_structure_set(st, "region", G_TYPE_STRING, "eu-west-3", "force_path_style", G_TYPE_BOOLEAN,
                    TRUE, NULL);
  t = target_ok(st);
  url = s3_target_object_url(t, "k.mp4");
  g_assert_cmpstr(url, ==, "https://s3.eu-west-3.amazonaws.com/media/k.mp4");
}

static void test_custom_endpoint_path_style(void)
{
  g_autoptr(S3Target) t = target_ok(base("http://127.0.0.1:9000"));
  g_autofree char *url = s3_target_object_url(t, "dir/file name.mp4");
  g_assert_true(t->path_style);
  g_assert_cmpstr(t->scheme, ==, "http");
  g_assert_cmpstr(t->host, ==, "127.0.0.1");
  g_assert_cmpint(t->port, ==, 9000);
  g_assert_cmpstr(t->host_header, ==, "127.0.0.1:9000");
  g_assert_cmpstr(url, ==, "http://127.0.0.1:9000/media/dir/file%20name.mp4");
}

static void test_custom_endpoint_virtual_host(void)
{
  GstStructure *st = base("https://minio.example.com/");
  g_autoptr(S3Target) t = NULL;
  g_autofree char *url = NULL;
  gst_structure_set(st, "force_path_style", G_TYPE_BOOLEAN, FALSE, NULL);
  t = target_ok(st);
  url = s3_target_object_url(t, "k");
  g_assert_false(t->path_style);
  g_assert_cmpstr(t->host_header, ==, "media.minio.example.com");
  g_assert_cmpstr(url, ==, "https://media.minio.example.com/k");
}

static void test_endpoint_forms(void)
{
  g_autoptr(S3Target) bare = target_ok(base("storage.example.com"));
  g_autoptr(S3Target) prefix = target_ok(base("https://gw.example.com:8443/s3/"));
  g_autoptr(S3Target) v6 = target_ok(base("http://[::1]:9000"));
  g_autofree char *u1 = s3_target_object_url(bare, "k");
  g_autofree char *u2 = s3_target_object_url(prefix, "k");
  g_autofree char *u3 = s3_target_object_url(v6, "k");
  g_assert_cmpstr(u1, ==, "https://storage.example.com/media/k");
  g_assert_cmpstr(u2, ==, "https://gw.example.com:8443/s3/media/k");
  g_assert_cmpstr(u3, ==, "http://[::1]:9000/media/k");
  g_assert_cmpstr(v6->host, ==, "::1");
}

/* Buckets that cannot be a host label stay in the path even when virtual-hosted is asked for. */
static void test_bucket_not_dns(void)
{
  GstStructure *dots = base(NULL);
  GstStructure *upper = base(NULL);
  GstStructure *dots_http = base("http://s3.local:9000");
  g_autoptr(S3Target) a = NULL;
  g_autoptr(S3Target) b = NULL;
  g_autoptr(S3Target) c = NULL;
  gst_structure_set(dots, "bucket", G_TYPE_STRING, "my.bucket", NULL);
  gst_structure_set(upper, "bucket", G_TYPE_STRING, "My_Bucket", NULL);
  gst_structure_set(dots_http, "bucket", G_TYPE_STRING, "my.bucket", "force_path_style",
                    G_TYPE_BOOLEAN, FALSE, NULL);
  a = target_ok(dots);
  b = target_ok(upper);
  c = target_ok(dots_http);
  g_assert_true(a->path_style);
  g_assert_true(b->path_style);
  g_assert_false(c->path_style); /* dots are fine without TLS */
  g_assert_cmpstr(c->host_header, ==, "my.bucket.s3.local:9000");
}

static void test_region_fix(void)
{
  g_autoptr(S3Target) aws = target_ok(base(NULL));
  g_autoptr(S3Target) custom = target_ok(base("http://127.0.0.1:9000"));
  s3_target_set_region(aws, "ap-south-1");
  s3_target_set_region(custom, "ap-south-1");
  g_assert_cmpstr(aws->host_header, ==, "media.s3.ap-south-1.amazonaws.com");
  g_assert_cmpstr(custom->region, ==, "ap-south-1");
  g_assert_cmpstr(custom->host_header, ==, "127.0.0.1:9000");
}

static void test_object_headers_and_options(void)
{
  GstStructure *st = base("http://127.0.0.1:9000");
  GstStructure *proxy =
      gst_structure_new("proxy_config", "url", G_TYPE_STRING, "proxy:3128", "username",
                        G_TYPE_STRING, "u", "password", G_TYPE_STRING, "p", NULL);
  const char *meta[] = {"room", "lobby", "Egress-Id", "EG_1", NULL};
  g_autoptr(S3Target) t = NULL;
  g_auto(GStrv) h = NULL;
  gst_structure_set(st, "session_token", G_TYPE_STRING, "TOKEN", "region", G_TYPE_STRING, "auto",
                    "max_retries", G_TYPE_INT64, (gint64)2, "min_retry_delay", G_TYPE_DOUBLE, 0.5,
                    "max_retry_delay", G_TYPE_DOUBLE, 0.25, "metadata", G_TYPE_STRV, meta,
                    "tagging", G_TYPE_STRING, "a=1&b=2", "content_disposition", G_TYPE_STRING,
                    "attachment", "proxy_config", gst_structure_get_type(), proxy, NULL);
  gst_structure_free(proxy);
  t = target_ok(st);
  h = s3_target_object_headers(t);
  g_assert_cmpstr(t->session_token, ==, "TOKEN");
  g_assert_cmpstr(t->region, ==, "auto");
  g_assert_cmpuint(t->max_attempts, ==, 2);
  g_assert_cmpfloat(t->min_delay, ==, 0.5);
  g_assert_cmpfloat(t->max_delay, ==, 0.5); /* never below the minimum */
  g_assert_cmpstr(t->proxy_url, ==, "http://proxy:3128");
  g_assert_cmpstr(t->proxy_username, ==, "u");
  g_assert_cmpstr(t->proxy_password, ==, "p");
  g_assert_cmpuint(g_strv_length(h), ==, 8);
  g_assert_cmpstr(h[0], ==, "Content-Disposition");
  g_assert_cmpstr(h[1], ==, "attachment");
  g_assert_cmpstr(h[2], ==, "x-amz-tagging");
  g_assert_cmpstr(h[3], ==, "a=1&b=2");
  g_assert_cmpstr(h[4], ==, "x-amz-meta-room");
  g_assert_cmpstr(h[5], ==, "lobby");
  g_assert_cmpstr(h[6], ==, "x-amz-meta-Egress-Id");
  g_assert_cmpstr(h[7], ==, "EG_1");
}

static void expect_config_error(GstStructure *st, const char *fragment)
{
  g_autoptr(GError) err = NULL;
  S3Target *t = s3_target_new(st, &err);
  g_assert_null(t);
  g_assert_error(err, S3_ERROR, S3_ERROR_CONFIG);
  if (strstr(err->message, fragment) == NULL)
    g_error("\"%s\" does not mention \"%s\"", err->message, fragment);
  g_assert_null(strstr(err->message, "s3cr3t-Value"));
  gst_structure_free(st);
}

static void test_config_errors(void)
{
  GstStructure *st;
  const char *bad_meta[] = {"bad name", "v", NULL};
  g_unsetenv("AWS_ACCESS_KEY_ID");
  g_unsetenv("AWS_SECRET_ACCESS_KEY");

  st = base(NULL);
  gst_structure_remove_field(st, "bucket");
  expect_config_error(st, "bucket");

  st = base(NULL);
  gst_structure_remove_fields(st, "access_key", "secret", NULL);
  expect_config_error(st, "credentials");

  st = base(NULL);
  gst_structure_remove_field(st, "access_key");
  expect_config_error(st, "credentials");

  expect_config_error(base("ftp://example.com"), "http or https");
  expect_config_error(base("http://"), "endpoint");

  /* A role still needs the base credentials that assume it. */
  st = base(NULL);
  gst_structure_remove_fields(st, "access_key", "secret", NULL);
  gst_structure_set(st, "assume_role_arn", G_TYPE_STRING, "arn:aws:iam::1:role/r", NULL);
  expect_config_error(st, "assume_role_arn");

  st = base(NULL);
  gst_structure_set(st, "metadata", G_TYPE_STRV, bad_meta, NULL);
  expect_config_error(st, "metadata");

  st = base(NULL);
  gst_structure_set(st, "content_disposition", G_TYPE_STRING, "inline\r\nX-Evil: 1", NULL);
  expect_config_error(st, "one line");

  expect_config_error(gst_structure_new_empty("azure"), "\"s3\"");
}

/* assume_role_arn is accepted: the keys stay the base credentials, STS is AWS's regional
 * endpoint, or the custom endpoint itself (without the bucket in the host name). */
static void test_assume_role(void)
{
  GstStructure *aws = base(NULL);
  GstStructure *custom = base("http://127.0.0.1:9000/gw/");
  GstStructure *v6 = base("https://[::1]:8443");
  GstStructure *no_role = base(NULL);
  g_autoptr(S3Target) a = NULL;
  g_autoptr(S3Target) c = NULL;
  g_autoptr(S3Target) d = NULL;
  g_autoptr(S3Target) n = NULL;

  gst_structure_set(aws, "assume_role_arn", G_TYPE_STRING, "arn:aws:iam::123456789012:role/rec",
                    "assume_role_external_id", G_TYPE_STRING, "ext+id/1=", "region", G_TYPE_STRING,
                    "eu-west-3", NULL);
  a = target_ok(aws);
  g_assert_cmpstr(a->assume_role_arn, ==, "arn:aws:iam::123456789012:role/rec");
  g_assert_cmpstr(a->assume_role_external_id, ==, "ext+id/1=");
  g_assert_cmpstr(a->access_key, ==, "AKID");
  g_assert_cmpstr(a->secret, ==, "s3cr3t-Value");
  g_assert_cmpstr(a->sts_url, ==, "https://sts.eu-west-3.amazonaws.com/");
  g_assert_cmpstr(a->sts_host, ==, "sts.eu-west-3.amazonaws.com");
  g_assert_cmpstr(a->sts_host_header, ==, "sts.eu-west-3.amazonaws.com");
  g_assert_cmpstr(a->sts_path, ==, "/");
  g_assert_cmpstr(a->sts_region, ==, "eu-west-3");
  /* S3 moving the bucket to another region does not move STS. */
  s3_target_set_region(a, "us-west-2");
  g_assert_cmpstr(a->host_header, ==, "media.s3.us-west-2.amazonaws.com");
  g_assert_cmpstr(a->sts_url, ==, "https://sts.eu-west-3.amazonaws.com/");
  g_assert_cmpstr(a->sts_region, ==, "eu-west-3");

  gst_structure_set(custom, "assume_role_arn", G_TYPE_STRING, "arn:aws:iam::1:role/r",
                    "force_path_style", G_TYPE_BOOLEAN, FALSE, NULL);
  c = target_ok(custom);
  g_assert_cmpstr(c->host_header, ==, "media.127.0.0.1:9000");
  g_assert_cmpstr(c->sts_scheme, ==, "http");
  g_assert_cmpstr(c->sts_host, ==, "127.0.0.1");
  g_assert_cmpint(c->sts_port, ==, 9000);
  g_assert_cmpstr(c->sts_host_header, ==, "127.0.0.1:9000");
  g_assert_cmpstr(c->sts_path, ==, "/gw/");
  g_assert_cmpstr(c->sts_url, ==, "http://127.0.0.1:9000/gw/");
  g_assert_cmpstr(c->sts_region, ==, "us-east-1");
  g_assert_null(c->assume_role_external_id);

  gst_structure_set(v6, "assume_role_arn", G_TYPE_STRING, "arn:aws:iam::1:role/r", NULL);
  d = target_ok(v6);
  g_assert_cmpstr(d->sts_host_header, ==, "[::1]:8443");
  g_assert_cmpstr(d->sts_url, ==, "https://[::1]:8443/");

  /* An external id without a role means nothing. */
  gst_structure_set(no_role, "assume_role_external_id", G_TYPE_STRING, "x", NULL);
  n = target_ok(no_role);
  g_assert_null(n->assume_role_arn);
  g_assert_null(n->assume_role_external_id);
}

static void test_credentials_from_environment(void)
{
  GstStructure *st = base(NULL);
  g_autoptr(S3Target) t = NULL;
  gst_structure_remove_fields(st, "access_key", "secret", NULL);
  g_setenv("AWS_ACCESS_KEY_ID", "ENVKEY", TRUE);
  g_setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", TRUE);
  g_setenv("AWS_SESSION_TOKEN", "ENVTOKEN", TRUE);
  t = target_ok(st);
  g_unsetenv("AWS_ACCESS_KEY_ID");
  g_unsetenv("AWS_SECRET_ACCESS_KEY");
  g_unsetenv("AWS_SESSION_TOKEN");
  g_assert_cmpstr(t->access_key, ==, "ENVKEY");
  g_assert_cmpstr(t->secret, ==, "ENVSECRET");
  g_assert_cmpstr(t->session_token, ==, "ENVTOKEN");
}

static void test_retry_policy(void)
{
  g_assert_true(s3_retry_is_retryable(0, NULL));
  g_assert_true(s3_retry_is_retryable(500, "InternalError"));
  g_assert_true(s3_retry_is_retryable(200, "InternalError")); /* Complete's 200 with <Error> */
  g_assert_true(s3_retry_is_retryable(503, "SlowDown"));
  g_assert_true(s3_retry_is_retryable(502, NULL));
  g_assert_true(s3_retry_is_retryable(504, NULL));
  g_assert_true(s3_retry_is_retryable(429, NULL));
  g_assert_true(s3_retry_is_retryable(400, "RequestTimeout"));
  g_assert_true(s3_retry_is_retryable(403, "RequestTimeTooSkewed"));
  g_assert_true(s3_retry_is_retryable(409, "OperationAborted"));
  g_assert_false(s3_retry_is_retryable(403, "SignatureDoesNotMatch"));
  g_assert_false(s3_retry_is_retryable(403, "AccessDenied"));
  g_assert_false(s3_retry_is_retryable(503, "AccessDenied")); /* the code decides */
  g_assert_false(s3_retry_is_retryable(403, "InvalidAccessKeyId"));
  g_assert_false(s3_retry_is_retryable(400, "EntityTooSmall"));
  g_assert_false(s3_retry_is_retryable(400, "InvalidPart"));
  g_assert_false(s3_retry_is_retryable(404, "NoSuchBucket"));
  g_assert_false(s3_retry_is_retryable(404, NULL));
  g_assert_false(s3_retry_is_retryable(400, NULL));
  g_assert_false(s3_retry_is_retryable(501, "NotImplemented"));
}

static void test_backoff(void)
{
  /* Equal jitter in [ceiling/2, ceiling], the ceiling doubling from the minimum to the maximum,
   * never below the minimum. */
  g_assert_cmpfloat_with_epsilon(s3_retry_delay(1, 0.1, 5, 0.0), 0.1, 1e-9);
  g_assert_cmpfloat_with_epsilon(s3_retry_delay(1, 0.1, 5, 0.999), 0.1, 1e-9);
  g_assert_cmpfloat_with_epsilon(s3_retry_delay(2, 0.1, 5, 0.0), 0.1, 1e-9);
  g_assert_cmpfloat_with_epsilon(s3_retry_delay(2, 0.1, 5, 1.0), 0.2, 1e-9);
  g_assert_cmpfloat_with_epsilon(s3_retry_delay(4, 0.1, 5, 0.0), 0.4, 1e-9);
  g_assert_cmpfloat_with_epsilon(s3_retry_delay(4, 0.1, 5, 1.0), 0.8, 1e-9);
  g_assert_cmpfloat_with_epsilon(s3_retry_delay(10, 0.1, 5, 0.0), 2.5, 1e-9);
  g_assert_cmpfloat_with_epsilon(s3_retry_delay(10, 0.1, 5, 1.0), 5.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(s3_retry_delay(1000, 0.1, 5, 0.5), 3.75, 1e-9);
  g_assert_cmpfloat_with_epsilon(s3_retry_delay(3, 1, 0.5, 0.5), 1.0, 1e-9);
  for (guint n = 1; n < 40; n++) {
    double d = s3_retry_delay(n, 0.1, 5, g_test_rand_double_range(0, 1));
    g_assert_cmpfloat(d, >=, 0.1);
    g_assert_cmpfloat(d, <=, 5.0);
  }
}

static void test_part_size(void)
{
  const guint64 mib = 1024 * 1024;
  g_assert_cmpuint(s3_upload_part_size(64 * mib), ==, 8 * mib);
  g_assert_cmpuint(s3_upload_part_size(80000 * mib), ==, 8 * mib); /* exactly 10,000 parts */
  g_assert_cmpuint(s3_upload_part_size(80000 * mib + 1), ==, 9 * mib);
  g_assert_cmpuint(s3_upload_part_size(5 * 1024 * 1024 * mib), ==, 525 * mib); /* 5 TiB */
  g_assert_cmpuint((5 * 1024 * 1024 * mib + 525 * mib - 1) / (525 * mib), <=, S3_MAX_PARTS);
}

/* No gst_init(): it keeps allocations LeakSanitizer reports, and nothing here needs it. */
int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/upload-s3/target/aws-default", test_aws_default);
  g_test_add_func("/upload-s3/target/aws-region-path-style", test_aws_region_and_path_style);
  g_test_add_func("/upload-s3/target/endpoint-path-style", test_custom_endpoint_path_style);
  g_test_add_func("/upload-s3/target/endpoint-virtual-host", test_custom_endpoint_virtual_host);
  g_test_add_func("/upload-s3/target/endpoint-forms", test_endpoint_forms);
  g_test_add_func("/upload-s3/target/bucket-not-dns", test_bucket_not_dns);
  g_test_add_func("/upload-s3/target/region-fix", test_region_fix);
  g_test_add_func("/upload-s3/target/object-headers", test_object_headers_and_options);
  g_test_add_func("/upload-s3/target/config-errors", test_config_errors);
  g_test_add_func("/upload-s3/target/assume-role", test_assume_role);
  g_test_add_func("/upload-s3/target/credentials-from-env", test_credentials_from_environment);
  g_test_add_func("/upload-s3/retry/policy", test_retry_policy);
  g_test_add_func("/upload-s3/retry/backoff", test_backoff);
  g_test_add_func("/upload-s3/parts/size", test_part_size);
  return g_test_run();
}
