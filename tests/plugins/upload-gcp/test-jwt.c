/* upload-gcp: the service-account assertion — base64url, the header and claims JSON, and an
 * RS256 signature checked with the public half of a key made here with OpenSSL. */
#include "gcs-error.h"
#include "gcs-jwt.h"

#include <json-glib/json-glib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

static EVP_PKEY *test_key; /* one 2048-bit RSA key for the whole run */

static char *key_pem(EVP_PKEY *key, gboolean traditional)
{
  BIO *bio = BIO_new(BIO_s_mem());
  char *data = NULL, *out;
  long len;
  if (traditional)
    g_assert_cmpint(PEM_write_bio_PrivateKey_traditional(bio, key, NULL, NULL, 0, NULL, NULL), ==,
                    1);
  else
    g_assert_cmpint(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), ==, 1);
  len = BIO_get_mem_data(bio, &data);
  out = g_strndup(data, (gsize)len);
  BIO_free(bio);
  return out;
}

static GBytes *b64url_decode(const char *s)
{
  GString *std = g_string_new(s);
  gsize len = 0;
  guchar *data;
  for (gsize i = 0; i < std->len; i++) {
    if (std->str[i] == '-')
      std->str[i] = '+';
    else if (std->str[i] == '_')
      std->str[i] = '/';
  }
  while (std->len % 4 != 0)
    g_string_append_c(std, '=');
  data = g_base64_decode(std->str, &len);
  g_string_free(std, TRUE);
  return g_bytes_new_take(data, len);
}

static gboolean verify_rs256(EVP_PKEY *key, const char *signed_part, GBytes *sig)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  gsize sig_len = 0;
  const guchar *sig_data = g_bytes_get_data(sig, &sig_len);
  int ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
           EVP_DigestVerify(ctx, sig_data, sig_len, (const guchar *)signed_part,
                            strlen(signed_part)) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

static const GcsJwtClaims claims = {
    .issuer = "uploader@project.iam.gserviceaccount.com",
    .key_id = "0123abcd",
    .audience = "https://oauth2.googleapis.com/token",
    .scope = GCS_SCOPE_READ_WRITE,
    .issued_at = 1700000000,
    .lifetime = 3600,
};

static void test_base64url(void)
{
  static const struct {
    const char *in;
    gsize len;
    const char *out;
  } cases[] = {
      /* RFC 4648 §10 vectors, unpadded */
      {"", 0, ""},
      {"f", 1, "Zg"},
      {"fo", 2, "Zm8"},
      {"foo", 3, "Zm9v"},
      {"foob", 4, "Zm9vYg"},
      {"fooba", 5, "Zm9vYmE"},
      {"foobar", 6, "Zm9vYmFy"},
      /* the two characters base64url changes: standard "+/8=" */
      {"\xfb\xff", 2, "-_8"},
      {"\xfb\xef\xff", 3, "--__"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *s = gcs_base64url_encode((const guint8 *)cases[i].in, cases[i].len);
    g_assert_cmpstr(s, ==, cases[i].out);
  }
}

static void test_header_and_claims_json(void)
{
  g_autofree char *h = gcs_jwt_header_json(&claims);
  g_autofree char *c = gcs_jwt_claims_json(&claims);
  GcsJwtClaims nokid = claims;
  g_autofree char *h2 = NULL;
  GcsJwtClaims odd = claims;
  g_autofree char *c2 = NULL;

  g_assert_cmpstr(h, ==, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"0123abcd\"}");
  g_assert_cmpstr(c, ==,
                  "{\"iss\":\"uploader@project.iam.gserviceaccount.com\","
                  "\"scope\":\"https://www.googleapis.com/auth/devstorage.read_write\","
                  "\"aud\":\"https://oauth2.googleapis.com/token\","
                  "\"iat\":1700000000,\"exp\":1700003600}");
  nokid.key_id = NULL;
  h2 = gcs_jwt_header_json(&nokid);
  g_assert_cmpstr(h2, ==, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
  /* Values are JSON-escaped, not pasted. */
  odd.issuer = "a\"b\\c";
  c2 = gcs_jwt_claims_json(&odd);
  g_assert_nonnull(strstr(c2, "\"iss\":\"a\\\"b\\\\c\""));
}

/* The assertion's three parts decode to the header, the claims and a valid signature. */
static void check_assertion(const char *pem)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *jwt = gcs_jwt_assertion(pem, &claims, &error);
  g_auto(GStrv) parts = NULL;
  g_autofree char *signed_part = NULL;
  g_autoptr(GBytes) header = NULL, body = NULL, sig = NULL;
  g_autofree char *want_h = gcs_jwt_header_json(&claims);
  g_autofree char *want_c = gcs_jwt_claims_json(&claims);
  g_autoptr(GBytes) tampered = NULL;
  guint8 *t;
  gsize n;

  g_assert_no_error(error);
  g_assert_nonnull(jwt);
  g_assert_null(strchr(jwt, '='));
  g_assert_null(strchr(jwt, '+'));
  g_assert_null(strchr(jwt, '/'));
  parts = g_strsplit(jwt, ".", -1);
  g_assert_cmpuint(g_strv_length(parts), ==, 3);
  header = b64url_decode(parts[0]);
  body = b64url_decode(parts[1]);
  sig = b64url_decode(parts[2]);
  g_assert_cmpmem(g_bytes_get_data(header, NULL), g_bytes_get_size(header), want_h, strlen(want_h));
  g_assert_cmpmem(g_bytes_get_data(body, NULL), g_bytes_get_size(body), want_c, strlen(want_c));
  g_assert_cmpuint(g_bytes_get_size(sig), ==, 256); /* 2048-bit modulus */

  signed_part = g_strconcat(parts[0], ".", parts[1], NULL);
  g_assert_true(verify_rs256(test_key, signed_part, sig));
  /* A changed claim or signature byte must not verify. */
  g_assert_false(verify_rs256(test_key, parts[0], sig));
  t = g_bytes_unref_to_data(g_bytes_ref(sig), &n);
  t[n / 2] ^= 0x01;
  tampered = g_bytes_new_take(t, n);
  g_assert_false(verify_rs256(test_key, signed_part, tampered));
}

static void test_assertion_pkcs8(void)
{
  g_autofree char *pem = key_pem(test_key, FALSE);
  g_assert_nonnull(strstr(pem, "BEGIN PRIVATE KEY"));
  check_assertion(pem);
}

static void test_assertion_pkcs1(void)
{
  g_autofree char *pem = key_pem(test_key, TRUE);
  g_assert_nonnull(strstr(pem, "BEGIN RSA PRIVATE KEY"));
  check_assertion(pem);
}

/* RSASSA-PKCS1-v1_5 is deterministic: the same input signs the same way. */
static void test_signature_deterministic(void)
{
  g_autofree char *pem = key_pem(test_key, FALSE);
  g_autoptr(GError) error = NULL;
  g_autofree char *a = gcs_jwt_assertion(pem, &claims, &error);
  g_autofree char *b = gcs_jwt_assertion(pem, &claims, &error);
  GcsJwtClaims later = claims;
  g_autofree char *c = NULL;
  g_assert_no_error(error);
  g_assert_cmpstr(a, ==, b);
  later.issued_at++;
  c = gcs_jwt_assertion(pem, &later, &error);
  g_assert_cmpstr(a, !=, c);
}

static void test_bad_keys(void)
{
  static const char secretish[] = "-----BEGIN PRIVATE KEY-----\nTOPSECRETMATERIAL\n"
                                  "-----END PRIVATE KEY-----\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) sig = gcs_rs256_sign(secretish, (const guint8 *)"x", 1, &error);
  EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  g_autofree char *ec_pem = NULL;
  g_autofree char *enc_pem = NULL;
  BIO *bio;
  char *data;
  long len;

  g_assert_null(sig);
  g_assert_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS);
  g_assert_null(strstr(error->message, "TOPSECRET"));
  g_assert_nonnull(strstr(error->message, "private_key"));
  g_clear_error(&error);

  /* An EC key cannot make RS256. */
  g_assert_nonnull(ec);
  ec_pem = key_pem(ec, FALSE);
  EVP_PKEY_free(ec);
  sig = gcs_rs256_sign(ec_pem, (const guint8 *)"x", 1, &error);
  g_assert_null(sig);
  g_assert_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS);
  g_assert_nonnull(strstr(error->message, "RSA"));
  g_clear_error(&error);

  /* An encrypted key fails at once instead of asking for a passphrase on the terminal. */
  bio = BIO_new(BIO_s_mem());
  g_assert_cmpint(
      PEM_write_bio_PKCS8PrivateKey(bio, test_key, EVP_aes_128_cbc(), "pw", 2, NULL, NULL), ==, 1);
  len = BIO_get_mem_data(bio, &data);
  enc_pem = g_strndup(data, (gsize)len);
  BIO_free(bio);
  g_assert_nonnull(strstr(enc_pem, "ENCRYPTED PRIVATE KEY"));
  sig = gcs_rs256_sign(enc_pem, (const guint8 *)"x", 1, &error);
  g_assert_null(sig);
  g_assert_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS);
}

int main(int argc, char **argv)
{
  int rc;
  g_test_init(&argc, &argv, NULL);
  test_key = EVP_RSA_gen(2048);
  g_assert_nonnull(test_key);
  g_test_add_func("/upload-gcp/jwt/base64url", test_base64url);
  g_test_add_func("/upload-gcp/jwt/header-and-claims-json", test_header_and_claims_json);
  g_test_add_func("/upload-gcp/jwt/assertion-pkcs8", test_assertion_pkcs8);
  g_test_add_func("/upload-gcp/jwt/assertion-pkcs1", test_assertion_pkcs1);
  g_test_add_func("/upload-gcp/jwt/signature-deterministic", test_signature_deterministic);
  g_test_add_func("/upload-gcp/jwt/bad-keys", test_bad_keys);
  rc = g_test_run();
  EVP_PKEY_free(test_key);
  return rc;
}
