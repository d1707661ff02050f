/* Unit tests for rtmp/handshake: plain and digest forms, byte-at-a-time feeding, leftovers,
 * version errors. The digest checks are computed here independently, the way a client does. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rtmp/handshake.h"

#define SIG 1536

static const guint8 fp_key_text[] = "Genuine Adobe Flash Player 001";
static const guint8 fms_key_full[68] = {
    'G',  'e',  'n',  'u',  'i',  'n',  'e',  ' ',  'A',  'd',  'o',  'b',  'e',  ' ',
    'F',  'l',  'a',  's',  'h',  ' ',  'M',  'e',  'd',  'i',  'a',  ' ',  'S',  'e',
    'r',  'v',  'e',  'r',  ' ',  '0',  '0',  '1',  0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68,
    0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D,
    0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE};

/* Deterministic "random" bytes: a counter seeded by user_data. */
static void counter_random(guint8 *buf, gsize len, gpointer user_data)
{
  guint *state = user_data;
  for (gsize i = 0; i < len; i++) {
    *state = *state * 1103515245u + 12345u;
    buf[i] = (guint8)(*state >> 16);
  }
}

static void hmac(const guint8 *key, gsize key_len, const guint8 *data, gsize len, guint8 out[32])
{
  unsigned int n = 32;
  g_assert_nonnull(HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n));
  g_assert_cmpuint(n, ==, 32);
}

/* Digest position per the FP9 scheme: block at 8 (scheme 0) or 772 (scheme 1); the four bytes at
 * the block start, summed mod 728, offset the digest past them. */
static gsize digest_pos(const guint8 *p, int scheme)
{
  gsize base = scheme == 0 ? 8 : 772;
  return base + 4 + ((guint)p[base] + p[base + 1] + p[base + 2] + p[base + 3]) % 728;
}

static void digest_over(const guint8 *p, gsize pos, const guint8 *key, gsize key_len,
                        guint8 out[32])
{
  guint8 tmp[SIG - 32];
  memcpy(tmp, p, pos);
  memcpy(tmp + pos, p + pos + 32, SIG - pos - 32);
  hmac(key, key_len, tmp, sizeof tmp, out);
}

/* Builds C0+C1 as a Flash Player 9+ client would. */
static void make_digest_c0c1(guint8 out[1 + SIG], int scheme, guint seed)
{
  guint state = seed;
  out[0] = 3;
  guint8 *c1 = out + 1;
  memset(c1, 0, 4);
  c1[4] = 10, c1[5] = 0, c1[6] = 45, c1[7] = 2; /* Flash 10.0.45.2 */
  counter_random(c1 + 8, SIG - 8, &state);
  gsize pos = digest_pos(c1, scheme);
  digest_over(c1, pos, fp_key_text, 30, c1 + pos);
}

static void make_plain_c0c1(guint8 out[1 + SIG], guint seed)
{
  guint state = seed;
  out[0] = 3;
  memset(out + 1, 0, 8);
  counter_random(out + 9, SIG - 8, &state);
}

typedef struct {
  GByteArray *out;
  gsize consumed;
  gboolean ok;
} FeedResult;

static FeedResult feed_all(RtmpHandshake *hs, const guint8 *data, gsize len, gsize step,
                           GError **error)
{
  FeedResult r = {g_byte_array_new(), 0, TRUE};
  gsize pos = 0;
  while (pos < len && r.ok) {
    gsize n = MIN(step, len - pos);
    gsize used = 0;
    r.ok = rtmp_handshake_feed(hs, data + pos, n, &used, r.out, error);
    r.consumed += used;
    pos += n;
    if (rtmp_handshake_is_done(hs))
      break;
  }
  return r;
}

static void test_plain(void)
{
  guint seed = 7;
  g_autoptr(RtmpHandshake) hs = rtmp_handshake_new(counter_random, &seed);
  guint8 c0c1[1 + SIG];
  make_plain_c0c1(c0c1, 99);

  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(GError) error = NULL;
  gsize used = 0;
  g_assert_true(rtmp_handshake_feed(hs, c0c1, sizeof c0c1, &used, out, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(used, ==, sizeof c0c1);
  g_assert_cmpuint(out->len, ==, 1 + 2 * SIG);
  g_assert_cmpint(rtmp_handshake_get_mode(hs), ==, RTMP_HANDSHAKE_MODE_PLAIN);
  g_assert_cmpuint(out->data[0], ==, 3);
  /* S1: time and version zero. */
  static const guint8 zeros[8] = {0};
  g_assert_cmpmem(out->data + 1, 8, zeros, 8);
  /* S2 echoes C1. */
  g_assert_cmpmem(out->data + 1 + SIG, SIG, c0c1 + 1, SIG);
  g_assert_false(rtmp_handshake_is_done(hs));

  /* C2 plus the start of the chunk stream: only C2 is consumed. */
  guint8 c2_and_more[SIG + 5];
  memset(c2_and_more, 0xAB, sizeof c2_and_more);
  g_byte_array_set_size(out, 0);
  g_assert_true(rtmp_handshake_feed(hs, c2_and_more, sizeof c2_and_more, &used, out, &error));
  g_assert_cmpuint(used, ==, SIG);
  g_assert_cmpuint(out->len, ==, 0);
  g_assert_true(rtmp_handshake_is_done(hs));

  /* After completion nothing more is consumed. */
  g_assert_true(rtmp_handshake_feed(hs, c2_and_more, 5, &used, out, &error));
  g_assert_cmpuint(used, ==, 0);
}

/* Everything in one slice, and byte by byte: same replies, same leftover accounting. */
static void test_one_byte_at_a_time(void)
{
  guint8 all[1 + 2 * SIG + 7];
  make_plain_c0c1(all, 5);
  memset(all + 1 + SIG, 0x11, SIG);
  memcpy(all + 1 + 2 * SIG, "LEFTOVR", 7);

  guint seed_a = 1, seed_b = 1;
  g_autoptr(RtmpHandshake) a = rtmp_handshake_new(counter_random, &seed_a);
  g_autoptr(RtmpHandshake) b = rtmp_handshake_new(counter_random, &seed_b);
  g_autoptr(GError) error = NULL;

  FeedResult whole = feed_all(a, all, sizeof all, sizeof all, &error);
  g_assert_true(whole.ok);
  g_assert_cmpuint(whole.consumed, ==, 1 + 2 * SIG);

  GByteArray *out = g_byte_array_new();
  gsize consumed = 0;
  for (gsize i = 0; i < sizeof all; i++) {
    gsize used = 0;
    gsize before = out->len;
    g_assert_true(rtmp_handshake_feed(b, all + i, 1, &used, out, &error));
    consumed += used;
    /* The reply appears exactly when the last byte of C1 arrives. */
    if (i + 1 < 1 + SIG)
      g_assert_cmpuint(out->len, ==, 0);
    if (i + 1 == 1 + SIG)
      g_assert_cmpuint(out->len - before, ==, 1 + 2 * SIG);
    g_assert_cmpuint(rtmp_handshake_is_done(b), ==, i + 1 >= 1 + 2 * SIG);
    if (rtmp_handshake_is_done(b) && i + 1 > 1 + 2 * SIG)
      g_assert_cmpuint(used, ==, 0);
  }
  g_assert_cmpuint(consumed, ==, 1 + 2 * SIG);
  g_assert_cmpmem(out->data, out->len, whole.out->data, whole.out->len);
  g_byte_array_unref(out);
  g_byte_array_unref(whole.out);
}

/* Verifies S0+S1+S2 the way a validating client (ffmpeg, librtmp FP9) does. */
static void check_digest_reply(const guint8 *reply, const guint8 *c1, int scheme)
{
  g_assert_cmpuint(reply[0], ==, 3);
  const guint8 *s1 = reply + 1;
  const guint8 *s2 = reply + 1 + SIG;

  /* S1 announces a server version (first byte >= 3 for ffmpeg) and carries the FMS digest. */
  g_assert_cmpuint(s1[4], >=, 3);
  gsize pos = digest_pos(s1, scheme);
  guint8 expect[32];
  digest_over(s1, pos, fms_key_full, 36, expect);
  g_assert_cmpmem(s1 + pos, 32, expect, 32);

  /* The other scheme's position must not also validate (that would be a coincidence). */
  gsize other = digest_pos(s1, 1 - scheme);
  guint8 wrong[32];
  digest_over(s1, other, fms_key_full, 36, wrong);
  g_assert_true(memcmp(s1 + other, wrong, 32) != 0);

  /* S2's last 32 bytes: HMAC(S2[0..1504), HMAC(client digest, full FMS key)). */
  gsize cpos = digest_pos(c1, scheme);
  guint8 key[32], sig[32];
  hmac(fms_key_full, sizeof fms_key_full, c1 + cpos, 32, key);
  hmac(key, 32, s2, SIG - 32, sig);
  g_assert_cmpmem(s2 + SIG - 32, 32, sig, 32);
}

static void run_digest(int scheme, gsize step)
{
  guint8 input[1 + 2 * SIG + 3];
  make_digest_c0c1(input, scheme, 42 + scheme);
  memset(input + 1 + SIG, 0x22, SIG);
  memcpy(input + 1 + 2 * SIG, "abc", 3);

  guint seed = 3;
  g_autoptr(RtmpHandshake) hs = rtmp_handshake_new(counter_random, &seed);
  g_autoptr(GError) error = NULL;
  FeedResult r = feed_all(hs, input, sizeof input, step, &error);
  g_assert_no_error(error);
  g_assert_true(r.ok);
  g_assert_true(rtmp_handshake_is_done(hs));
  g_assert_cmpuint(r.consumed, ==, 1 + 2 * SIG);
  g_assert_cmpint(rtmp_handshake_get_mode(hs), ==,
                  scheme == 0 ? RTMP_HANDSHAKE_MODE_DIGEST_SCHEME0
                              : RTMP_HANDSHAKE_MODE_DIGEST_SCHEME1);
  g_assert_cmpuint(r.out->len, ==, 1 + 2 * SIG);
  check_digest_reply(r.out->data, input + 1, scheme);
  g_byte_array_unref(r.out);
}

static void test_digest_scheme0(void)
{
  run_digest(0, 1 + 2 * SIG + 3);
  run_digest(0, 1);
}

static void test_digest_scheme1(void)
{
  run_digest(1, 1 + 2 * SIG + 3);
  run_digest(1, 7);
}

/* Many seeds so the digest lands at many offsets, including the block edges. */
static void test_digest_many_offsets(void)
{
  for (guint seed = 0; seed < 64; seed++) {
    for (int scheme = 0; scheme < 2; scheme++) {
      guint8 c0c1[1 + SIG];
      make_digest_c0c1(c0c1, scheme, seed * 977);
      guint rs = seed;
      g_autoptr(RtmpHandshake) hs = rtmp_handshake_new(counter_random, &rs);
      g_autoptr(GByteArray) out = g_byte_array_new();
      gsize used;
      g_assert_true(rtmp_handshake_feed(hs, c0c1, sizeof c0c1, &used, out, NULL));
      g_assert_cmpint(rtmp_handshake_get_mode(hs), ==,
                      scheme == 0 ? RTMP_HANDSHAKE_MODE_DIGEST_SCHEME0
                                  : RTMP_HANDSHAKE_MODE_DIGEST_SCHEME1);
      check_digest_reply(out->data, c0c1 + 1, scheme);
    }
  }
}

/* A non-zero version with a digest that does not validate gets the plain answer. */
static void test_digest_invalid_falls_back(void)
{
  guint8 c0c1[1 + SIG];
  make_digest_c0c1(c0c1, 0, 11);
  gsize pos = digest_pos(c0c1 + 1, 0);
  c0c1[1 + pos] ^= 0x01;
  guint seed = 1;
  g_autoptr(RtmpHandshake) hs = rtmp_handshake_new(counter_random, &seed);
  g_autoptr(GByteArray) out = g_byte_array_new();
  gsize used;
  g_assert_true(rtmp_handshake_feed(hs, c0c1, sizeof c0c1, &used, out, NULL));
  g_assert_cmpint(rtmp_handshake_get_mode(hs), ==, RTMP_HANDSHAKE_MODE_PLAIN);
  static const guint8 zeros[4] = {0};
  g_assert_cmpmem(out->data + 1 + 4, 4, zeros, 4);
  g_assert_cmpmem(out->data + 1 + SIG, SIG, c0c1 + 1, SIG);
}

static void test_deterministic(void)
{
  guint8 c0c1[1 + SIG];
  make_digest_c0c1(c0c1, 1, 8);
  guint sa = 77, sb = 77, sc = 78;
  g_autoptr(RtmpHandshake) a = rtmp_handshake_new(counter_random, &sa);
  g_autoptr(RtmpHandshake) b = rtmp_handshake_new(counter_random, &sb);
  g_autoptr(RtmpHandshake) c = rtmp_handshake_new(counter_random, &sc);
  g_autoptr(GByteArray) oa = g_byte_array_new();
  g_autoptr(GByteArray) ob = g_byte_array_new();
  g_autoptr(GByteArray) oc = g_byte_array_new();
  gsize used;
  g_assert_true(rtmp_handshake_feed(a, c0c1, sizeof c0c1, &used, oa, NULL));
  g_assert_true(rtmp_handshake_feed(b, c0c1, sizeof c0c1, &used, ob, NULL));
  g_assert_true(rtmp_handshake_feed(c, c0c1, sizeof c0c1, &used, oc, NULL));
  g_assert_cmpmem(oa->data, oa->len, ob->data, ob->len);
  g_assert_true(memcmp(oa->data, oc->data, oa->len) != 0);

  /* The default random source works too. */
  g_autoptr(RtmpHandshake) d = rtmp_handshake_new(NULL, NULL);
  g_autoptr(GByteArray) od = g_byte_array_new();
  g_assert_true(rtmp_handshake_feed(d, c0c1, sizeof c0c1, &used, od, NULL));
  check_digest_reply(od->data, c0c1 + 1, 1);
}

static void expect_version_error(guint8 version, gint code, const gchar *fragment)
{
  g_autoptr(RtmpHandshake) hs = rtmp_handshake_new(NULL, NULL);
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(GError) error = NULL;
  gsize used = 99;
  g_assert_false(rtmp_handshake_feed(hs, &version, 1, &used, out, &error));
  g_assert_error(error, RTMP_ERROR, code);
  g_assert_nonnull(strstr(error->message, fragment));
  g_assert_cmpuint(out->len, ==, 0);
  g_clear_error(&error);
  /* Failure is final. */
  g_assert_false(rtmp_handshake_feed(hs, (const guint8 *)"\x03", 1, &used, out, &error));
  g_assert_error(error, RTMP_ERROR, RTMP_ERROR_HANDSHAKE);
}

static void test_bad_versions(void)
{
  expect_version_error(6, RTMP_ERROR_UNSUPPORTED, "RTMPE");
  expect_version_error(0x16, RTMP_ERROR_HANDSHAKE, "TLS");
  expect_version_error('G', RTMP_ERROR_HANDSHAKE, "HTTP");
  expect_version_error(0, RTMP_ERROR_HANDSHAKE, "version 0");
  expect_version_error(0xFF, RTMP_ERROR_HANDSHAKE, "version 255");
}

static void test_empty_feed(void)
{
  g_autoptr(RtmpHandshake) hs = rtmp_handshake_new(NULL, NULL);
  g_autoptr(GByteArray) out = g_byte_array_new();
  gsize used = 5;
  g_assert_true(rtmp_handshake_feed(hs, NULL, 0, &used, out, NULL));
  g_assert_cmpuint(used, ==, 0);
  g_assert_cmpint(rtmp_handshake_get_mode(hs), ==, RTMP_HANDSHAKE_MODE_UNKNOWN);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/rtmp/handshake/plain", test_plain);
  g_test_add_func("/rtmp/handshake/one-byte-at-a-time", test_one_byte_at_a_time);
  g_test_add_func("/rtmp/handshake/digest-scheme0", test_digest_scheme0);
  g_test_add_func("/rtmp/handshake/digest-scheme1", test_digest_scheme1);
  g_test_add_func("/rtmp/handshake/digest-many-offsets", test_digest_many_offsets);
  g_test_add_func("/rtmp/handshake/digest-invalid-falls-back", test_digest_invalid_falls_back);
  g_test_add_func("/rtmp/handshake/deterministic", test_deterministic);
  g_test_add_func("/rtmp/handshake/bad-versions", test_bad_versions);
  g_test_add_func("/rtmp/handshake/empty-feed", test_empty_feed);
  return g_test_run();
}
