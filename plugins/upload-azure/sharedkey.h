/* upload-azure — Azure Storage SharedKey authorization, without I/O.
 *
 * Why hand-written: the Blob service's SharedKey scheme (an HMAC-SHA256 over a canonical form of
 * the request, keyed with the base64-decoded account key) is implemented only inside Microsoft's
 * SDKs, none of which is a C library; neither libsoup, OpenSSL nor curl knows it (curl signs AWS
 * SigV4, not this). So the canonicalisation lives here, small and pure, and the unit tests hold it
 * to strings-to-sign that Azurite computed for the same requests. OpenSSL provides the HMAC.
 *
 * The string to sign (Blob service, versions 2009-09-19 and later):
 *   VERB \n Content-Encoding \n Content-Language \n Content-Length (empty when 0) \n
 *   Content-MD5 \n Content-Type \n Date (empty: x-ms-date is used) \n If-Modified-Since \n
 *   If-Match \n If-None-Match \n If-Unmodified-Since \n Range \n
 *   CanonicalizedHeaders CanonicalizedResource
 * CanonicalizedHeaders: every x-ms-* header, name lowercased, sorted by name, "name:value\n" with
 * the value trimmed and unfolded. CanonicalizedResource: "/" + account + the URL path exactly as
 * sent (still percent-encoded), then for each query parameter sorted by lowercased name,
 * "\n" + name + ":" + its decoded value(s), comma-joined. '+' in a query value is a plus, never a
 * space.
 *
 * Ownership: returned strings and GBytes are transfer full. The decoded key lives in a GBytes
 * whose memory is wiped when its last reference goes.
 * Threading: every function is pure and reentrant.
 */
#ifndef AZ_SHAREDKEY_H
#define AZ_SHAREDKEY_H

#include <glib.h>

#include "request.h"

G_BEGIN_DECLS

/* Decodes an account key given in base64. Fails (AZ_ERROR_CONFIG) on anything that is not
 * canonical base64 of a non-empty key; the message never repeats the key. */
GBytes *az_sharedkey_decode_key(const char *key_base64, GError **error);

/* The string to sign for `req`, which must carry x-ms-date and x-ms-version already. */
char *az_sharedkey_string_to_sign(const AzRequest *req, const char *account);

/* Base64(HMAC-SHA256(key, string_to_sign)). */
char *az_sharedkey_signature(GBytes *key, const char *string_to_sign);

/* Sets x-ms-date to `now` and Authorization to "SharedKey <account>:<signature>" over the rest of
 * the request. Called again before every attempt, so a retry carries a fresh date. */
void az_sharedkey_authorize(AzRequest *req, const char *account, GBytes *key, GDateTime *now);

G_END_DECLS

#endif /* AZ_SHAREDKEY_H */
