/* upload-alioss: reading the target (oss-target.c) — signing version, addressing, locations,
 * object keys — and the upload policy (part sizes, backoff, failures before any answer). */
#include "oss-error.h"
#include "oss-target.h"
#include "oss-upload.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static GstStructure *target(const char *endpoint, const char *region)
{
  GstStructure *s =
      gst_structure_new("alioss", "access_key", G_TYPE_STRING, "AKID", "secret", G_TYPE_STRING,
                        "s3cr3t-value-not-for-logs", "endpoint", G_TYPE_STRING, endpoint, "bucket",
                        G_TYPE_STRING, "media", NULL);
  if (region != NULL)
    gst_structure_set(s, "region", G_TYPE_STRING, region, NULL);
  return s;
}

static OssTarget *read_target(const char *endpoint, const char *region)
{
  GstStructure *s = target(endpoint, region);
  g_autoptr(GError) error = NULL;
  OssTarget *t = oss_target_from_structure(s, &error);
  g_assert_no_error(error);
  gst_structure_free(s);
  return t;
}

static void test_endpoint_region(void)
{
  static const struct {
    const char *host, *region;
  } cases[] = {
      {"oss-cn-hangzhou.aliyuncs.com", "cn-hangzhou"},
      {"OSS-CN-Shanghai.aliyuncs.com", "cn-shanghai"},
      {"oss-cn-hangzhou-internal.aliyuncs.com", "cn-hangzhou"},
      {"oss-ap-southeast-1.aliyuncs.com", "ap-southeast-1"},
      {"oss-accelerate.aliyuncs.com", NULL},
      {"oss-accelerate-overseas.aliyuncs.com", NULL},
      {"media.oss-cn-hangzhou.aliyuncs.com", NULL},
      {"s3.oss-cn-hangzhou.aliyuncs.com", NULL},
      {"cdn.example.com", NULL},
      {"localhost", NULL},
      {"127.0.0.1", NULL},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *r = oss_endpoint_region(cases[i].host);
    g_assert_cmpstr(r, ==, cases[i].region);
  }
}

static void test_signing_version(void)
{
  static const struct {
    const char *endpoint, *region;
    OssSignVersion sign;
    const char *want_region;
  } cases[] = {
      {"oss-cn-hangzhou.aliyuncs.com", NULL, OSS_SIGN_V4, "cn-hangzhou"},
      {"https://oss-cn-beijing.aliyuncs.com", NULL, OSS_SIGN_V4, "cn-beijing"},
      {"oss-cn-hangzhou.aliyuncs.com", "cn-shanghai", OSS_SIGN_V4, "cn-shanghai"},
      {"oss-cn-hangzhou.aliyuncs.com", "oss-cn-shanghai", OSS_SIGN_V4, "cn-shanghai"},
      {"cdn.example.com", "cn-hangzhou", OSS_SIGN_V4, "cn-hangzhou"},
      {"cdn.example.com", NULL, OSS_SIGN_V1, NULL},
      {"cdn.example.com", "", OSS_SIGN_V1, NULL},
      {"oss-accelerate.aliyuncs.com", NULL, OSS_SIGN_V1, NULL},
      {"http://127.0.0.1:9000", NULL, OSS_SIGN_V1, NULL},
      {"http://127.0.0.1:9000", "cn-hangzhou", OSS_SIGN_V4, "cn-hangzhou"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(OssTarget) t = read_target(cases[i].endpoint, cases[i].region);
    g_assert_cmpint(t->sign, ==, cases[i].sign);
    g_assert_cmpstr(t->region, ==, cases[i].want_region);
  }
}

static void test_addressing_and_location(void)
{
  static const struct {
    const char *endpoint;
    OssAddressing addressing;
    const char *key, *location;
  } cases[] = {
      {"oss-cn-hangzhou.aliyuncs.com", OSS_ADDRESSING_VIRTUAL_HOSTED, "rooms/r1/rec.mp4",
       "https://media.oss-cn-hangzhou.aliyuncs.com/rooms/r1/rec.mp4"},
      {"http://oss-cn-hangzhou.aliyuncs.com", OSS_ADDRESSING_VIRTUAL_HOSTED, "a b+c.mp4",
       "http://media.oss-cn-hangzhou.aliyuncs.com/a%20b%2Bc.mp4"},
      {"https://oss-cn-hangzhou.aliyuncs.com:8443/", OSS_ADDRESSING_VIRTUAL_HOSTED,
       "\xe4\xbd\xa0.ts", "https://media.oss-cn-hangzhou.aliyuncs.com:8443/%E4%BD%A0.ts"},
      {"http://127.0.0.1:9000", OSS_ADDRESSING_PATH_STYLE, "dir/x.mp4",
       "http://127.0.0.1:9000/media/dir/x.mp4"},
      {"http://LOCALHOST:9000", OSS_ADDRESSING_PATH_STYLE, "x", "http://localhost:9000/media/x"},
      {"http://[::1]:9000", OSS_ADDRESSING_PATH_STYLE, "x", "http://[::1]:9000/media/x"},
      {"10.0.0.5", OSS_ADDRESSING_PATH_STYLE, "x", "https://10.0.0.5/media/x"},
      /* "." and ".." segments stay as they are: the signature covers them */
      {"oss-cn-hangzhou.aliyuncs.com", OSS_ADDRESSING_VIRTUAL_HOSTED, "a/../b/./c",
       "https://media.oss-cn-hangzhou.aliyuncs.com/a/../b/./c"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(OssTarget) t = read_target(cases[i].endpoint, NULL);
    g_autofree char *loc = oss_target_location(t, cases[i].key);
    g_assert_cmpint(t->addressing, ==, cases[i].addressing);
    g_assert_cmpstr(loc, ==, cases[i].location);
  }
}

static void test_uri_query(void)
{
  g_autoptr(OssTarget) t = read_target("http://127.0.0.1:9000", NULL);
  g_autoptr(GUri) u = oss_target_uri(t, "a b", "partNumber=1&uploadId=X%2BY");
  g_autofree char *s = g_uri_to_string(u);
  g_assert_cmpstr(s, ==, "http://127.0.0.1:9000/media/a%20b?partNumber=1&uploadId=X%2BY");
  g_assert_cmpstr(g_uri_get_path(u), ==, "/media/a%20b");
}

static void test_bad_targets(void)
{
  static const struct {
    const char *endpoint, *bucket, *region, *drop, *words;
  } cases[] = {
      {"oss-cn-hangzhou.aliyuncs.com", "media", NULL, "access_key", "access_key is missing"},
      {"oss-cn-hangzhou.aliyuncs.com", "media", NULL, "secret", "secret is missing"},
      {"oss-cn-hangzhou.aliyuncs.com", "media", NULL, "endpoint", "endpoint is missing"},
      {"oss-cn-hangzhou.aliyuncs.com", "media", NULL, "bucket", "bucket is missing"},
      {"oss-cn-hangzhou.aliyuncs.com", "Media_Bucket", NULL, NULL, "not a valid OSS bucket"},
      {"oss-cn-hangzhou.aliyuncs.com", "ab", NULL, NULL, "not a valid OSS bucket"},
      {"oss-cn-hangzhou.aliyuncs.com/path", "media", NULL, NULL, "must be a host"},
      {"ftp://oss-cn-hangzhou.aliyuncs.com", "media", NULL, NULL, "must be a host"},
      {"https://", "media", NULL, NULL, "not a host name"},
      {"oss-cn-hangzhou.aliyuncs.com", "media", "cn hangzhou", NULL, "not an OSS region"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    GstStructure *s = target(cases[i].endpoint, cases[i].region);
    g_autoptr(GError) error = NULL;
    OssTarget *t;
    gst_structure_set(s, "bucket", G_TYPE_STRING, cases[i].bucket, NULL);
    if (cases[i].drop != NULL)
      gst_structure_remove_field(s, cases[i].drop);
    t = oss_target_from_structure(s, &error);
    gst_structure_free(s);
    g_assert_null(t);
    g_assert_error(error, OSS_ERROR, OSS_ERROR_CONFIG);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, cases[i].words));
    g_assert_null(strstr(error->message, "s3cr3t"));
  }
  {
    GstStructure *s = gst_structure_new_empty("s3");
    g_autoptr(GError) error = NULL;
    g_assert_null(oss_target_from_structure(s, &error));
    g_assert_error(error, OSS_ERROR, OSS_ERROR_CONFIG);
    gst_structure_free(s);
  }
}

static void test_object_keys(void)
{
  g_autofree char *a = oss_object_key("/rooms/r1.mp4", NULL);
  g_autofree char *b = oss_object_key("a b+\xe4\xbd\xa0", NULL);
  g_autofree char *long_key = g_strnfill(1024, 'k');
  g_autofree char *max_key = g_strnfill(1023, 'k');
  g_autofree char *c = oss_object_key(max_key, NULL);
  const char *bad[] = {"", "///", "bad\xff", long_key};
  g_assert_cmpstr(a, ==, "rooms/r1.mp4");
  g_assert_cmpstr(b, ==, "a b+\xe4\xbd\xa0");
  g_assert_cmpstr(c, ==, max_key);
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) error = NULL;
    g_assert_null(oss_object_key(bad[i], &error));
    g_assert_error(error, OSS_ERROR, OSS_ERROR_KEY);
  }
}

static void test_bucket_names(void)
{
  g_assert_true(oss_bucket_name_valid("media"));
  g_assert_true(oss_bucket_name_valid("my-bucket-01"));
  g_assert_false(oss_bucket_name_valid("-media"));
  g_assert_false(oss_bucket_name_valid("media-"));
  g_assert_false(oss_bucket_name_valid("me"));
  g_assert_false(oss_bucket_name_valid("media.example"));
  g_assert_false(oss_bucket_name_valid(NULL));
}

static void test_part_size(void)
{
  const guint64 mib = 1024 * 1024;
  g_assert_cmpuint(oss_part_size_for(64 * mib, 8 * mib), ==, 8 * mib);
  g_assert_cmpuint(oss_part_size_for(10 * mib, 1000), ==, OSS_MIN_PART_SIZE);
  /* 100 GiB in 8 MiB parts would be 12800 parts: raised to whole MiB so 10000 are enough */
  g_assert_cmpuint(oss_part_size_for(100 * 1024 * mib, 8 * mib), ==, 11 * mib);
  g_assert_cmpuint((100 * 1024 * mib + 11 * mib - 1) / (11 * mib), <=, OSS_MAX_PARTS);
}

static void test_backoff(void)
{
  OssRetryPolicy p = {5, 200, 5000, 60};
  /* retry 0: 100..200 ms; doubles; capped at 5 s (2.5..5 s) */
  g_assert_cmpuint(oss_backoff_ms(&p, 0, 0), ==, 100);
  g_assert_cmpuint(oss_backoff_ms(&p, 0, 100), ==, 200);
  g_assert_cmpuint(oss_backoff_ms(&p, 0, 101), ==, 100);
  g_assert_cmpuint(oss_backoff_ms(&p, 1, 0), ==, 200);
  g_assert_cmpuint(oss_backoff_ms(&p, 3, 0), ==, 800);
  g_assert_cmpuint(oss_backoff_ms(&p, 10, 0), ==, 2500);
  g_assert_cmpuint(oss_backoff_ms(&p, 40, G_MAXUINT32), <=, 5000);
  for (guint32 r = 0; r < 1000; r += 7) {
    guint ms = oss_backoff_ms(&p, 2, r);
    g_assert_cmpuint(ms, >=, 400);
    g_assert_cmpuint(ms, <=, 800);
  }
}

/* With nothing listening: a transport error after the retries, naming the operation and the
 * endpoint, never the secret. */
static void test_connection_refused(void)
{
  g_autoptr(GSocket) sock =
      g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new(lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *endpoint = NULL;
  g_autofree char *path = NULL;
  g_autoptr(OssTarget) t = NULL;
  g_autoptr(GError) error = NULL;
  OssUploadOptions o = {
      .part_size = OSS_DEFAULT_PART_SIZE, .parallel_parts = 2, .retry = {1, 1, 2, 5}};
  OssUploadResult r;
  int fd;

  /* A port that was free a moment ago and is closed again: connections are refused. */
  g_assert_true(g_socket_bind(sock, any, TRUE, NULL));
  bound = g_socket_get_local_address(sock, NULL);
  endpoint = g_strdup_printf("http://127.0.0.1:%u",
                             g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound)));
  g_socket_close(sock, NULL);
  t = read_target(endpoint, "cn-hangzhou");

  fd = g_file_open_tmp("oss-test-XXXXXX", &path, NULL);
  g_assert_cmpint(fd, >=, 0);
  g_assert_cmpint(write(fd, "hello", 5), ==, 5);
  close(fd);
  g_assert_false(oss_upload_file(t, &o, path, "k", "text/plain", &r, &error));
  g_assert_error(error, OSS_ERROR, OSS_ERROR_TRANSPORT);
  g_test_message("%s", error->message);
  g_assert_nonnull(strstr(error->message, "PutObject of \"k\" failed after 2 attempts"));
  g_assert_nonnull(strstr(error->message, "127.0.0.1"));
  g_assert_null(strstr(error->message, "s3cr3t"));
  g_unlink(path);
}

static void test_missing_file(void)
{
  g_autoptr(OssTarget) t = read_target("http://127.0.0.1:1", "cn-hangzhou");
  g_autoptr(GError) error = NULL;
  OssUploadOptions o = {.part_size = OSS_DEFAULT_PART_SIZE, .parallel_parts = 1};
  OssUploadResult r;
  g_assert_false(oss_upload_file(t, &o, "/nonexistent/file.mp4", "k", NULL, &r, &error));
  g_assert_error(error, OSS_ERROR, OSS_ERROR_FILE);
  g_assert_nonnull(strstr(error->message, "/nonexistent/file.mp4"));
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/alioss/target/endpoint-region", test_endpoint_region);
  g_test_add_func("/alioss/target/signing-version", test_signing_version);
  g_test_add_func("/alioss/target/addressing-and-location", test_addressing_and_location);
  g_test_add_func("/alioss/target/uri-query", test_uri_query);
  g_test_add_func("/alioss/target/bad-targets", test_bad_targets);
  g_test_add_func("/alioss/target/object-keys", test_object_keys);
  g_test_add_func("/alioss/target/bucket-names", test_bucket_names);
  g_test_add_func("/alioss/upload/part-size", test_part_size);
  g_test_add_func("/alioss/upload/backoff", test_backoff);
  g_test_add_func("/alioss/upload/connection-refused", test_connection_refused);
  g_test_add_func("/alioss/upload/missing-file", test_missing_file);
  return g_test_run();
}
