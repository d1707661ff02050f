/* Unit tests for core/redact.c and the secret scrubber in core/log.c. */
#include "log.h"
#include "redact.h"

#include <string.h>

static void check_secret(const char *in, const char *expected)
{
  g_autofree char *out = sl_redact_secret(in);
  g_assert_cmpstr(out, ==, expected);
}

static void check_url(const char *in, gboolean key, const char *expected)
{
  g_autofree char *out = sl_redact_url(in, key);
  g_assert_cmpstr(out, ==, expected);
}

static void test_secret_long(void)
{
  check_secret("abcdefghij", "{abc...hij}");
  check_secret("sk_live_0123456789XYZ", "{sk_...XYZ}");
  check_secret("0123456789abcdef0123456789abcdef", "{012...def}");
}

static void test_secret_short(void)
{
  check_secret("abcdefghi", "{...}");
  check_secret("abc", "{...}");
  check_secret("", "{...}");
  check_secret(NULL, "{...}");
}

static void test_url_password(void)
{
  check_url("rtmp://user:hunter2@example.com:1935/live", FALSE,
            "rtmp://user:{...}@example.com:1935/live");
  check_url("redis://:pw@127.0.0.1:6379/0", FALSE, "redis://:{...}@127.0.0.1:6379/0");
  /* A user name alone is not a secret. */
  check_url("rtmp://user@example.com/live", FALSE, "rtmp://user@example.com/live");
}

static void test_url_query(void)
{
  check_url("https://example.com/hook?token=abc&sig=xyz&flag", FALSE,
            "https://example.com/hook?token={...}&sig={...}&flag");
  check_url("https://example.com/hook?token=", FALSE, "https://example.com/hook?token={...}");
  check_url("srt://host:9000?streamid=publish:room/key&passphrase=longsecret", FALSE,
            "srt://host:9000?streamid={...}&passphrase={...}");
}

static void test_url_last_segment(void)
{
  check_url("rtmp://u:pw@host/live/abcdefghijkl?token=xyz", TRUE,
            "rtmp://u:{...}@host/live/{abc...jkl}?token={...}");
  check_url("rtmp://host/live/abcdefghijkl", TRUE, "rtmp://host/live/{abc...jkl}");
  check_url("rtmp://host/live/short", TRUE, "rtmp://host/live/{...}");
  /* Without the flag the path is kept. */
  check_url("rtmp://host/live/abcdefghijkl", FALSE, "rtmp://host/live/abcdefghijkl");
  /* A trailing slash leaves no key to hide. */
  check_url("rtmp://host/live/", TRUE, "rtmp://host/live/");
}

static void test_url_no_path(void)
{
  check_url("rtmp://example.com", TRUE, "rtmp://example.com");
  check_url("rtmp://example.com:1935", TRUE, "rtmp://example.com:1935");
  check_url("rtmp://user:pw@example.com", TRUE, "rtmp://user:{...}@example.com");
  check_url("https://example.com?key=value", TRUE, "https://example.com?key={...}");
  check_url("rtmp://", TRUE, "rtmp://");
}

static void test_url_not_a_url(void)
{
  check_url("abcdefghijklmnop", TRUE, "{abc...nop}");
  check_url("short", FALSE, "{...}");
  check_url("host/live/abcdefghijkl", TRUE, "{hos...jkl}");
  check_url(NULL, TRUE, "{...}");
}

static void test_scrub_replaces(void)
{
  const char *secret = "scrub-plain-0123456789";
  g_autofree char *before = sl_log_scrub("connect with scrub-plain-0123456789 now");
  g_autofree char *after = NULL;
  g_autofree char *twice = NULL;

  g_assert_cmpstr(before, ==, "connect with scrub-plain-0123456789 now");
  sl_log_register_secret(secret);
  after = sl_log_scrub("connect with scrub-plain-0123456789 now");
  g_assert_cmpstr(after, ==, "connect with {scr...789} now");
  twice = sl_log_scrub("scrub-plain-0123456789/scrub-plain-0123456789");
  g_assert_cmpstr(twice, ==, "{scr...789}/{scr...789}");
}

static void test_scrub_overlapping(void)
{
  /* The shorter secret is registered first and is contained in the longer one: the longer must
   * still be replaced whole rather than leaving its unmatched ends in the clear. */
  g_autofree char *out = NULL;
  g_autofree char *only_short = NULL;

  sl_log_register_secret("overlap-inner");
  sl_log_register_secret("AAAA-overlap-inner-ZZZZ");
  out = sl_log_scrub("x=AAAA-overlap-inner-ZZZZ y=overlap-inner");
  g_assert_cmpstr(out, ==, "x={AAA...ZZZ} y={ove...ner}");
  g_assert_null(strstr(out, "AAAA"));
  g_assert_null(strstr(out, "ZZZZ"));
  only_short = sl_log_scrub("overlap-inner");
  g_assert_cmpstr(only_short, ==, "{ove...ner}");
}

static void test_scrub_short_secrets(void)
{
  g_autofree char *out = NULL;
  g_autofree char *four = NULL;

  sl_log_register_secret("abc");
  sl_log_register_secret("");
  sl_log_register_secret(NULL);
  out = sl_log_scrub("abc abcd xabcx");
  g_assert_cmpstr(out, ==, "abc abcd xabcx");

  /* Four characters is the shortest secret that counts. */
  sl_log_register_secret("q7#z");
  four = sl_log_scrub("pw=q7#z;");
  g_assert_cmpstr(four, ==, "pw={...};");
}

static void test_scrub_register_twice(void)
{
  g_autofree char *out = NULL;

  sl_log_register_secret("duplicate-secret-value");
  sl_log_register_secret("duplicate-secret-value");
  out = sl_log_scrub("duplicate-secret-value");
  g_assert_cmpstr(out, ==, "{dup...lue}");
}

static void test_scrub_null(void)
{
  g_autofree char *out = sl_log_scrub(NULL);
  g_assert_cmpstr(out, ==, "");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/redact/secret/long", test_secret_long);
  g_test_add_func("/redact/secret/short-and-null", test_secret_short);
  g_test_add_func("/redact/url/password", test_url_password);
  g_test_add_func("/redact/url/query-values", test_url_query);
  g_test_add_func("/redact/url/last-segment-key", test_url_last_segment);
  g_test_add_func("/redact/url/no-path", test_url_no_path);
  g_test_add_func("/redact/url/not-a-url", test_url_not_a_url);
  g_test_add_func("/redact/scrub/replaces", test_scrub_replaces);
  g_test_add_func("/redact/scrub/overlapping", test_scrub_overlapping);
  g_test_add_func("/redact/scrub/short-ignored", test_scrub_short_secrets);
  g_test_add_func("/redact/scrub/register-twice", test_scrub_register_twice);
  g_test_add_func("/redact/scrub/null", test_scrub_null);
  return g_test_run();
}
