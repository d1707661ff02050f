/* upload-gcp: JWT assertion and RS256. See gcs-jwt.h. */
#include "gcs-jwt.h"

#include "gcs-error.h"

#include <json-glib/json-glib.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

char *gcs_base64url_encode(const guint8 *data, gsize len)
{
  char *s = g_base64_encode(data, len);
  gsize n = strlen(s);
  for (gsize i = 0; i < n; i++) {
    if (s[i] == '+')
      s[i] = '-';
    else if (s[i] == '/')
      s[i] = '_';
  }
  while (n > 0 && s[n - 1] == '=')
    s[--n] = '\0';
  return s;
}

static char *builder_to_json(JsonBuilder *b)
{
  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  return json_generator_to_data(gen, NULL);
}

char *gcs_jwt_header_json(const GcsJwtClaims *claims)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "alg");
  json_builder_add_string_value(b, "RS256");
  json_builder_set_member_name(b, "typ");
  json_builder_add_string_value(b, "JWT");
  if (claims->key_id != NULL && *claims->key_id != '\0') {
    json_builder_set_member_name(b, "kid");
    json_builder_add_string_value(b, claims->key_id);
  }
  json_builder_end_object(b);
  return builder_to_json(b);
}

char *gcs_jwt_claims_json(const GcsJwtClaims *claims)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "iss");
  json_builder_add_string_value(b, claims->issuer);
  json_builder_set_member_name(b, "scope");
  json_builder_add_string_value(b, claims->scope);
  json_builder_set_member_name(b, "aud");
  json_builder_add_string_value(b, claims->audience);
  json_builder_set_member_name(b, "iat");
  json_builder_add_int_value(b, claims->issued_at);
  json_builder_set_member_name(b, "exp");
  json_builder_add_int_value(b, claims->issued_at + claims->lifetime);
  json_builder_end_object(b);
  return builder_to_json(b);
}

/* OpenSSL's reason for the last failure, without anything from the key itself. */
static const char *ssl_reason(void)
{
  unsigned long e = ERR_peek_last_error();
  const char *r = e ? ERR_reason_error_string(e) : NULL;
  return r ? r : "unknown reason";
}

/* Service-account keys are never encrypted; an encrypted one must fail rather than make OpenSSL
 * ask for a passphrase on the terminal (its default when no callback is given). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
  return 0;
}

GBytes *gcs_rs256_sign(const char *private_key_pem, const guint8 *data, gsize len, GError **error)
{
  BIO *bio = NULL;
  EVP_PKEY *key = NULL;
  EVP_MD_CTX *ctx = NULL;
  guint8 *sig = NULL;
  size_t sig_len = 0;
  GBytes *out = NULL;

  ERR_clear_error();
  bio = BIO_new_mem_buf(private_key_pem, -1);
  if (bio != NULL)
    key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
  if (key == NULL) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS,
                "the service account's private_key is not a readable PEM private key (%s)",
                ssl_reason());
    goto out;
  }
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS,
                "the service account's private_key is not an RSA key (RS256 needs one)");
    goto out;
  }
  ctx = EVP_MD_CTX_new();
  if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
      EVP_DigestSign(ctx, NULL, &sig_len, data, len) != 1) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS, "RS256 signing failed (%s)", ssl_reason());
    goto out;
  }
  sig = g_malloc(sig_len);
  if (EVP_DigestSign(ctx, sig, &sig_len, data, len) != 1) {
    g_set_error(error, GCS_ERROR, GCS_ERROR_CREDENTIALS, "RS256 signing failed (%s)", ssl_reason());
    g_clear_pointer(&sig, g_free);
    goto out;
  }
  out = g_bytes_new_take(g_steal_pointer(&sig), sig_len);

out:
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  BIO_free(bio);
  ERR_clear_error();
  return out;
}

char *gcs_jwt_assertion(const char *private_key_pem, const GcsJwtClaims *claims, GError **error)
{
  g_autofree char *header = gcs_jwt_header_json(claims);
  g_autofree char *body = gcs_jwt_claims_json(claims);
  g_autofree char *h64 = gcs_base64url_encode((const guint8 *)header, strlen(header));
  g_autofree char *c64 = gcs_base64url_encode((const guint8 *)body, strlen(body));
  g_autofree char *signing_input = g_strconcat(h64, ".", c64, NULL);
  g_autoptr(GBytes) sig =
      gcs_rs256_sign(private_key_pem, (const guint8 *)signing_input, strlen(signing_input), error);
  g_autofree char *s64 = NULL;
  gsize sig_len = 0;
  const guint8 *sig_data;
  if (sig == NULL)
    return NULL;
  sig_data = g_bytes_get_data(sig, &sig_len);
  s64 = gcs_base64url_encode(sig_data, sig_len);
  return g_strconcat(signing_input, ".", s64, NULL);
}
