/* upload-gcp: URLs — object-name encoding, endpoints from config and emulator variables, the
 * API paths and the location reported for an upload. */
#include "gcs-url.h"

static void check_encode(const char *in, gboolean keep_slash, const char *want)
{
  g_autofree char *got = gcs_url_encode(in, keep_slash);
  g_assert_cmpstr(got, ==, want);
}

static void test_encode(void)
{
  check_encode("plain-name_1.mp4~", FALSE, "plain-name_1.mp4~");
  check_encode("a/b c+d", FALSE, "a%2Fb%20c%2Bd");
  check_encode("a/b c+d", TRUE, "a/b%20c%2Bd");
  check_encode("rooms/été/ü.mp4", FALSE, "rooms%2F%C3%A9t%C3%A9%2F%C3%BC.mp4");
  check_encode("日本", FALSE, "%E6%97%A5%E6%9C%AC");
  check_encode("100%", FALSE, "100%25");
  /* Every reserved and unsafe ASCII character is encoded (the classic signing pitfalls). */
  check_encode("!*'();:@&=+$,?#[]", FALSE, "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%3F%23%5B%5D");
  check_encode("\"<>\\^`{|}", TRUE, "%22%3C%3E%5C%5E%60%7B%7C%7D");
  check_encode("", FALSE, "");
}

static void check_base(const char *in, const char *want)
{
  g_autofree char *got = gcs_url_normalize_base(in);
  g_assert_cmpstr(got, ==, want);
}

static void test_normalize_base(void)
{
  check_base("localhost:4443", "http://localhost:4443");
  check_base("127.0.0.1:9199/", "http://127.0.0.1:9199");
  check_base("http://127.0.0.1:9199", "http://127.0.0.1:9199");
  check_base("https://storage.example.com//", "https://storage.example.com");
  check_base("  http://h:1/  ", "http://h:1");
  check_base("https://h/prefix/", "https://h/prefix");
  check_base("", NULL);
  check_base("   ", NULL);
  check_base("/", NULL);
  check_base(NULL, NULL);
}

static void test_api_urls(void)
{
  g_autofree char *media = gcs_url_media_upload("http://h:1", "my-bucket", "rec/a b+c.mp4");
  g_autofree char *res = gcs_url_resumable_start(GCS_DEFAULT_BASE_URL, "b", "x/ü.ts");
  g_autofree char *obj = gcs_url_object("http://h:1", "b", "dir/f.m3u8");
  g_assert_cmpstr(
      media, ==,
      "http://h:1/upload/storage/v1/b/my-bucket/o?uploadType=media&name=rec%2Fa%20b%2Bc.mp4");
  g_assert_cmpstr(res, ==,
                  "https://storage.googleapis.com/upload/storage/v1/b/b/o?uploadType=resumable"
                  "&name=x%2F%C3%BC.ts");
  g_assert_cmpstr(obj, ==, "http://h:1/storage/v1/b/b/o/dir%2Ff.m3u8");
}

static void test_location(void)
{
  g_autofree char *google = gcs_url_location(NULL, "recordings", "room/2024 ü+1.mp4");
  g_autofree char *custom = gcs_url_location("http://127.0.0.1:9199", "recordings", "room/a.mp4");
  g_autofree char *plain = gcs_url_location(NULL, "b", "room-2024-01-01T120000.mp4");
  g_assert_cmpstr(google, ==,
                  "https://recordings.storage.googleapis.com/room/2024%20%C3%BC%2B1.mp4");
  g_assert_cmpstr(custom, ==, "http://127.0.0.1:9199/recordings/room/a.mp4");
  /* An ordinary name reads exactly as LiveKit's uploader reports it. */
  g_assert_cmpstr(plain, ==, "https://b.storage.googleapis.com/room-2024-01-01T120000.mp4");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/upload-gcp/url/encode", test_encode);
  g_test_add_func("/upload-gcp/url/normalize-base", test_normalize_base);
  g_test_add_func("/upload-gcp/url/api-urls", test_api_urls);
  g_test_add_func("/upload-gcp/url/location", test_location);
  return g_test_run();
}
