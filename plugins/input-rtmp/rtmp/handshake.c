/* rtmp/handshake.c - server handshake state machine; see handshake.h for the contract. */
#include "rtmp/handshake.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define DIGEST_LEN 32
/* The digest block's 4 offset bytes are summed modulo this to place the digest inside the
 * 764-byte block (764 - 4 offset bytes - 32 digest bytes). */
#define DIGEST_SPAN 728

/* The 32 constant bytes that follow the text in both Adobe keys. */
#define ADOBE_KEY_TAIL                                                                             \
  0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,  \
      0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31,    \
      0xAE

/* "Genuine Adobe Flash Player 001"; clients sign C1 with its first 30 bytes (the text). */
static const guint8 flash_player_key_text[30] = "Genuine Adobe Flash Player 001";

/* "Genuine Adobe Flash Media Server 001" + tail: S1 is signed with the 36-byte text, the S2
 * key is derived with all 68 bytes. */
static const guint8 fms_key[68] = {'G', 'e', 'n', 'u', 'i', 'n', 'e',           ' ', 'A', 'd',
                                   'o', 'b', 'e', ' ', 'F', 'l', 'a',           's', 'h', ' ',
                                   'M', 'e', 'd', 'i', 'a', ' ', 'S',           'e', 'r', 'v',
                                   'e', 'r', ' ', '0', '0', '1', ADOBE_KEY_TAIL};
#define FMS_KEY_TEXT_LEN 36

/* Version field we advertise in a digest-form S1. Clients only look at whether it is non-zero
 * (ffmpeg additionally wants the first byte >= 3 before it checks our digest). */
static const guint8 server_version[4] = {0x05, 0x00, 0x0F, 0x01};

typedef enum {
  STATE_C0C1,
  STATE_C2,
  STATE_DONE,
  STATE_FAILED,
} State;

struct _RtmpHandshake {
  State state;
  RtmpHandshakeMode mode;
  RtmpRandomFunc random_func;
  gpointer random_data;
  guint8 c0c1[1 + RTMP_HANDSHAKE_SIZE];
  gsize c0c1_len;
  gsize c2_len;
};

static void default_random(guint8 *buf, gsize len, gpointer user_data)
{
  (void)user_data;
  if (len <= G_MAXINT && RAND_bytes(buf, (int)len) == 1)
    return;
  for (gsize i = 0; i < len; i++)
    buf[i] = (guint8)g_random_int();
}

RtmpHandshake *rtmp_handshake_new(RtmpRandomFunc random_func, gpointer random_data)
{
  RtmpHandshake *hs = g_new0(RtmpHandshake, 1);
  hs->state = STATE_C0C1;
  hs->mode = RTMP_HANDSHAKE_MODE_UNKNOWN;
  hs->random_func = random_func != NULL ? random_func : default_random;
  hs->random_data = random_func != NULL ? random_data : NULL;
  return hs;
}

void rtmp_handshake_free(RtmpHandshake *hs)
{
  g_free(hs);
}

gboolean rtmp_handshake_is_done(const RtmpHandshake *hs)
{
  g_return_val_if_fail(hs != NULL, FALSE);
  return hs->state == STATE_DONE;
}

RtmpHandshakeMode rtmp_handshake_get_mode(const RtmpHandshake *hs)
{
  g_return_val_if_fail(hs != NULL, RTMP_HANDSHAKE_MODE_UNKNOWN);
  return hs->mode;
}

static void hmac_sha256(const guint8 *key, gsize key_len, const guint8 *data, gsize data_len,
                        guint8 out[DIGEST_LEN])
{
  unsigned int out_len = DIGEST_LEN;
  if (HMAC(EVP_sha256(), key, (int)key_len, data, data_len, out, &out_len) == NULL)
    memset(out, 0, DIGEST_LEN); /* cannot match any real digest, so validation fails closed */
}

/* Where the 32-byte digest sits in a 1536-byte packet for the given scheme: the four bytes at
 * the start of the digest block, summed, pick a position inside the rest of the block. */
static gsize digest_offset(const guint8 *packet, int scheme)
{
  gsize block = scheme == 0 ? 8 : 772;
  guint sum = (guint)packet[block] + packet[block + 1] + packet[block + 2] + packet[block + 3];
  return block + 4 + sum % DIGEST_SPAN;
}

/* HMAC-SHA256 over the packet with the digest's own 32 bytes left out. */
static void packet_digest(const guint8 *packet, gsize offset, const guint8 *key, gsize key_len,
                          guint8 out[DIGEST_LEN])
{
  guint8 joined[RTMP_HANDSHAKE_SIZE - DIGEST_LEN];
  memcpy(joined, packet, offset);
  memcpy(joined + offset, packet + offset + DIGEST_LEN, RTMP_HANDSHAKE_SIZE - offset - DIGEST_LEN);
  hmac_sha256(key, key_len, joined, sizeof joined, out);
}

static gboolean digest_valid(const guint8 *c1, int scheme, gsize *offset)
{
  guint8 expected[DIGEST_LEN];
  *offset = digest_offset(c1, scheme);
  packet_digest(c1, *offset, flash_player_key_text, sizeof flash_player_key_text, expected);
  return CRYPTO_memcmp(expected, c1 + *offset, DIGEST_LEN) == 0;
}

/* Builds S0+S1+S2 once C0+C1 are complete, choosing the digest form when C1 carries a digest
 * that validates and the plain form otherwise. */
static void build_reply(RtmpHandshake *hs, GByteArray *out)
{
  const guint8 *c1 = hs->c0c1 + 1;
  guint8 s1[RTMP_HANDSHAKE_SIZE];
  guint8 s2[RTMP_HANDSHAKE_SIZE];
  gsize client_offset = 0;
  int scheme = -1;

  /* A zero version field announces the plain handshake; only then is there nothing to check. */
  if (c1[4] != 0 || c1[5] != 0 || c1[6] != 0 || c1[7] != 0) {
    if (digest_valid(c1, 0, &client_offset))
      scheme = 0;
    else if (digest_valid(c1, 1, &client_offset))
      scheme = 1;
  }

  memset(s1, 0, 8); /* time 0; version 0 unless digest */
  hs->random_func(s1 + 8, RTMP_HANDSHAKE_SIZE - 8, hs->random_data);

  if (scheme < 0) {
    hs->mode = RTMP_HANDSHAKE_MODE_PLAIN;
    memcpy(s2, c1, RTMP_HANDSHAKE_SIZE);
  } else {
    hs->mode =
        scheme == 0 ? RTMP_HANDSHAKE_MODE_DIGEST_SCHEME0 : RTMP_HANDSHAKE_MODE_DIGEST_SCHEME1;
    memcpy(s1 + 4, server_version, sizeof server_version);
    gsize server_offset = digest_offset(s1, scheme);
    packet_digest(s1, server_offset, fms_key, FMS_KEY_TEXT_LEN, s1 + server_offset);

    guint8 s2_key[DIGEST_LEN];
    hmac_sha256(fms_key, sizeof fms_key, c1 + client_offset, DIGEST_LEN, s2_key);
    hs->random_func(s2, RTMP_HANDSHAKE_SIZE - DIGEST_LEN, hs->random_data);
    hmac_sha256(s2_key, sizeof s2_key, s2, RTMP_HANDSHAKE_SIZE - DIGEST_LEN,
                s2 + RTMP_HANDSHAKE_SIZE - DIGEST_LEN);
  }

  guint8 s0 = RTMP_HANDSHAKE_VERSION;
  g_byte_array_append(out, &s0, 1);
  g_byte_array_append(out, s1, sizeof s1);
  g_byte_array_append(out, s2, sizeof s2);
}

static gboolean check_version(RtmpHandshake *hs, guint8 version, GError **error)
{
  if (version == RTMP_HANDSHAKE_VERSION)
    return TRUE;
  hs->state = STATE_FAILED;
  if (version == 6 || version == 8 || version == 9)
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_UNSUPPORTED,
                "handshake: encrypted RTMP (RTMPE, version %u) is not supported", version);
  else if (version == 0x16)
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_HANDSHAKE,
                "handshake: client sent a TLS record (0x16); RTMPS is not served on this port");
  else if (version == 'G' || version == 'P')
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_HANDSHAKE,
                "handshake: client sent what looks like HTTP; RTMPT is not supported");
  else
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_HANDSHAKE,
                "handshake: unsupported RTMP version %u (expected 3)", version);
  return FALSE;
}

gboolean rtmp_handshake_feed(RtmpHandshake *hs, const guint8 *data, gsize len, gsize *consumed,
                             GByteArray *out, GError **error)
{
  g_return_val_if_fail(hs != NULL && consumed != NULL && out != NULL, FALSE);
  g_return_val_if_fail(data != NULL || len == 0, FALSE);
  gsize pos = 0;
  *consumed = 0;

  if (hs->state == STATE_FAILED) {
    g_set_error(error, RTMP_ERROR, RTMP_ERROR_HANDSHAKE, "handshake: fed after a failure");
    return FALSE;
  }

  if (hs->state == STATE_C0C1 && pos < len) {
    /* Judge C0 on its first byte so a TLS or HTTP client is told off without waiting for 1537
     * bytes that will never come. */
    if (hs->c0c1_len == 0 && !check_version(hs, data[0], error))
      return FALSE;
    gsize take = MIN(len - pos, sizeof hs->c0c1 - hs->c0c1_len);
    memcpy(hs->c0c1 + hs->c0c1_len, data + pos, take);
    hs->c0c1_len += take;
    pos += take;
    if (hs->c0c1_len == sizeof hs->c0c1) {
      build_reply(hs, out);
      hs->state = STATE_C2;
    }
  }

  if (hs->state == STATE_C2 && pos < len) {
    gsize take = MIN(len - pos, RTMP_HANDSHAKE_SIZE - hs->c2_len);
    hs->c2_len += take;
    pos += take;
    if (hs->c2_len == RTMP_HANDSHAKE_SIZE)
      hs->state = STATE_DONE;
  }

  *consumed = pos;
  return TRUE;
}
