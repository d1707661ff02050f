/*
 * rtmp/handshake.h - the server side of the RTMP handshake, as a state machine fed with bytes.
 *
 * The client sends C0 (one version byte), C1 (1536 bytes) and, once it has S1, C2 (1536 bytes).
 * After C0+C1 the machine appends S0+S1+S2 (3073 bytes) to the output array; after C2 it is done.
 * Bytes that follow C2 in the same feed are the start of the chunk stream: the machine does not
 * consume them and reports how many bytes it did use, so the caller passes the rest on.
 *
 * Two forms are answered:
 *  - plain (RTMP spec): S1 carries a zero version field and random bytes, S2 echoes C1;
 *  - digest (Flash Player 9+ form sent by Flash, librtmp/OBS in some modes, ffmpeg): C1 carries a
 *    non-zero version and an HMAC-SHA256 digest keyed with "Genuine Adobe Flash Player 001" at a
 *    position given by offset scheme 0 (digest block at byte 8) or scheme 1 (block at byte 772).
 *    S1 then carries a digest keyed with "Genuine Adobe Flash Media Server 001" placed by the same
 *    scheme, and the last 32 bytes of S2 are HMAC-SHA256 over the rest of S2 keyed with
 *    HMAC-SHA256(client digest, full 68-byte FMS key). Clients that verify the server (ffmpeg when
 *    playing, librtmp in FP9 mode) accept this.
 * A C1 whose digest does not validate in either scheme gets the plain answer. C2 is not checked
 * (clients disagree on what they put in it). C0 must be 3; 6 (RTMPE) is refused as unsupported.
 *
 * Randomness comes from the caller's RtmpRandomFunc so that tests are deterministic; NULL selects
 * OpenSSL's RAND_bytes. The handshake bytes carry no secret, so their quality matters little.
 *
 * Ownership: rtmp_handshake_new() returns (transfer full); free with rtmp_handshake_free() or
 * g_autoptr(RtmpHandshake). Input buffers are borrowed (transfer none) for the call only; output
 * is appended to the caller's GByteArray.
 * Thread-safety: none; one connection's handshake is driven by one thread at a time.
 */
#pragma once

#include <glib.h>

#include "rtmp/error.h"

G_BEGIN_DECLS

#define RTMP_HANDSHAKE_VERSION 3
#define RTMP_HANDSHAKE_SIZE    1536

/* Fills buf with len random bytes. */
typedef void (*RtmpRandomFunc)(guint8 *buf, gsize len, gpointer user_data);

typedef enum {
  RTMP_HANDSHAKE_MODE_UNKNOWN, /* C1 not received yet */
  RTMP_HANDSHAKE_MODE_PLAIN,
  RTMP_HANDSHAKE_MODE_DIGEST_SCHEME0, /* client digest block at offset 8 */
  RTMP_HANDSHAKE_MODE_DIGEST_SCHEME1, /* client digest block at offset 772 */
} RtmpHandshakeMode;

typedef struct _RtmpHandshake RtmpHandshake;

/* random_func may be NULL (OpenSSL RAND_bytes); random_data is passed to it, (transfer none). */
RtmpHandshake *rtmp_handshake_new(RtmpRandomFunc random_func, gpointer random_data);
void rtmp_handshake_free(RtmpHandshake *hs);

/* Consumes bytes of data up to the end of C2 at most and sets *consumed to how many it used (all
 * of len unless the handshake completed inside this slice). Appends S0+S1+S2 to out once C0+C1
 * are in. Returns FALSE with error set on a bad version byte or when fed after a failure; the
 * connection must then be closed. Feeding after completion consumes nothing and returns TRUE. */
gboolean rtmp_handshake_feed(RtmpHandshake *hs, const guint8 *data, gsize len, gsize *consumed,
                             GByteArray *out, GError **error);

/* TRUE once C2 has been received in full. */
gboolean rtmp_handshake_is_done(const RtmpHandshake *hs);

/* Which form the answer took (RTMP_HANDSHAKE_MODE_UNKNOWN until C1 is in). */
RtmpHandshakeMode rtmp_handshake_get_mode(const RtmpHandshake *hs);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(RtmpHandshake, rtmp_handshake_free)

G_END_DECLS
