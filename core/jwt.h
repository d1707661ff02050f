/* LiveKit-compatible access tokens: HS256 JWTs keyed by API key and secret.
 *
 * A LiveKit token is a JWT signed with HMAC-SHA256 using the API secret; its `iss` claim is the
 * API key that names the secret, `exp` bounds it, `nbf` may delay it, and the grants sit under
 * `video` (`{"video":{"ingressAdmin":true}}`). Webhook requests carry one more claim, `sha256`:
 * the standard base64 of the SHA-256 of the body.
 *
 * Verification refuses every algorithm but HS256 (so `alg: none` and key-confusion tricks fail
 * early), compares signatures in constant time, requires `exp`, honours `nbf`, allows
 * SL_JWT_LEEWAY_S of clock skew, and refuses tokens longer than SL_JWT_MAX_TOKEN_LEN. Its error
 * messages never quote the token.
 *
 * Ownership: results are transfer full; arguments are borrowed. Threading: pure functions, any
 * thread; the lookup callback runs on the caller's thread, within the call.
 */
#ifndef SL_JWT_H
#define SL_JWT_H

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define SL_JWT_ERROR (sl_jwt_error_quark())
GQuark sl_jwt_error_quark(void);

typedef enum {
  SL_JWT_ERROR_UNAUTHENTICATED,   /* malformed, badly signed, expired, unknown API key */
  SL_JWT_ERROR_PERMISSION_DENIED, /* valid token without the grant a call needs */
  SL_JWT_ERROR_INVALID,           /* sl_jwt_sign() given something it cannot sign */
} SlJwtError;

#define SL_JWT_MAX_TOKEN_LEN 8192
#define SL_JWT_LEEWAY_S      10
/* Lifetime sl_jwt_sign() gives a token whose claims set no `exp`. */
#define SL_JWT_DEFAULT_TTL_S 600

/* The secret for `api_key` (borrowed; it need only stay valid until the call returns), or NULL
 * when the key is unknown. */
typedef const char *(*SlJwtKeyLookup)(const char *api_key, gpointer user_data);

/* Checks `token` at time `now_s` (Unix seconds) and, on success, returns TRUE and its claims in
 * `out_claims` (transfer full; may be NULL when the caller only wants the verdict). Every failure
 * is SL_JWT_ERROR_UNAUTHENTICATED. */
gboolean sl_jwt_verify(const char *token, SlJwtKeyLookup lookup, gpointer user_data, gint64 now_s,
                       JsonObject **out_claims, GError **error);

/* An HS256 token carrying `claims` (borrowed, not modified) with `iss` set to `api_key`. When the
 * claims set no `exp`, the token gets nbf = now and exp = now + SL_JWT_DEFAULT_TTL_S. */
char *sl_jwt_sign(JsonObject *claims, const char *api_key, const char *secret, GError **error);

/* Standard (padded) base64 of SHA-256(data): the `sha256` claim of a LiveKit webhook. */
char *sl_jwt_sha256_b64(const void *data, gsize len);

/* TRUE when claims.video.<grant> is `true` ("ingressAdmin", "roomRecord", ...). */
gboolean sl_jwt_has_video_grant(JsonObject *claims, const char *grant);

/* Like sl_jwt_has_video_grant(), failing with SL_JWT_ERROR_PERMISSION_DENIED. */
gboolean sl_jwt_require_video_grant(JsonObject *claims, const char *grant, GError **error);

/* Unpadded URL-safe base64 (RFC 7515 §2) of `len` bytes (transfer full). */
char *sl_jwt_base64url_encode(const void *data, gsize len);

/* Strict inverse of sl_jwt_base64url_encode(): no padding, no other alphabet, no stray bits.
 * NULL when `text` is not such an encoding. */
GBytes *sl_jwt_base64url_decode(const char *text, gsize len);

G_END_DECLS

#endif /* SL_JWT_H */
