/* upload-gcp: the signed JWT a service account exchanges for an access token (no I/O,
 * unit-tested).
 *
 * Google's OAuth 2.0 service-account flow (RFC 7523, "jwt-bearer"): the client signs
 *   header  {"alg":"RS256","typ":"JWT","kid":<private_key_id>}
 *   claims  {"iss":<client_email>,"scope":<scopes>,"aud":<token_uri>,"iat":<now>,"exp":<now+3600>}
 * each as base64url without padding, joined by '.', and appends the base64url RS256 signature
 * (RSASSA-PKCS1-v1_5 over SHA-256) of "header.claims" made with the account's private key.
 *
 * Hand-written on OpenSSL: none of sluice's dependencies builds JWTs, and this one shape with
 * one algorithm is shorter than adapting a general JWT library.
 *
 * Ownership: returned strings are transfer full (g_free); arguments are transfer none. The
 * private key text is never copied into an error message. Any thread (OpenSSL 3 is thread-safe
 * for these calls).
 */
#ifndef GCS_JWT_H
#define GCS_JWT_H

#include <glib.h>

G_BEGIN_DECLS

/* The scope sluice asks for: create and overwrite objects. */
#define GCS_SCOPE_READ_WRITE "https://www.googleapis.com/auth/devstorage.read_write"

/* The most Google accepts between iat and exp. */
#define GCS_JWT_MAX_LIFETIME 3600

typedef struct {
  const char *issuer;   /* client_email */
  const char *key_id;   /* private_key_id, or NULL to leave "kid" out */
  const char *audience; /* token_uri */
  const char *scope;    /* space-separated scopes */
  gint64 issued_at;     /* seconds since the epoch */
  gint64 lifetime;      /* seconds, 1..GCS_JWT_MAX_LIFETIME */
} GcsJwtClaims;

/* RFC 4648 §5 base64url of `len` bytes, without '=' padding. */
char *gcs_base64url_encode(const guint8 *data, gsize len);

/* The compact JSON texts of the header and the claims (keys in the order shown above). */
char *gcs_jwt_header_json(const GcsJwtClaims *claims);
char *gcs_jwt_claims_json(const GcsJwtClaims *claims);

/* RS256 signature of `len` bytes with the PEM private key (PKCS#8 "BEGIN PRIVATE KEY", as
 * service-account files carry, or PKCS#1 "BEGIN RSA PRIVATE KEY"). Transfer full. NULL with
 * `error` (GCS_ERROR_CREDENTIALS) when the key cannot be read or is not RSA. */
GBytes *gcs_rs256_sign(const char *private_key_pem, const guint8 *data, gsize len, GError **error);

/* The whole assertion "header.claims.signature". NULL with `error` as gcs_rs256_sign(). */
char *gcs_jwt_assertion(const char *private_key_pem, const GcsJwtClaims *claims, GError **error);

G_END_DECLS

#endif /* GCS_JWT_H */
