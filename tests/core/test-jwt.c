/* Unit tests for core/jwt.c: LiveKit access tokens.
 *
 * The SDK_* tokens were made by livekit-server-sdk 2.19.2's AccessToken (Node) with the key and
 * secret below; their nbf/exp are fixed, so every check runs at a chosen `now`. */
#include "jwt.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define API_KEY    "APIsluiceTest"
#define API_SECRET "s3cr3t-0123456789abcdefghijklmnopqrstuv"

/* new AccessToken(key, secret, {ttl: 600}); addGrant({ingressAdmin: true}) */
#define SDK_INGRESS_ADMIN                                                                          \
  "eyJhbGciOiJIUzI1NiJ9."                                                                          \
  "eyJ2aWRlbyI6eyJpbmdyZXNzQWRtaW4iOnRydWV9LCJpc3MiOiJBUElzbHVpY2VUZXN0IiwiZXhwIjoxNzk1MjY1NjQx"   \
  "LCJuYmYiOjE3OTUyNjUwNDF9.LGGykiqbmd0OxuF1xOQ_207YD3McZlrd7u4Wt9BA_74"
#define SDK_INGRESS_ADMIN_NBF 1795265041
#define SDK_INGRESS_ADMIN_EXP 1795265641

/* new AccessToken(key, secret, {ttl: 3600, identity: "recorder"}); addGrant({roomRecord: true}) */
#define SDK_ROOM_RECORD                                                                            \
  "eyJhbGciOiJIUzI1NiJ9."                                                                          \
  "eyJ2aWRlbyI6eyJyb29tUmVjb3JkIjp0cnVlfSwiaXNzIjoiQVBJc2x1aWNlVGVzdCIsImV4cCI6MTc5NTI2ODY0MSwi"   \
  "bmJmIjoxNzk1MjY1MDQxLCJzdWIiOiJyZWNvcmRlciJ9.utLUqqMJ9qpuSup64rjCszgqVUKh55F9UySgafITt0Q"
#define SDK_ROOM_RECORD_EXP 1795268641

/* new AccessToken(key, secret, {ttl: 600, identity: "alice"}); addGrant({roomJoin: true,
 * room: "demo"}) */
#define SDK_ROOM_JOIN                                                                              \
  "eyJhbGciOiJIUzI1NiJ9."                                                                          \
  "eyJ2aWRlbyI6eyJyb29tSm9pbiI6dHJ1ZSwicm9vbSI6ImRlbW8ifSwiaXNzIjoiQVBJc2x1aWNlVGVzdCIsImV4cCI6"   \
  "MTc5NTI2NTY0MSwibmJmIjoxNzk1MjY1MDQxLCJzdWIiOiJhbGljZSJ9."                                      \
  "TpSnkz_QpWvLxuvl9b6cvsUlrWoygTnb2PE6I0xQItg"

#define NOW (SDK_INGRESS_ADMIN_NBF + 60)

static const char *lookup_test_key(const char *api_key, gpointer data)
{
  return strcmp(api_key, API_KEY) == 0 ? (const char *)data : NULL;
}

static JsonObject *verify_ok(const char *token, gint64 now)
{
  g_autoptr(GError) error = NULL;
  JsonObject *claims = NULL;
  gboolean ok = sl_jwt_verify(token, lookup_test_key, (gpointer)API_SECRET, now, &claims, &error);
  g_assert_no_error(error);
  g_assert_true(ok);
  g_assert_nonnull(claims);
  return claims;
}

static void verify_fails(const char *token, const char *secret, gint64 now, const char *why)
{
  g_autoptr(GError) error = NULL;
  JsonObject *claims = (JsonObject *)0x1;
  gboolean ok = sl_jwt_verify(token, lookup_test_key, (gpointer)secret, now, &claims, &error);
  g_assert_false(ok);
  g_assert_null(claims);
  g_assert_error(error, SL_JWT_ERROR, SL_JWT_ERROR_UNAUTHENTICATED);
  if (strstr(error->message, why) == NULL)
    g_error("expected \"%s\" in \"%s\"", why, error->message);
  /* No part of a token ever reaches an error message. */
  if (token != NULL && strlen(token) > 20)
    g_assert_null(strstr(error->message, token + strlen(token) - 12));
}

/* A token with exactly this header and payload JSON, signed with `secret` (or with `sig` verbatim
 * when given). */
static char *make_token(const char *header, const char *payload, const char *secret,
                        const char *sig)
{
  g_autofree char *h = sl_jwt_base64url_encode(header, strlen(header));
  g_autofree char *p = sl_jwt_base64url_encode(payload, strlen(payload));
  g_autofree char *input = g_strconcat(h, ".", p, NULL);
  g_autofree char *s = NULL;
  if (sig == NULL) {
    guint8 mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const guint8 *)input, strlen(input), mac, &n);
    s = sl_jwt_base64url_encode(mac, n);
  } else {
    s = g_strdup(sig);
  }
  return g_strconcat(input, ".", s, NULL);
}

static void test_sdk_ingress_admin(void)
{
  g_autoptr(JsonObject) claims = verify_ok(SDK_INGRESS_ADMIN, NOW);
  g_assert_cmpstr(json_object_get_string_member(claims, "iss"), ==, API_KEY);
  g_assert_true(sl_jwt_has_video_grant(claims, "ingressAdmin"));
  g_assert_false(sl_jwt_has_video_grant(claims, "roomRecord"));
  g_assert_true(sl_jwt_require_video_grant(claims, "ingressAdmin", NULL));
}

static void test_sdk_room_record(void)
{
  g_autoptr(JsonObject) claims = verify_ok(SDK_ROOM_RECORD, NOW);
  g_autoptr(GError) error = NULL;
  g_assert_cmpstr(json_object_get_string_member(claims, "sub"), ==, "recorder");
  g_assert_true(sl_jwt_has_video_grant(claims, "roomRecord"));
  g_assert_false(sl_jwt_require_video_grant(claims, "ingressAdmin", &error));
  g_assert_error(error, SL_JWT_ERROR, SL_JWT_ERROR_PERMISSION_DENIED);
}

static void test_sdk_no_admin_grant(void)
{
  g_autoptr(JsonObject) claims = verify_ok(SDK_ROOM_JOIN, NOW);
  g_assert_false(sl_jwt_has_video_grant(claims, "ingressAdmin"));
  g_assert_false(sl_jwt_has_video_grant(claims, "roomRecord"));
  /* A grant is the boolean true, nothing that merely looks like it. */
  g_assert_false(sl_jwt_has_video_grant(claims, "room"));
}

static void test_expiry(void)
{
  g_autoptr(JsonObject) a = verify_ok(SDK_INGRESS_ADMIN, SDK_INGRESS_ADMIN_EXP);
  g_autoptr(JsonObject) b = verify_ok(SDK_INGRESS_ADMIN, SDK_INGRESS_ADMIN_EXP + SL_JWT_LEEWAY_S);
  verify_fails(SDK_INGRESS_ADMIN, API_SECRET, SDK_INGRESS_ADMIN_EXP + SL_JWT_LEEWAY_S + 1,
               "expired");
  verify_fails(SDK_ROOM_RECORD, API_SECRET, SDK_ROOM_RECORD_EXP + 3600, "expired");
}

static void test_not_before(void)
{
  g_autoptr(JsonObject) a = verify_ok(SDK_INGRESS_ADMIN, SDK_INGRESS_ADMIN_NBF - SL_JWT_LEEWAY_S);
  verify_fails(SDK_INGRESS_ADMIN, API_SECRET, SDK_INGRESS_ADMIN_NBF - SL_JWT_LEEWAY_S - 1,
               "not valid yet");
}

static void test_wrong_secret(void)
{
  verify_fails(SDK_INGRESS_ADMIN, "another-secret-0123456789", NOW, "invalid token signature");
}

static void test_unknown_key(void)
{
  g_autofree char *tok = make_token("{\"alg\":\"HS256\"}",
                                    "{\"iss\":\"APIother\",\"exp\":1795265641,\"video\":"
                                    "{\"ingressAdmin\":true}}",
                                    API_SECRET, NULL);
  verify_fails(tok, API_SECRET, NOW, "unknown API key");
  verify_fails(SDK_INGRESS_ADMIN, NULL, NOW, "unknown API key");
  {
    g_autoptr(GError) error = NULL;
    g_assert_false(sl_jwt_verify(SDK_INGRESS_ADMIN, NULL, NULL, NOW, NULL, &error));
    g_assert_error(error, SL_JWT_ERROR, SL_JWT_ERROR_UNAUTHENTICATED);
  }
}

static void test_alg_refused(void)
{
  const char *payload =
      "{\"iss\":\"APIsluiceTest\",\"exp\":1795265641,\"video\":{\"ingressAdmin\":true}}";
  const char *headers[] = {
      "{\"alg\":\"none\"}",  "{\"alg\":\"None\",\"typ\":\"JWT\"}",
      "{\"alg\":\"HS512\"}", "{\"alg\":\"hs256\"}",
      "{\"typ\":\"JWT\"}",   "{\"alg\":256}",
      "{\"alg\":null}",
  };
  for (guint i = 0; i < G_N_ELEMENTS(headers); i++) {
    g_autofree char *signed_tok = make_token(headers[i], payload, API_SECRET, NULL);
    g_autofree char *unsigned_tok = make_token(headers[i], payload, API_SECRET, "");
    verify_fails(signed_tok, API_SECRET, NOW, "HS256");
    verify_fails(unsigned_tok, API_SECRET, NOW, "HS256");
  }
  {
    /* Critical header extensions are not understood, so the token is not either. */
    g_autofree char *tok = make_token("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}",
                                      payload, API_SECRET, NULL);
    verify_fails(tok, API_SECRET, NOW, "critical");
  }
}

static void test_tampered(void)
{
  g_autofree char *forged = NULL;
  g_auto(GStrv) parts = g_strsplit(SDK_ROOM_JOIN, ".", -1);
  g_autofree char *payload = sl_jwt_base64url_encode(
      "{\"video\":{\"roomJoin\":true,\"room\":\"demo\",\"ingressAdmin\":true},"
      "\"iss\":\"APIsluiceTest\",\"exp\":1795265641,\"nbf\":1795265041,\"sub\":\"alice\"}",
      strlen("{\"video\":{\"roomJoin\":true,\"room\":\"demo\",\"ingressAdmin\":true},"
             "\"iss\":\"APIsluiceTest\",\"exp\":1795265641,\"nbf\":1795265041,\"sub\":"
             "\"alice\"}"));
  forged = g_strjoin(".", parts[0], payload, parts[2], NULL);
  verify_fails(forged, API_SECRET, NOW, "invalid token signature");

  {
    /* One flipped signature character. */
    g_autofree char *tok = g_strdup(SDK_INGRESS_ADMIN);
    gsize n = strlen(tok);
    tok[n - 5] = tok[n - 5] == 'A' ? 'B' : 'A';
    verify_fails(tok, API_SECRET, NOW, "invalid token signature");
  }
  {
    /* The same signature spelled with stray low bits in its last character. */
    g_autofree char *tok = g_strdup(SDK_INGRESS_ADMIN);
    gsize n = strlen(tok);
    g_assert_cmpint(tok[n - 1], ==, '4');
    tok[n - 1] = '5';
    verify_fails(tok, API_SECRET, NOW, "invalid token signature");
  }
  {
    /* A truncated signature. */
    g_autofree char *tok = g_strndup(SDK_INGRESS_ADMIN, strlen(SDK_INGRESS_ADMIN) - 4);
    verify_fails(tok, API_SECRET, NOW, "invalid token signature");
  }
}

static void test_missing_exp(void)
{
  g_autofree char *no_exp =
      make_token("{\"alg\":\"HS256\"}",
                 "{\"iss\":\"APIsluiceTest\",\"video\":{\"ingressAdmin\":true}}", API_SECRET, NULL);
  g_autofree char *null_exp = make_token(
      "{\"alg\":\"HS256\"}", "{\"iss\":\"APIsluiceTest\",\"exp\":null}", API_SECRET, NULL);
  g_autofree char *string_exp =
      make_token("{\"alg\":\"HS256\"}", "{\"iss\":\"APIsluiceTest\",\"exp\":\"1795265641\"}",
                 API_SECRET, NULL);
  g_autofree char *huge_exp =
      make_token("{\"alg\":\"HS256\"}", "{\"iss\":\"APIsluiceTest\",\"exp\":9223372036854775807}",
                 API_SECRET, NULL);
  g_autofree char *fraction = make_token(
      "{\"alg\":\"HS256\"}", "{\"iss\":\"APIsluiceTest\",\"exp\":1795265641.5}", API_SECRET, NULL);
  g_autoptr(JsonObject) a = NULL;
  g_autoptr(JsonObject) b = NULL;
  verify_fails(no_exp, API_SECRET, NOW, "no expiry");
  verify_fails(null_exp, API_SECRET, NOW, "no expiry");
  verify_fails(string_exp, API_SECRET, NOW, "exp is not a number");
  a = verify_ok(huge_exp, NOW);
  b = verify_ok(fraction, NOW);
}

static void test_malformed(void)
{
  g_autofree char *long_tok = NULL;
  GString *s = g_string_new(SDK_INGRESS_ADMIN);
  verify_fails(NULL, API_SECRET, NOW, "missing token");
  verify_fails("", API_SECRET, NOW, "missing token");
  verify_fails("abc", API_SECRET, NOW, "JWS compact");
  verify_fails("a.b", API_SECRET, NOW, "JWS compact");
  verify_fails("a.b.c.d", API_SECRET, NOW, "JWS compact");
  verify_fails("!!!.e30.xx", API_SECRET, NOW, "header");
  verify_fails("e30=.e30.xx", API_SECRET, NOW, "header"); /* padding is not base64url */
  verify_fails("W10.e30.xx", API_SECRET, NOW, "header");  /* [] is not an object */
  verify_fails("eyJhbGciOiJIUzI1NiJ9.W10.xx", API_SECRET, NOW, "claims");
  verify_fails("eyJhbGciOiJIUzI1NiJ9.e30.xx", API_SECRET, NOW, "issuer");
  while (s->len <= SL_JWT_MAX_TOKEN_LEN)
    g_string_append_c(s, 'A');
  long_tok = g_string_free(s, FALSE);
  verify_fails(long_tok, API_SECRET, NOW, "too long");
  {
    /* Deep nesting in the claims is refused before json-glib recurses into it. */
    GString *deep = g_string_new("{\"iss\":\"APIsluiceTest\",\"exp\":1795265641,\"x\":");
    g_autofree char *tok = NULL;
    for (int i = 0; i < 1000; i++)
      g_string_append_c(deep, '[');
    for (int i = 0; i < 1000; i++)
      g_string_append_c(deep, ']');
    g_string_append_c(deep, '}');
    tok = make_token("{\"alg\":\"HS256\"}", deep->str, API_SECRET, NULL);
    verify_fails(tok, API_SECRET, NOW, "claims");
    g_string_free(deep, TRUE);
  }
}

static void test_sign_roundtrip(void)
{
  g_autoptr(JsonObject) claims = json_object_new();
  g_autoptr(JsonObject) video = json_object_new();
  g_autoptr(JsonObject) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tok = NULL;
  gint64 now = g_get_real_time() / G_USEC_PER_SEC;

  json_object_set_boolean_member(video, "roomRecord", TRUE);
  json_object_set_object_member(claims, "video", json_object_ref(video));
  json_object_set_string_member(claims, "sub", "cli");
  json_object_set_string_member(claims, "iss", "ignored: the key below wins");
  tok = sl_jwt_sign(claims, API_KEY, API_SECRET, &error);
  g_assert_no_error(error);
  g_assert_nonnull(tok);
  g_assert_true(g_str_has_prefix(tok, "eyJ"));
  g_assert_null(strchr(tok, '='));

  back = verify_ok(tok, now);
  g_assert_cmpstr(json_object_get_string_member(back, "iss"), ==, API_KEY);
  g_assert_cmpstr(json_object_get_string_member(back, "sub"), ==, "cli");
  g_assert_true(sl_jwt_has_video_grant(back, "roomRecord"));
  g_assert_cmpint(json_object_get_int_member(back, "exp") - json_object_get_int_member(back, "nbf"),
                  ==, SL_JWT_DEFAULT_TTL_S);
  verify_fails(tok, "not-the-secret-at-all", now, "invalid token signature");
  verify_fails(tok, API_SECRET, now + SL_JWT_DEFAULT_TTL_S + SL_JWT_LEEWAY_S + 1, "expired");
  /* The caller's claims are left as they were. */
  g_assert_cmpstr(json_object_get_string_member(claims, "iss"), ==, "ignored: the key below wins");
  g_assert_false(json_object_has_member(claims, "exp"));
}

static void test_sign_explicit_times(void)
{
  g_autoptr(JsonObject) claims = json_object_new();
  g_autoptr(JsonObject) back = NULL;
  g_autofree char *tok = NULL;
  json_object_set_int_member(claims, "exp", 2000000300);
  json_object_set_int_member(claims, "nbf", 2000000000);
  json_object_set_string_member(claims, "sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  tok = sl_jwt_sign(claims, API_KEY, API_SECRET, NULL);
  g_assert_nonnull(tok);
  back = verify_ok(tok, 2000000100);
  g_assert_cmpint(json_object_get_int_member(back, "exp"), ==, 2000000300);
  g_assert_cmpstr(json_object_get_string_member(back, "sha256"), ==,
                  "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  verify_fails(tok, API_SECRET, 1999999000, "not valid yet");
}

static void test_sign_refuses(void)
{
  g_autoptr(GError) error = NULL;
  g_assert_null(sl_jwt_sign(NULL, "", API_SECRET, &error));
  g_assert_error(error, SL_JWT_ERROR, SL_JWT_ERROR_INVALID);
  g_clear_error(&error);
  g_assert_null(sl_jwt_sign(NULL, API_KEY, NULL, &error));
  g_assert_error(error, SL_JWT_ERROR, SL_JWT_ERROR_INVALID);
}

static void test_sha256_b64(void)
{
  g_autofree char *empty = sl_jwt_sha256_b64("", 0);
  g_autofree char *abc = sl_jwt_sha256_b64("abc", 3);
  g_assert_cmpstr(empty, ==, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  g_assert_cmpstr(abc, ==, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
}

static void check_b64url(const char *raw, gsize len, const char *text)
{
  g_autofree char *enc = sl_jwt_base64url_encode(raw, len);
  g_autoptr(GBytes) dec = sl_jwt_base64url_decode(text, strlen(text));
  g_assert_cmpstr(enc, ==, text);
  g_assert_nonnull(dec);
  g_assert_cmpmem(g_bytes_get_data(dec, NULL), g_bytes_get_size(dec), raw, len);
}

static void test_base64url(void)
{
  check_b64url("", 0, "");
  check_b64url("f", 1, "Zg");
  check_b64url("fo", 2, "Zm8");
  check_b64url("foo", 3, "Zm9v");
  check_b64url("\xfb\xff\xfe", 3, "-__-");
  g_assert_null(sl_jwt_base64url_decode("Zg==", 4));
  g_assert_null(sl_jwt_base64url_decode("Z", 1));
  g_assert_null(sl_jwt_base64url_decode("Zh", 2)); /* stray bits */
  g_assert_null(sl_jwt_base64url_decode("+/+/", 4));
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/jwt/sdk-ingress-admin", test_sdk_ingress_admin);
  g_test_add_func("/jwt/sdk-room-record", test_sdk_room_record);
  g_test_add_func("/jwt/sdk-no-admin-grant", test_sdk_no_admin_grant);
  g_test_add_func("/jwt/expiry", test_expiry);
  g_test_add_func("/jwt/not-before", test_not_before);
  g_test_add_func("/jwt/wrong-secret", test_wrong_secret);
  g_test_add_func("/jwt/unknown-key", test_unknown_key);
  g_test_add_func("/jwt/alg-refused", test_alg_refused);
  g_test_add_func("/jwt/tampered", test_tampered);
  g_test_add_func("/jwt/missing-exp", test_missing_exp);
  g_test_add_func("/jwt/malformed", test_malformed);
  g_test_add_func("/jwt/sign-roundtrip", test_sign_roundtrip);
  g_test_add_func("/jwt/sign-explicit-times", test_sign_explicit_times);
  g_test_add_func("/jwt/sign-refuses", test_sign_refuses);
  g_test_add_func("/jwt/sha256-b64", test_sha256_b64);
  g_test_add_func("/jwt/base64url", test_base64url);
  return g_test_run();
}
