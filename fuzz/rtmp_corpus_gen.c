/*
 * Writes the seed corpora for fuzz/rtmp_server_fuzzer.c and fuzz/amf0_fuzzer.c.
 *
 * Usage: rtmp_corpus_gen OUTDIR   (writes .bin files into OUTDIR/rtmp_server and OUTDIR/amf0)
 *
 * The seeds are built with the engine's own chunk writer and AMF0 encoder plus hand-made chunk
 * headers for the formats the writer never emits, so that they stay valid as the code changes:
 * a full plain-handshake publish session, a digest-handshake session (C1 signed as a Flash
 * Player 9 client signs it), a session exercising chunk-level features (type 1/2/3 headers,
 * extended timestamps, 3-byte chunk stream ids, chunk size change, abort, ping), and individual
 * AMF0 values. The committed files under fuzz/corpus/ are this program's output.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rtmp/amf0.h"
#include "rtmp/chunk.h"

#define SIG 1536

typedef struct {
  GByteArray *wire;
  guint32 chunk_size;
} Session;

static void send_msg(Session *s, guint32 csid, guint8 type, guint32 msid, guint32 ts,
                     const guint8 *data, gsize len)
{
  if (!rtmp_chunk_write(s->wire, s->chunk_size, csid, type, msid, ts, data, len, NULL))
    g_error("chunk writer refused a seed message");
}

static void send_amf(Session *s, guint32 csid, guint8 type, guint32 msid, GByteArray *body)
{
  send_msg(s, csid, type, msid, 0, body->data, body->len);
}

static void handshake_plain(Session *s)
{
  guint8 c0c1[1 + SIG] = {3};
  for (gsize i = 9; i < sizeof c0c1; i++)
    c0c1[i] = (guint8)(i * 7 + 1);
  g_byte_array_append(s->wire, c0c1, sizeof c0c1);
  guint8 c2[SIG];
  memset(c2, 0, sizeof c2);
  g_byte_array_append(s->wire, c2, sizeof c2);
}

/* C1 in the digest form, scheme 0: digest block at offset 8, keyed with the 30-byte text of
 * "Genuine Adobe Flash Player 001". */
static void handshake_digest(Session *s)
{
  guint8 c0c1[1 + SIG] = {3};
  guint8 *c1 = c0c1 + 1;
  c1[4] = 10, c1[5] = 0, c1[6] = 45, c1[7] = 2;
  for (gsize i = 8; i < SIG; i++)
    c1[i] = (guint8)(i * 29 + 3);
  gsize pos = 12 + ((guint)c1[8] + c1[9] + c1[10] + c1[11]) % 728;
  guint8 joined[SIG - 32];
  memcpy(joined, c1, pos);
  memcpy(joined + pos, c1 + pos + 32, SIG - pos - 32);
  unsigned int n = 32;
  HMAC(EVP_sha256(), "Genuine Adobe Flash Player 001", 30, joined, sizeof joined, c1 + pos, &n);
  g_byte_array_append(s->wire, c0c1, sizeof c0c1);
  guint8 c2[SIG];
  memset(c2, 0x33, sizeof c2);
  g_byte_array_append(s->wire, c2, sizeof c2);
}

static void control_u32(Session *s, guint8 type, guint32 v)
{
  guint8 b[4] = {(guint8)(v >> 24), (guint8)(v >> 16), (guint8)(v >> 8), (guint8)v};
  send_msg(s, 2, type, 0, 0, b, 4);
}

static void connect_cmd(Session *s, const gchar *app)
{
  g_autoptr(GByteArray) b = g_byte_array_new();
  rtmp_amf_write_string(b, "connect");
  rtmp_amf_write_number(b, 1);
  rtmp_amf_write_object_start(b);
  rtmp_amf_write_key(b, "app");
  rtmp_amf_write_string(b, app);
  rtmp_amf_write_key(b, "type");
  rtmp_amf_write_string(b, "nonprivate");
  rtmp_amf_write_key(b, "flashVer");
  rtmp_amf_write_string(b, "FMLE/3.0 (compatible; FMSc/1.0)");
  rtmp_amf_write_key(b, "tcUrl");
  rtmp_amf_write_string(b, "rtmp://127.0.0.1:1935/live");
  rtmp_amf_write_object_end(b);
  send_amf(s, 3, RTMP_MSG_COMMAND_AMF0, 0, b);
}

static void simple_cmd(Session *s, guint32 msid, const gchar *name, gdouble txn, const gchar *arg)
{
  g_autoptr(GByteArray) b = g_byte_array_new();
  rtmp_amf_write_string(b, name);
  rtmp_amf_write_number(b, txn);
  rtmp_amf_write_null(b);
  if (arg != NULL)
    rtmp_amf_write_string(b, arg);
  send_amf(s, msid == 0 ? 3 : 4, RTMP_MSG_COMMAND_AMF0, msid, b);
}

static void publish_cmd(Session *s, const gchar *name)
{
  g_autoptr(GByteArray) b = g_byte_array_new();
  rtmp_amf_write_string(b, "publish");
  rtmp_amf_write_number(b, 5);
  rtmp_amf_write_null(b);
  rtmp_amf_write_string(b, name);
  rtmp_amf_write_string(b, "live");
  send_amf(s, 4, RTMP_MSG_COMMAND_AMF0, 1, b);
}

static void metadata(Session *s)
{
  g_autoptr(GByteArray) b = g_byte_array_new();
  rtmp_amf_write_string(b, "@setDataFrame");
  rtmp_amf_write_string(b, "onMetaData");
  rtmp_amf_write_ecma_array_start(b, 4);
  rtmp_amf_write_key(b, "width");
  rtmp_amf_write_number(b, 1280);
  rtmp_amf_write_key(b, "height");
  rtmp_amf_write_number(b, 720);
  rtmp_amf_write_key(b, "videocodecid");
  rtmp_amf_write_number(b, 7);
  rtmp_amf_write_key(b, "encoder");
  rtmp_amf_write_string(b, "obs-output module (libobs version 29.1.3)");
  rtmp_amf_write_object_end(b);
  send_amf(s, 4, RTMP_MSG_DATA_AMF0, 1, b);
}

static void media(Session *s, guint8 type, guint32 ts, gsize len)
{
  g_autofree guint8 *p = g_malloc(len);
  for (gsize i = 0; i < len; i++)
    p[i] = (guint8)(i * 5);
  p[0] = type == RTMP_MSG_VIDEO ? 0x17 : 0xAF;
  send_msg(s, type == RTMP_MSG_VIDEO ? 6 : 4, type, 1, ts, p, len);
}

static void aggregate(Session *s, guint32 ts)
{
  g_autoptr(GByteArray) b = g_byte_array_new();
  static const guint8 sub[] = {
      9, 0, 0, 3, 0x00, 0x03, 0xE8, 0, 0, 0, 0, 0x27, 0x01, 0x00, 0, 0, 0,  14,
      8, 0, 0, 2, 0x00, 0x03, 0xFC, 0, 0, 0, 0, 0xAF, 0x01, 0,    0, 0, 13,
  };
  g_byte_array_append(b, sub, sizeof sub);
  send_msg(s, 6, RTMP_MSG_AGGREGATE, 1, ts, b->data, b->len);
}

static void put_raw(Session *s, const guint8 *bytes, gsize len)
{
  g_byte_array_append(s->wire, bytes, (guint)len);
}

static void write_file(const gchar *dir, const gchar *name, const guint8 *data, gsize len)
{
  g_autofree gchar *path = g_build_filename(dir, name, NULL);
  g_autoptr(GError) error = NULL;
  if (!g_file_set_contents(path, (const gchar *)data, (gssize)len, &error))
    g_error("%s", error->message);
  printf("%s (%zu bytes)\n", path, len);
}

static void publish_prelude(Session *s, const gchar *key)
{
  connect_cmd(s, "live");
  control_u32(s, RTMP_MSG_SET_CHUNK_SIZE, 4096);
  s->chunk_size = 4096;
  simple_cmd(s, 0, "releaseStream", 2, key);
  simple_cmd(s, 0, "FCPublish", 3, key);
  simple_cmd(s, 0, "createStream", 4, NULL);
  publish_cmd(s, key);
}

static void gen_rtmp_server(const gchar *dir)
{
  /* 1. A complete plain publish session, as OBS or ffmpeg would send it. */
  Session s = {g_byte_array_new(), 128};
  handshake_plain(&s);
  publish_prelude(&s, "live_stream_key?token=abc");
  metadata(&s);
  media(&s, RTMP_MSG_VIDEO, 0, 48);
  media(&s, RTMP_MSG_AUDIO, 0, 7);
  media(&s, RTMP_MSG_VIDEO, 33, 6000);
  media(&s, RTMP_MSG_AUDIO, 23, 200);
  media(&s, RTMP_MSG_VIDEO, 66, 900);
  aggregate(&s, 100);
  simple_cmd(&s, 1, "FCUnpublish", 6, "live_stream_key?token=abc");
  simple_cmd(&s, 0, "deleteStream", 7, NULL);
  write_file(dir, "plain_publish_session.bin", s.wire->data, s.wire->len);
  g_byte_array_unref(s.wire);

  /* 2. Digest handshake, then a short publish. */
  s = (Session){g_byte_array_new(), 128};
  handshake_digest(&s);
  publish_prelude(&s, "digestkey");
  media(&s, RTMP_MSG_VIDEO, 0, 300);
  write_file(dir, "digest_handshake_session.bin", s.wire->data, s.wire->len);
  g_byte_array_unref(s.wire);

  /* 3. Chunk-level features after a publish at the default chunk size. */
  s = (Session){g_byte_array_new(), 128};
  handshake_plain(&s);
  connect_cmd(&s, "live");
  control_u32(&s, RTMP_MSG_WINDOW_ACK_SIZE, 5000);
  simple_cmd(&s, 0, "createStream", 2, NULL);
  publish_cmd(&s, "k");
  /* fmt 0 audio on csid 4, then fmt 1 (delta 21, new length), fmt 2 (delta 23), fmt 3. */
  static const guint8 fmt_chain[] = {
      0x04, 0,    0,    10,   0,    0,    2,    8, 1,    0,    0,
      0,    0xAF, 0x01,                                              /* fmt 0, ts 10, len 2 */
      0x44, 0,    0,    21,   0,    0,    3,    8, 0xAF, 0x01, 0x02, /* fmt 1, delta 21, len 3 */
      0x84, 0,    0,    23,   0xAF, 0x01, 0x03,                      /* fmt 2, delta 23 */
      0xC4, 0xAF, 0x01, 0x04,                                        /* fmt 3, delta 23 again */
  };
  put_raw(&s, fmt_chain, sizeof fmt_chain);
  /* Extended timestamp on a 3-byte csid (320), split in two chunks with the repeated field. */
  static const guint8 ext[] = {
      0x01, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0, 0, 130, 9, 1, 0, 0, 0, 0x01, 0x00, 0x00, 0x00,
  };
  put_raw(&s, ext, sizeof ext);
  guint8 body[130];
  memset(body, 0x27, sizeof body);
  put_raw(&s, body, 128);
  static const guint8 ext_cont[] = {0xC1, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00};
  put_raw(&s, ext_cont, sizeof ext_cont);
  put_raw(&s, body, 2);
  /* A partial message on csid 7, aborted. */
  static const guint8 partial[] = {0x07, 0, 0, 0, 0, 1, 0, 9, 1, 0, 0, 0};
  put_raw(&s, partial, sizeof partial);
  put_raw(&s, body, 128);
  control_u32(&s, RTMP_MSG_ABORT, 7);
  /* Ping request, then a chunk size change and a large message at the new size. */
  static const guint8 ping[] = {0x02, 0, 0, 0, 0, 0, 6, 4, 0, 0, 0, 0, 0, 6, 0, 0, 0x30, 0x39};
  put_raw(&s, ping, sizeof ping);
  control_u32(&s, RTMP_MSG_SET_CHUNK_SIZE, 1000);
  s.chunk_size = 1000;
  media(&s, RTMP_MSG_VIDEO, 0x1000000, 2500);
  simple_cmd(&s, 0, "closeStream", 8, NULL);
  write_file(dir, "chunk_features_session.bin", s.wire->data, s.wire->len);
  g_byte_array_unref(s.wire);

  /* 4. A publish with a key the fuzzer harness rejects. */
  s = (Session){g_byte_array_new(), 128};
  handshake_plain(&s);
  publish_prelude(&s, "!reject");
  media(&s, RTMP_MSG_VIDEO, 0, 10);
  write_file(dir, "rejected_publish.bin", s.wire->data, s.wire->len);
  g_byte_array_unref(s.wire);
}

static void gen_amf0(const gchar *dir)
{
  g_autoptr(GByteArray) b = g_byte_array_new();

  rtmp_amf_write_number(b, 1935.5);
  write_file(dir, "number.bin", b->data, b->len);

  g_byte_array_set_size(b, 0);
  rtmp_amf_write_boolean(b, TRUE);
  rtmp_amf_write_null(b);
  rtmp_amf_write_undefined(b);
  write_file(dir, "scalars.bin", b->data, b->len);

  g_byte_array_set_size(b, 0);
  rtmp_amf_write_string(b, "NetStream.Publish.Start");
  write_file(dir, "string.bin", b->data, b->len);

  g_byte_array_set_size(b, 0);
  static const guint8 long_string[] = {0x0C, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
  g_byte_array_append(b, long_string, sizeof long_string);
  write_file(dir, "long_string.bin", b->data, b->len);

  g_byte_array_set_size(b, 0);
  static const guint8 date[] = {0x0B, 0x42, 0x78, 0xBC, 0xFE, 0x56, 0x80, 0, 0, 0, 0};
  g_byte_array_append(b, date, sizeof date);
  write_file(dir, "date.bin", b->data, b->len);

  /* A connect command: string, number, object, then an optional args object. */
  g_byte_array_set_size(b, 0);
  rtmp_amf_write_string(b, "connect");
  rtmp_amf_write_number(b, 1);
  rtmp_amf_write_object_start(b);
  rtmp_amf_write_key(b, "app");
  rtmp_amf_write_string(b, "live");
  rtmp_amf_write_key(b, "fpad");
  rtmp_amf_write_boolean(b, FALSE);
  rtmp_amf_write_key(b, "capabilities");
  rtmp_amf_write_number(b, 15);
  rtmp_amf_write_key(b, "objectEncoding");
  rtmp_amf_write_number(b, 0);
  rtmp_amf_write_object_end(b);
  rtmp_amf_write_null(b);
  write_file(dir, "connect_command.bin", b->data, b->len);

  /* onMetaData with an ECMA array holding a nested object and a strict array. */
  g_byte_array_set_size(b, 0);
  rtmp_amf_write_string(b, "onMetaData");
  g_autoptr(RtmpAmfValue) meta = rtmp_amf_value_new_ecma_array();
  rtmp_amf_object_append(meta, "duration", rtmp_amf_value_new_number(0));
  rtmp_amf_object_append(meta, "framerate", rtmp_amf_value_new_number(30));
  RtmpAmfValue *nested = rtmp_amf_value_new_object();
  rtmp_amf_object_append(nested, "trackid", rtmp_amf_value_new_number(1));
  rtmp_amf_object_append(meta, "track", nested);
  RtmpAmfValue *arr = rtmp_amf_value_new_strict_array();
  rtmp_amf_array_append(arr, rtmp_amf_value_new_string("avc1"));
  rtmp_amf_array_append(arr, rtmp_amf_value_new_date(0, 0));
  rtmp_amf_object_append(meta, "codecs", arr);
  rtmp_amf_encode(b, meta);
  write_file(dir, "metadata_ecma.bin", b->data, b->len);

  /* A reference marker, which must be refused. */
  g_byte_array_set_size(b, 0);
  static const guint8 reference[] = {0x03, 0, 1, 'a', 0x07, 0, 0, 0, 0, 9};
  g_byte_array_append(b, reference, sizeof reference);
  write_file(dir, "reference.bin", b->data, b->len);
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  g_autofree gchar *server_dir = g_build_filename(argv[1], "rtmp_server", NULL);
  g_autofree gchar *amf_dir = g_build_filename(argv[1], "amf0", NULL);
  if (g_mkdir_with_parents(server_dir, 0755) != 0 || g_mkdir_with_parents(amf_dir, 0755) != 0) {
    fprintf(stderr, "cannot create %s: %s\n", argv[1], g_strerror(errno));
    return 1;
  }
  gen_rtmp_server(server_dir);
  gen_amf0(amf_dir);
  return 0;
}
