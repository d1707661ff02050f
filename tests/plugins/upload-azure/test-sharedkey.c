/* Unit tests for upload-azure's SharedKey signer (plugins/upload-azure/sharedkey.c).
 *
 * The golden strings to sign and signatures below are Azurite 3.37.0's own: it logs the string
 * it computes for each request it authenticates ("[STRING TO SIGN]", with --debug) and the
 * signature it expects from key1. They were recorded from requests this plugin sent to it (each
 * one accepted: "Signature 1 matched"), and the tests rebuild the same requests from the same
 * parts — so the signer is held to an independent implementation, not to itself.
 */
#include "ops.h"
#include "sharedkey.h"
#include "target.h"

#include "errors.h"

#include <string.h>

#define AZURITE_KEY                                                                                \
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static AzTarget *azurite_target(void)
{
  g_autoptr(GError) err = NULL;
  AzTarget *t = az_target_new("devstoreaccount1", AZURITE_KEY, "rec",
                              "http://127.0.0.1:10111/devstoreaccount1", &err);
  g_assert_no_error(err);
  return t;
}

static char *blob_path(const AzTarget *t, const char *key)
{
  g_autoptr(GError) err = NULL;
  char *path = NULL;
  g_assert_true(az_target_blob_path(t, key, &path, &err));
  g_assert_no_error(err);
  return path;
}

static void check(const AzTarget *t, AzRequest *req, const char *client_id, const char *date,
                  const char *want_sts, const char *want_sig)
{
  g_autofree char *sts = NULL;
  g_autofree char *sig = NULL;
  az_request_set_header(req, "x-ms-client-request-id", client_id);
  az_request_set_header(req, "x-ms-date", date);
  sts = az_sharedkey_string_to_sign(req, t->account);
  g_assert_cmpstr(sts, ==, want_sts);
  sig = az_sharedkey_signature(t->key, sts);
  g_assert_cmpstr(sig, ==, want_sig);
}

/* Put Blob of "hello\n" as the key from the reference's pitfalls: space, non-ASCII, '+', '!',
 * parentheses. Path-style emulator URL: the account appears twice in the resource. */
static void test_put_blob_special_key(void)
{
  g_autoptr(AzTarget) t = azurite_target();
  g_autofree char *path = blob_path(t, "sp ace/ü+é!(x).txt");
  g_autofree char *md5 = az_content_md5("hello\n", 6);
  g_autoptr(AzRequest) req = NULL;

  g_assert_cmpstr(path, ==, "/devstoreaccount1/rec/sp%20ace/%C3%BC%2B%C3%A9%21%28x%29.txt");
  g_assert_cmpstr(md5, ==, "sZRqySSS0jR8YjW00mERhA==");
  req = az_op_put_blob(t, path, 6, "text/plain", md5);
  check(t, req, "e6e17986-8584-4cd4-8155-f75ee72fa09a", "Sat, 21 Nov 2026 14:23:40 GMT",
        "PUT\n\n\n6\nsZRqySSS0jR8YjW00mERhA==\ntext/plain\n\n\n\n\n\n\n"
        "x-ms-blob-type:BlockBlob\n"
        "x-ms-client-request-id:e6e17986-8584-4cd4-8155-f75ee72fa09a\n"
        "x-ms-date:Sat, 21 Nov 2026 14:23:40 GMT\n"
        "x-ms-version:2021-08-06\n"
        "/devstoreaccount1/devstoreaccount1/rec/sp%20ace/%C3%BC%2B%C3%A9%21%28x%29.txt",
        "KuOcTTCFxhysQPFKtLVV8KyZGzR0FbPYnFftvOZ3feE=");
  {
    g_autofree char *url = az_request_url(req);
    g_assert_cmpstr(url, ==,
                    "http://127.0.0.1:10111/devstoreaccount1/rec/"
                    "sp%20ace/%C3%BC%2B%C3%A9%21%28x%29.txt");
  }
}

/* Put Block: the block id is percent-encoded in the URL ('=' as %3D) and decoded in the
 * canonical resource; query parameters sorted by name. */
static void test_put_block(void)
{
  g_autoptr(AzTarget) t = azurite_target();
  g_autofree char *path = blob_path(t, "rec 2/ü.mp4");
  g_autoptr(AzRequest) r0 =
      az_op_put_block(t, path, "NGQ3OWZmMzktMDAwMDAwMDAwMA==", 8388608, "lplbWNTL9qqpBBtPAMf2rg==");
  g_autoptr(AzRequest) r1 =
      az_op_put_block(t, path, "NGQ3OWZmMzktMDAwMDAwMDAwMQ==", 1048576, "ttgbNgpWctgMJ0MPORU+LA==");

  g_assert_cmpstr(r0->query, ==, "comp=block&blockid=NGQ3OWZmMzktMDAwMDAwMDAwMA%3D%3D");
  check(t, r0, "c058bdc0-9e11-449e-986f-56b6a486229a", "Sat, 21 Nov 2026 14:23:40 GMT",
        "PUT\n\n\n8388608\nlplbWNTL9qqpBBtPAMf2rg==\n\n\n\n\n\n\n\n"
        "x-ms-client-request-id:c058bdc0-9e11-449e-986f-56b6a486229a\n"
        "x-ms-date:Sat, 21 Nov 2026 14:23:40 GMT\n"
        "x-ms-version:2021-08-06\n"
        "/devstoreaccount1/devstoreaccount1/rec/rec%202/%C3%BC.mp4\n"
        "blockid:NGQ3OWZmMzktMDAwMDAwMDAwMA==\ncomp:block",
        "kZkJ6yQQOKVot97uHoPeb9DS5s8WDPKSnluJkWfFLFI=");
  check(t, r1, "e8a80203-50f1-4dee-b5c3-f400df18cec2", "Sat, 21 Nov 2026 14:23:40 GMT",
        "PUT\n\n\n1048576\nttgbNgpWctgMJ0MPORU+LA==\n\n\n\n\n\n\n\n"
        "x-ms-client-request-id:e8a80203-50f1-4dee-b5c3-f400df18cec2\n"
        "x-ms-date:Sat, 21 Nov 2026 14:23:40 GMT\n"
        "x-ms-version:2021-08-06\n"
        "/devstoreaccount1/devstoreaccount1/rec/rec%202/%C3%BC.mp4\n"
        "blockid:NGQ3OWZmMzktMDAwMDAwMDAwMQ==\ncomp:block",
        "h8C7PMDb8aBg1kf0EnLsZ2gehg0w72h2mgYoh/HqroU=");
}

/* Put Block List: Content-Type application/xml is signed, the blob's own type travels in
 * x-ms-blob-content-type (a canonical header, sorted before x-ms-client-request-id). */
static void test_put_block_list(void)
{
  g_autoptr(AzTarget) t = azurite_target();
  g_autofree char *path = blob_path(t, "rec 2/ü.mp4");
  g_autoptr(AzRequest) req =
      az_op_put_block_list(t, path, 151, "video/mp4", "C6wwvoJR/ysjUMHOPSaDdQ==");
  check(t, req, "38feecaa-feea-4edd-9df2-44c7edc6f5ba", "Sat, 21 Nov 2026 14:23:40 GMT",
        "PUT\n\n\n151\nC6wwvoJR/ysjUMHOPSaDdQ==\napplication/xml\n\n\n\n\n\n\n"
        "x-ms-blob-content-type:video/mp4\n"
        "x-ms-client-request-id:38feecaa-feea-4edd-9df2-44c7edc6f5ba\n"
        "x-ms-date:Sat, 21 Nov 2026 14:23:40 GMT\n"
        "x-ms-version:2021-08-06\n"
        "/devstoreaccount1/devstoreaccount1/rec/rec%202/%C3%BC.mp4\ncomp:blocklist",
        "JpOK/kb4E9QgV9RUhOwKOIgGhaHy6trQYivxEsQHjoU=");
}

/* authorize() writes x-ms-date from the clock it is given and the matching Authorization; a
 * second call (a retry) replaces both rather than adding headers. */
static void test_authorize(void)
{
  g_autoptr(AzTarget) t = azurite_target();
  g_autofree char *path = blob_path(t, "rec 2/ü.mp4");
  g_autoptr(AzRequest) req =
      az_op_put_block_list(t, path, 151, "video/mp4", "C6wwvoJR/ysjUMHOPSaDdQ==");
  g_autoptr(GDateTime) when = g_date_time_new_utc(2026, 11, 21, 14, 23, 40);
  g_autoptr(GDateTime) later = g_date_time_add_seconds(when, 61);
  guint n;

  az_request_set_header(req, "x-ms-client-request-id", "38feecaa-feea-4edd-9df2-44c7edc6f5ba");
  az_sharedkey_authorize(req, t->account, t->key, when);
  g_assert_cmpstr(az_request_get_header(req, "x-ms-date"), ==, "Sat, 21 Nov 2026 14:23:40 GMT");
  g_assert_cmpstr(az_request_get_header(req, "Authorization"), ==,
                  "SharedKey devstoreaccount1:JpOK/kb4E9QgV9RUhOwKOIgGhaHy6trQYivxEsQHjoU=");
  n = req->headers->len;
  az_sharedkey_authorize(req, t->account, t->key, later);
  g_assert_cmpuint(req->headers->len, ==, n);
  g_assert_cmpstr(az_request_get_header(req, "x-ms-date"), ==, "Sat, 21 Nov 2026 14:24:41 GMT");
  g_assert_cmpstr(az_request_get_header(req, "Authorization"), !=,
                  "SharedKey devstoreaccount1:JpOK/kb4E9QgV9RUhOwKOIgGhaHy6trQYivxEsQHjoU=");
}

/* The canonical form's finer rules, on a request built by hand. */
static void test_canonical_rules(void)
{
  g_autoptr(AzRequest) req = az_request_new("GET", "https://acct.blob.core.windows.net", "/c/a%20b",
                                            "restype=container&B=2&comp=list&b=1&"
                                            "prefix=a%2Bb+c&empty");
  g_autofree char *sts = NULL;
  az_request_set_header(req, "Content-Length", "0");                   /* empty when 0 */
  az_request_set_header(req, "Date", "Mon, 01 Jan 2024 00:00:00 GMT"); /* x-ms-date wins */
  az_request_set_header(req, "X-MS-Meta-Zed", "  z  ");                /* lowercased, trimmed */
  az_request_set_header(req, "x-ms-meta-folded", "one\r\n   two");     /* unfolded */
  az_request_set_header(req, "x-ms-date", "Tue, 02 Jan 2024 00:00:00 GMT");
  az_request_set_header(req, "x-ms-version", "2021-08-06");
  az_request_set_header(req, "Range", "bytes=0-9");
  az_request_set_header(req, "User-Agent", "not signed");
  sts = az_sharedkey_string_to_sign(req, "acct");
  g_assert_cmpstr(sts, ==,
                  "GET\n\n\n\n\n\n\n\n\n\n\nbytes=0-9\n"
                  "x-ms-date:Tue, 02 Jan 2024 00:00:00 GMT\n"
                  "x-ms-meta-folded:one two\n"
                  "x-ms-meta-zed:z\n"
                  "x-ms-version:2021-08-06\n"
                  "/acct/c/a%20b\n"
                  "b:1,2\n" /* names lowercased, one line, values in order */
                  "comp:list\n"
                  "empty:\n"
                  "prefix:a+b+c\n" /* %2B decoded, '+' stays a plus */
                  "restype:container");
}

static void test_http_date(void)
{
  g_autoptr(GDateTime) d = g_date_time_new_utc(1994, 11, 6, 8, 49, 37);
  g_autoptr(GTimeZone) tz = g_time_zone_new_offset(-5 * 3600);
  g_autoptr(GDateTime) local = g_date_time_new(tz, 2024, 2, 29, 23, 5, 9);
  g_autofree char *s = az_http_date(d);
  g_autofree char *s2 = az_http_date(local);
  g_assert_cmpstr(s, ==, "Sun, 06 Nov 1994 08:49:37 GMT");
  g_assert_cmpstr(s2, ==, "Fri, 01 Mar 2024 04:05:09 GMT");
}

static void test_key_decoding(void)
{
  const char *bad[] = {"not base64!", "abc", "QUJD*", "QQ=A", "====", " QUJD", "QUJD\n"};
  g_autoptr(GBytes) ok = NULL;
  g_autoptr(GError) err = NULL;
  gsize len;

  ok = az_sharedkey_decode_key(AZURITE_KEY, &err);
  g_assert_no_error(err);
  g_bytes_get_data(ok, &len);
  g_assert_cmpuint(len, ==, 64);

  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) e = NULL;
    GBytes *k = az_sharedkey_decode_key(bad[i], &e);
    g_assert_null(k);
    g_assert_error(e, AZ_ERROR, AZ_ERROR_CONFIG);
    g_assert_null(strstr(e->message, bad[i]));
  }
  {
    g_autoptr(GError) e = NULL;
    g_assert_null(az_sharedkey_decode_key("", &e));
    g_assert_error(e, AZ_ERROR, AZ_ERROR_CONFIG);
  }
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/upload-azure/sharedkey/put-blob-special-key", test_put_blob_special_key);
  g_test_add_func("/upload-azure/sharedkey/put-block", test_put_block);
  g_test_add_func("/upload-azure/sharedkey/put-block-list", test_put_block_list);
  g_test_add_func("/upload-azure/sharedkey/authorize", test_authorize);
  g_test_add_func("/upload-azure/sharedkey/canonical-rules", test_canonical_rules);
  g_test_add_func("/upload-azure/sharedkey/http-date", test_http_date);
  g_test_add_func("/upload-azure/sharedkey/key-decoding", test_key_decoding);
  return g_test_run();
}
