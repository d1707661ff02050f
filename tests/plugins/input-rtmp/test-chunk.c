/* Unit tests for rtmp/chunk: every header format, chunk stream id forms, extended timestamps,
 * chunk size changes, abort, interleaving, caps, and the writer. Wire bytes are hand-built here
 * from the spec so that the reader is not only checked against its own writer. */
#include <string.h>

#include "rtmp/chunk.h"

/* ---- Hand-built wire helpers ---------------------------------------------------------------- */

static void put8(GByteArray *b, guint8 v)
{
  g_byte_array_append(b, &v, 1);
}

static void put24(GByteArray *b, guint32 v)
{
  put8(b, (guint8)(v >> 16));
  put8(b, (guint8)(v >> 8));
  put8(b, (guint8)v);
}

static void put32(GByteArray *b, guint32 v)
{
  put8(b, (guint8)(v >> 24));
  put24(b, v & 0xFFFFFF);
}

static void put_basic(GByteArray *b, guint fmt, guint32 csid)
{
  if (csid < 64) {
    put8(b, (guint8)(fmt << 6 | csid));
  } else if (csid < 320) {
    put8(b, (guint8)(fmt << 6));
    put8(b, (guint8)(csid - 64));
  } else {
    put8(b, (guint8)(fmt << 6 | 1));
    put8(b, (guint8)((csid - 64) & 0xFF));
    put8(b, (guint8)((csid - 64) >> 8));
  }
}

/* A chunk header of the given format. ts is the timestamp (fmt 0) or delta (fmt 1/2); values at
 * or above 0xFFFFFF go to the extended field. For fmt 3, ext_repeat >= 0 appends that value as
 * the repeated extended timestamp. */
static void put_header(GByteArray *b, guint fmt, guint32 csid, guint32 ts, guint32 len, guint8 type,
                       guint32 msid, gint64 ext_repeat)
{
  put_basic(b, fmt, csid);
  gboolean ext = ts >= 0xFFFFFF;
  if (fmt < 3)
    put24(b, ext ? 0xFFFFFF : ts);
  if (fmt < 2) {
    put24(b, len);
    put8(b, type);
  }
  if (fmt == 0) {
    put8(b, (guint8)msid);
    put8(b, (guint8)(msid >> 8));
    put8(b, (guint8)(msid >> 16));
    put8(b, (guint8)(msid >> 24));
  }
  if (fmt < 3 && ext)
    put32(b, ts);
  if (fmt == 3 && ext_repeat >= 0)
    put32(b, (guint32)ext_repeat);
}

static void put_payload(GByteArray *b, guint seed, gsize len)
{
  for (gsize i = 0; i < len; i++)
    put8(b, (guint8)(seed + i));
}

static void check_payload(const RtmpMessage *m, guint seed, gsize len)
{
  gsize n;
  const guint8 *p = g_bytes_get_data(m->payload, &n);
  g_assert_cmpuint(n, ==, len);
  for (gsize i = 0; i < len; i++)
    g_assert_cmpuint(p[i], ==, (guint8)(seed + i));
}

/* Feeds wire to a fresh reader in slices of `step` bytes (each slice in its own heap copy so that
 * ASan sees any over-read) and returns the messages, or NULL with error set. */
static GPtrArray *decode_with(const GByteArray *wire, gsize step, const RtmpChunkLimits *limits,
                              RtmpChunkReader **reader_out, GError **error)
{
  RtmpChunkReader *r = rtmp_chunk_reader_new(limits);
  GPtrArray *msgs = g_ptr_array_new_with_free_func((GDestroyNotify)rtmp_message_free);
  gboolean ok = TRUE;
  for (gsize pos = 0; pos < wire->len && ok; pos += step) {
    gsize n = MIN(step, wire->len - pos);
    g_autofree guint8 *slice = g_memdup2(wire->data + pos, n);
    ok = rtmp_chunk_reader_feed_all(r, slice, n, msgs, error);
  }
  if (ok)
    g_assert_cmpuint(rtmp_chunk_reader_get_bytes_received(r), ==, wire->len);
  if (reader_out != NULL)
    *reader_out = r;
  else
    rtmp_chunk_reader_free(r);
  if (!ok) {
    g_ptr_array_unref(msgs);
    return NULL;
  }
  return msgs;
}

/* Decodes whole, in 7-byte slices and byte by byte; all must agree. Returns the last result. */
static GPtrArray *decode(const GByteArray *wire)
{
  static const gsize steps[] = {G_MAXSIZE, 7, 1};
  GPtrArray *first = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS(steps); i++) {
    g_autoptr(GError) error = NULL;
    GPtrArray *msgs = decode_with(wire, steps[i], NULL, NULL, &error);
    g_assert_no_error(error);
    g_assert_nonnull(msgs);
    if (first == NULL) {
      first = msgs;
      continue;
    }
    g_assert_cmpuint(msgs->len, ==, first->len);
    for (guint k = 0; k < msgs->len; k++) {
      RtmpMessage *a = g_ptr_array_index(first, k), *b = g_ptr_array_index(msgs, k);
      g_assert_cmpuint(a->type_id, ==, b->type_id);
      g_assert_cmpuint(a->stream_id, ==, b->stream_id);
      g_assert_cmpuint(a->chunk_stream_id, ==, b->chunk_stream_id);
      g_assert_cmpuint(a->timestamp, ==, b->timestamp);
      g_assert_true(g_bytes_equal(a->payload, b->payload));
    }
    g_ptr_array_unref(msgs);
  }
  return first;
}

static void expect_error(const GByteArray *wire, const RtmpChunkLimits *limits, gint code)
{
  static const gsize steps[] = {G_MAXSIZE, 1};
  for (gsize i = 0; i < G_N_ELEMENTS(steps); i++) {
    g_autoptr(GError) error = NULL;
    RtmpChunkReader *r = NULL;
    GPtrArray *msgs = decode_with(wire, steps[i], limits, &r, &error);
    g_assert_null(msgs);
    g_assert_error(error, RTMP_ERROR, code);
    /* An error is final. */
    g_clear_error(&error);
    gsize used;
    RtmpMessage *m = NULL;
    g_assert_cmpint(rtmp_chunk_reader_feed(r, (const guint8 *)"\x03", 1, &used, &m, &error), ==,
                    RTMP_CHUNK_ERROR);
    g_assert_error(error, RTMP_ERROR, RTMP_ERROR_PROTOCOL);
    g_assert_null(m);
    rtmp_chunk_reader_free(r);
  }
}

#define MSG(msgs, i) ((RtmpMessage *)g_ptr_array_index((msgs), (i)))

/* ---- Tests ---------------------------------------------------------------------------------- */

static void test_fmt0_single(void)
{
  g_autoptr(GByteArray) w = g_byte_array_new();
  put_header(w, 0, 3, 1000, 50, 20, 0x01020304, -1);
  put_payload(w, 1, 50);
  g_autoptr(GPtrArray) msgs = decode(w);
  g_assert_cmpuint(msgs->len, ==, 1);
  g_assert_cmpuint(MSG(msgs, 0)->type_id, ==, 20);
  g_assert_cmpuint(MSG(msgs, 0)->timestamp, ==, 1000);
  g_assert_cmpuint(MSG(msgs, 0)->stream_id, ==, 0x01020304); /* little-endian on the wire */
  g_assert_cmpuint(MSG(msgs, 0)->chunk_stream_id, ==, 3);
  check_payload(MSG(msgs, 0), 1, 50);
}

static void test_fmt0_continuation(void)
{
  /* 300 bytes at the default chunk size: 128 + 128 + 44 with two type 3 headers. */
  g_autoptr(GByteArray) w = g_byte_array_new();
  put_header(w, 0, 4, 5, 300, 9, 1, -1);
  put_payload(w, 0, 128);
  put_header(w, 3, 4, 0, 0, 0, 0, -1);
  put_payload(w, 128, 128);
  put_header(w, 3, 4, 0, 0, 0, 0, -1);
  put_payload(w, 0, 44);
  g_autoptr(GPtrArray) msgs = decode(w);
  g_assert_cmpuint(msgs->len, ==, 1);
  g_assert_cmpuint(MSG(msgs, 0)->timestamp, ==, 5);
  check_payload(MSG(msgs, 0), 0, 300);
}

static void test_fmt1_fmt2_fmt3(void)
{
  g_autoptr(GByteArray) w = g_byte_array_new();
  put_header(w, 0, 4, 1000, 10, 8, 1, -1);
  put_payload(w, 10, 10);
  put_header(w, 1, 4, 20, 5, 9, 0, -1); /* new length and type, delta 20 */
  put_payload(w, 20, 5);
  put_header(w, 2, 4, 30, 0, 0, 0, -1); /* delta 30, same length and type */
  put_payload(w, 30, 5);
  put_header(w, 3, 4, 0, 0, 0, 0, -1); /* everything inherited, delta 30 again */
  put_payload(w, 40, 5);
  g_autoptr(GPtrArray) msgs = decode(w);
  g_assert_cmpuint(msgs->len, ==, 4);
  const guint32 ts[] = {1000, 1020, 1050, 1080};
  const guint8 types[] = {8, 9, 9, 9};
  for (guint i = 0; i < 4; i++) {
    g_assert_cmpuint(MSG(msgs, i)->timestamp, ==, ts[i]);
    g_assert_cmpuint(MSG(msgs, i)->type_id, ==, types[i]);
    g_assert_cmpuint(MSG(msgs, i)->stream_id, ==, 1);
  }
  check_payload(MSG(msgs, 0), 10, 10);
  check_payload(MSG(msgs, 3), 40, 5);
}

/* Spec 5.3.1.2.4: a type 3 right after a type 0 uses the type 0's timestamp as its delta. */
static void test_fmt3_after_fmt0(void)
{
  g_autoptr(GByteArray) w = g_byte_array_new();
  put_header(w, 0, 5, 40, 3, 8, 1, -1);
  put_payload(w, 0, 3);
  put_header(w, 3, 5, 0, 0, 0, 0, -1);
  put_payload(w, 3, 3);
  put_header(w, 3, 5, 0, 0, 0, 0, -1);
  put_payload(w, 6, 3);
  g_autoptr(GPtrArray) msgs = decode(w);
  g_assert_cmpuint(msgs->len, ==, 3);
  g_assert_cmpuint(MSG(msgs, 0)->timestamp, ==, 40);
  g_assert_cmpuint(MSG(msgs, 1)->timestamp, ==, 80);
  g_assert_cmpuint(MSG(msgs, 2)->timestamp, ==, 120);
}

static void test_csid_forms(void)
{
  static const struct {
    guint32 csid;
    guint8 basic[3];
    gsize basic_len;
  } cases[] = {
      {2, {0x02}, 1},
      {63, {0x3F}, 1},
      {64, {0x00, 0x00}, 2},
      {319, {0x00, 0xFF}, 2},
      {320, {0x01, 0x00, 0x01}, 3},
      {65599, {0x01, 0xFF, 0xFF}, 3},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GByteArray) w = g_byte_array_new();
    guint8 payload[200];
    memset(payload, (int)i, sizeof payload);
    g_autoptr(GError) error = NULL;
    g_assert_true(
        rtmp_chunk_write(w, 128, cases[i].csid, 18, 1, 77, payload, sizeof payload, &error));
    g_assert_no_error(error);
    g_assert_cmpmem(w->data, cases[i].basic_len, cases[i].basic, cases[i].basic_len);
    /* The continuation header uses the same id form with fmt 3. */
    gsize cont = cases[i].basic_len + 11 + 128;
    g_assert_cmpuint(w->data[cont], ==, cases[i].basic[0] | 0xC0);
    g_assert_cmpuint(w->len, ==, 2 * cases[i].basic_len + 11 + 200);
    g_autoptr(GPtrArray) msgs = decode(w);
    g_assert_cmpuint(msgs->len, ==, 1);
    g_assert_cmpuint(MSG(msgs, 0)->chunk_stream_id, ==, cases[i].csid);
    g_assert_cmpuint(MSG(msgs, 0)->timestamp, ==, 77);
    g_assert_cmpuint(g_bytes_get_size(MSG(msgs, 0)->payload), ==, 200);
  }
}

static void test_writer_extended(void)
{
  guint8 payload[300];
  for (gsize i = 0; i < sizeof payload; i++)
    payload[i] = (guint8)i;
  g_autoptr(GByteArray) w = g_byte_array_new();
  g_assert_true(rtmp_chunk_write(w, 128, 6, 9, 1, 0x01000000, payload, sizeof payload, NULL));
  /* 1 + 11 + 4 | 128 | 1 + 4 | 128 | 1 + 4 | 44 */
  g_assert_cmpuint(w->len, ==, 16 + 128 + 5 + 128 + 5 + 44);
  static const guint8 head[] = {0x06, 0xFF, 0xFF, 0xFF, 0x00, 0x01, 0x2C, 0x09,
                                0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00};
  g_assert_cmpmem(w->data, sizeof head, head, sizeof head);
  static const guint8 cont[] = {0xC6, 0x01, 0x00, 0x00, 0x00};
  g_assert_cmpmem(w->data + 16 + 128, 5, cont, 5);
  g_assert_cmpmem(w->data + 16 + 128 + 5 + 128, 5, cont, 5);
  g_autoptr(GPtrArray) msgs = decode(w);
  g_assert_cmpuint(msgs->len, ==, 1);
  g_assert_cmpuint(MSG(msgs, 0)->timestamp, ==, 0x01000000);
  g_assert_cmpmem(g_bytes_get_data(MSG(msgs, 0)->payload, NULL), 300, payload, 300);

  /* Exactly 0xFFFFFF already needs the extended field; 0xFFFFFE does not. */
  g_autoptr(GByteArray) w2 = g_byte_array_new();
  g_assert_true(rtmp_chunk_write(w2, 128, 3, 8, 0, 0xFFFFFF, payload, 1, NULL));
  g_assert_cmpuint(w2->len, ==, 12 + 4 + 1);
  g_autoptr(GByteArray) w3 = g_byte_array_new();
  g_assert_true(rtmp_chunk_write(w3, 128, 3, 8, 0, 0xFFFFFE, payload, 1, NULL));
  g_assert_cmpuint(w3->len, ==, 12 + 1);
  g_autoptr(GPtrArray) m2 = decode(w2);
  g_assert_cmpuint(MSG(m2, 0)->timestamp, ==, 0xFFFFFF);
}

/* Extended deltas in type 1/2 headers, and the repeat rule for type 3 chunks, both for a type 3
 * continuing a message and for one starting a new message. */
static void test_extended_deltas_and_fmt3_repeat(void)
{
  g_autoptr(GByteArray) w = g_byte_array_new();
  put_header(w, 0, 4, 0xFFFFF0, 3, 8, 1, -1); /* below the threshold: no extended field */
  put_payload(w, 0, 3);
  put_header(w, 1, 4, 0x01000000, 200, 9, 0, -1); /* extended delta */
  put_payload(w, 1, 128);
  put_header(w, 3, 4, 0, 0, 0, 0, 0x01000000); /* continuation repeats the extended field */
  put_payload(w, 129, 72);
  put_header(w, 3, 4, 0, 0, 0, 0, 0x01000000); /* new message, still repeated */
  put_payload(w, 2, 128);
  put_header(w, 3, 4, 0, 0, 0, 0, 0x01000000);
  put_payload(w, 130, 72);
  put_header(w, 2, 4, 10, 0, 0, 0, -1); /* small delta: extended mode ends */
  put_payload(w, 3, 128);
  put_header(w, 3, 4, 0, 0, 0, 0, -1); /* so no repeat here */
  put_payload(w, 131, 72);
  g_autoptr(GPtrArray) msgs = decode(w);
  g_assert_cmpuint(msgs->len, ==, 4);
  g_assert_cmpuint(MSG(msgs, 0)->timestamp, ==, 0xFFFFF0);
  g_assert_cmpuint(MSG(msgs, 1)->timestamp, ==, 0x01FFFFF0);
  g_assert_cmpuint(MSG(msgs, 2)->timestamp, ==, 0x02FFFFF0);
  g_assert_cmpuint(MSG(msgs, 3)->timestamp, ==, 0x02FFFFFA);
  check_payload(MSG(msgs, 1), 1, 200);
  check_payload(MSG(msgs, 2), 2, 200);
  check_payload(MSG(msgs, 3), 3, 200);

  /* A type 0 with an extended timestamp followed by a continuation with the repeat. */
  g_autoptr(GByteArray) w2 = g_byte_array_new();
  put_header(w2, 0, 7, 0x12345678, 130, 9, 1, -1);
  put_payload(w2, 9, 128);
  put_header(w2, 3, 7, 0, 0, 0, 0, 0x12345678);
  put_payload(w2, 137, 2);
  g_autoptr(GPtrArray) m2 = decode(w2);
  g_assert_cmpuint(m2->len, ==, 1);
  g_assert_cmpuint(MSG(m2, 0)->timestamp, ==, 0x12345678);
  check_payload(MSG(m2, 0), 9, 130);
}

static void test_timestamp_wrap(void)
{
  g_autoptr(GByteArray) w = g_byte_array_new();
  put_header(w, 0, 4, 0xFFFFFFF0, 1, 8, 1, -1);
  put_payload(w, 0, 1);
  put_header(w, 2, 4, 0x20, 0, 0, 0, -1);
  put_payload(w, 0, 1);
  g_autoptr(GPtrArray) msgs = decode(w);
  g_assert_cmpuint(MSG(msgs, 1)->timestamp, ==, 0x10);
}

static void put_set_chunk_size(GByteArray *w, guint32 size)
{
  put_header(w, 0, 2, 0, 4, RTMP_MSG_SET_CHUNK_SIZE, 0, -1);
  put32(w, size);
}

static void test_chunk_size_change(void)
{
  g_autoptr(GByteArray) w = g_byte_array_new();
  guint8 big[5000];
  for (gsize i = 0; i < sizeof big; i++)
    big[i] = (guint8)(i * 7);
  /* Message on csid 4 split at 128; its first chunk arrives before the size change. */
  put_header(w, 0, 4, 0, 300, 9, 1, -1);
  put_payload(w, 0, 128);
  put_set_chunk_size(w, 256);
  /* The rest (172 bytes) now fits one chunk of the new size. */
  put_header(w, 3, 4, 0, 0, 0, 0, -1);
  put_payload(w, 128, 172);
  put_set_chunk_size(w, 4096);
  g_assert_true(rtmp_chunk_write(w, 4096, 6, 9, 1, 33, big, sizeof big, NULL));

  RtmpChunkReader *r = NULL;
  g_autoptr(GError) error = NULL;
  g_ptr_array_unref(decode(w));
  g_autoptr(GPtrArray) msgs = decode_with(w, 1, NULL, &r, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(msgs->len, ==, 4);
  g_assert_cmpuint(MSG(msgs, 0)->type_id, ==, RTMP_MSG_SET_CHUNK_SIZE); /* surfaced too */
  check_payload(MSG(msgs, 1), 0, 300);
  g_assert_cmpuint(MSG(msgs, 2)->type_id, ==, RTMP_MSG_SET_CHUNK_SIZE);
  g_assert_cmpmem(g_bytes_get_data(MSG(msgs, 3)->payload, NULL), sizeof big, big, sizeof big);
  g_assert_cmpuint(rtmp_chunk_reader_get_chunk_size(r), ==, 4096);
  rtmp_chunk_reader_free(r);
}

static void test_chunk_size_invalid(void)
{
  const struct {
    guint32 size;
    gint code;
  } cases[] = {
      {0, RTMP_ERROR_MALFORMED},
      {0x80000000u, RTMP_ERROR_MALFORMED},
      {RTMP_MAX_CHUNK_SIZE + 1, RTMP_ERROR_LIMIT},
      {0x7FFFFFFF, RTMP_ERROR_LIMIT},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GByteArray) w = g_byte_array_new();
    put_set_chunk_size(w, cases[i].size);
    expect_error(w, NULL, cases[i].code);
  }
  /* The largest accepted size works. */
  g_autoptr(GByteArray) ok = g_byte_array_new();
  put_set_chunk_size(ok, RTMP_MAX_CHUNK_SIZE);
  g_autoptr(GPtrArray) msgs = decode(ok);
  g_assert_cmpuint(msgs->len, ==, 1);

  /* A Set Chunk Size with a short payload. */
  g_autoptr(GByteArray) shortmsg = g_byte_array_new();
  put_header(shortmsg, 0, 2, 0, 3, RTMP_MSG_SET_CHUNK_SIZE, 0, -1);
  put24(shortmsg, 4096);
  expect_error(shortmsg, NULL, RTMP_ERROR_MALFORMED);
}

static void test_abort(void)
{
  g_autoptr(GByteArray) w = g_byte_array_new();
  put_header(w, 0, 4, 0, 300, 9, 1, -1);
  put_payload(w, 0, 128);
  /* Abort(4) discards the partial message; a fresh type 0 on csid 4 is then fine. */
  put_header(w, 0, 2, 0, 4, RTMP_MSG_ABORT, 0, -1);
  put32(w, 4);
  put_header(w, 0, 4, 9, 10, 8, 1, -1);
  put_payload(w, 50, 10);
  /* Abort of an idle or unknown chunk stream is harmless. */
  put_header(w, 0, 2, 0, 4, RTMP_MSG_ABORT, 0, -1);
  put32(w, 55);

  RtmpChunkReader *r = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) msgs = decode_with(w, 1, NULL, &r, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(msgs->len, ==, 3);
  g_assert_cmpuint(MSG(msgs, 0)->type_id, ==, RTMP_MSG_ABORT);
  g_assert_cmpuint(MSG(msgs, 1)->type_id, ==, 8);
  check_payload(MSG(msgs, 1), 50, 10);
  g_assert_cmpuint(rtmp_chunk_reader_get_buffered(r), ==, 0);
  rtmp_chunk_reader_free(r);
  g_ptr_array_unref(decode(w));

  /* Without the abort, a new header on a chunk stream with an incomplete message is an error. */
  g_autoptr(GByteArray) bad = g_byte_array_new();
  put_header(bad, 0, 4, 0, 300, 9, 1, -1);
  put_payload(bad, 0, 128);
  put_header(bad, 1, 4, 0, 10, 8, 0, -1);
  expect_error(bad, NULL, RTMP_ERROR_MALFORMED);
}

static void test_interleaved(void)
{
  g_autoptr(GByteArray) w = g_byte_array_new();
  /* Video (csid 6, 300 bytes) and audio (csid 4, 260 bytes) chunks alternate. */
  put_header(w, 0, 6, 100, 300, 9, 1, -1);
  put_payload(w, 60, 128);
  put_header(w, 0, 4, 90, 260, 8, 1, -1);
  put_payload(w, 40, 128);
  put_header(w, 3, 6, 0, 0, 0, 0, -1);
  put_payload(w, 60 + 128, 128);
  put_header(w, 3, 4, 0, 0, 0, 0, -1);
  put_payload(w, 40 + 128, 128);
  put_header(w, 3, 4, 0, 0, 0, 0, -1);
  put_payload(w, 40 + 256, 4);
  put_header(w, 3, 6, 0, 0, 0, 0, -1);
  put_payload(w, 60 + 256, 44);
  g_autoptr(GPtrArray) msgs = decode(w);
  g_assert_cmpuint(msgs->len, ==, 2);
  g_assert_cmpuint(MSG(msgs, 0)->type_id, ==, 8);
  g_assert_cmpuint(MSG(msgs, 0)->timestamp, ==, 90);
  check_payload(MSG(msgs, 0), 40, 260);
  g_assert_cmpuint(MSG(msgs, 1)->type_id, ==, 9);
  g_assert_cmpuint(MSG(msgs, 1)->timestamp, ==, 100);
  check_payload(MSG(msgs, 1), 60, 300);
}

static void test_zero_length_and_fresh_fmt1(void)
{
  g_autoptr(GByteArray) w = g_byte_array_new();
  put_header(w, 0, 3, 1, 0, 20, 0, -1);
  /* A type 1 header on a chunk stream never seen before starts from zeroed state. */
  put_header(w, 1, 9, 25, 2, 8, 0, -1);
  put_payload(w, 0, 2);
  g_autoptr(GPtrArray) msgs = decode(w);
  g_assert_cmpuint(msgs->len, ==, 2);
  g_assert_cmpuint(g_bytes_get_size(MSG(msgs, 0)->payload), ==, 0);
  g_assert_cmpuint(MSG(msgs, 1)->timestamp, ==, 25);
  g_assert_cmpuint(MSG(msgs, 1)->stream_id, ==, 0);
}

static void test_cap_message_size(void)
{
  RtmpChunkLimits limits;
  rtmp_chunk_limits_init_default(&limits);
  limits.max_message_size = 1000;
  g_autoptr(GByteArray) w = g_byte_array_new();
  put_header(w, 0, 4, 0, 1000, 9, 1, -1);
  put_payload(w, 0, 128);
  /* 1000 is allowed; the error comes with the header, before any payload is buffered. */
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) msgs = decode_with(w, 1, &limits, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(msgs->len, ==, 0);
  g_autoptr(GByteArray) w2 = g_byte_array_new();
  put_header(w2, 0, 4, 0, 1001, 9, 1, -1);
  expect_error(w2, &limits, RTMP_ERROR_LIMIT);
}

static void test_cap_chunk_streams(void)
{
  RtmpChunkLimits limits;
  rtmp_chunk_limits_init_default(&limits);
  limits.max_chunk_streams = 4;
  g_autoptr(GByteArray) w = g_byte_array_new();
  for (guint32 csid = 3; csid < 7; csid++) {
    put_header(w, 0, csid, 0, 1, 8, 1, -1);
    put_payload(w, 0, 1);
  }
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ok = decode_with(w, 1, &limits, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(ok->len, ==, 4);
  /* Reusing known ids is fine, a fifth id is not. */
  put_header(w, 0, 3, 0, 1, 8, 1, -1);
  put_payload(w, 0, 1);
  put_header(w, 0, 300, 0, 1, 8, 1, -1);
  put_payload(w, 0, 1);
  expect_error(w, &limits, RTMP_ERROR_LIMIT);

  /* With the defaults, 64 ids are allowed and the 65th is refused. */
  g_autoptr(GByteArray) many = g_byte_array_new();
  for (guint32 i = 0; i < 65; i++)
    put_header(many, 0, 3 + i, 0, 0, 8, 1, -1);
  expect_error(many, NULL, RTMP_ERROR_LIMIT);
}

static void test_cap_buffered(void)
{
  RtmpChunkLimits limits;
  rtmp_chunk_limits_init_default(&limits);
  limits.max_buffered = 500;
  g_autoptr(GByteArray) w = g_byte_array_new();
  /* Two incomplete 400-byte messages: 4 chunks of 128 exceed 500 bytes held. */
  put_header(w, 0, 4, 0, 400, 9, 1, -1);
  put_payload(w, 0, 128);
  put_header(w, 0, 5, 0, 400, 9, 1, -1);
  put_payload(w, 0, 128);
  put_header(w, 3, 4, 0, 0, 0, 0, -1);
  put_payload(w, 0, 128);
  put_header(w, 3, 5, 0, 0, 0, 0, -1);
  put_payload(w, 0, 128);
  expect_error(w, &limits, RTMP_ERROR_LIMIT);

  /* One complete 400-byte message after another stays under the cap. */
  g_autoptr(GByteArray) ok = g_byte_array_new();
  for (int i = 0; i < 5; i++) {
    guint8 p[400] = {0};
    g_assert_true(rtmp_chunk_write(ok, 128, 4, 9, 1, 0, p, sizeof p, NULL));
  }
  g_autoptr(GError) error = NULL;
  RtmpChunkReader *r = NULL;
  g_autoptr(GPtrArray) msgs = decode_with(ok, 1, &limits, &r, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(msgs->len, ==, 5);
  g_assert_cmpuint(rtmp_chunk_reader_get_buffered(r), ==, 0);
  rtmp_chunk_reader_free(r);
}

static void test_partial_feed_and_counting(void)
{
  g_autoptr(GByteArray) w = g_byte_array_new();
  for (int i = 0; i < 3; i++) {
    guint8 p[10] = {(guint8)i};
    g_assert_true(rtmp_chunk_write(w, 128, 3, 20, 0, (guint32)i, p, sizeof p, NULL));
  }
  g_autoptr(RtmpChunkReader) r = rtmp_chunk_reader_new(NULL);
  gsize used = 0;
  RtmpMessage *m = NULL;
  g_autoptr(GError) error = NULL;
  /* The first call stops right after the first message. */
  g_assert_cmpint(rtmp_chunk_reader_feed(r, w->data, w->len, &used, &m, &error), ==,
                  RTMP_CHUNK_MESSAGE);
  g_assert_cmpuint(used, ==, 22);
  g_assert_cmpuint(rtmp_chunk_reader_get_bytes_received(r), ==, 22);
  rtmp_message_free(m);
  g_assert_cmpint(rtmp_chunk_reader_feed(r, w->data + 22, 5, &used, &m, &error), ==,
                  RTMP_CHUNK_NEED_MORE);
  g_assert_cmpuint(used, ==, 5);
  g_assert_null(m);
  g_assert_cmpint(rtmp_chunk_reader_feed(r, w->data + 27, w->len - 27, &used, &m, &error), ==,
                  RTMP_CHUNK_MESSAGE);
  g_assert_cmpuint(m->timestamp, ==, 1);
  rtmp_message_free(m);
  g_assert_cmpint(rtmp_chunk_reader_feed(r, w->data + 44, w->len - 44, &used, &m, &error), ==,
                  RTMP_CHUNK_MESSAGE);
  rtmp_message_free(m);
  g_assert_cmpuint(rtmp_chunk_reader_get_bytes_received(r), ==, w->len);
  g_assert_cmpint(rtmp_chunk_reader_feed(r, NULL, 0, &used, &m, &error), ==, RTMP_CHUNK_NEED_MORE);
}

static void test_writer_errors(void)
{
  g_autoptr(GByteArray) w = g_byte_array_new();
  guint8 p[4] = {0};
  g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;
  g_assert_false(rtmp_chunk_write(w, 128, 1, 8, 0, 0, p, 4, &e1));
  g_assert_error(e1, RTMP_ERROR, RTMP_ERROR_MALFORMED);
  g_assert_false(rtmp_chunk_write(w, 128, 65600, 8, 0, 0, p, 4, &e2));
  g_assert_error(e2, RTMP_ERROR, RTMP_ERROR_MALFORMED);
  g_assert_false(rtmp_chunk_write(w, 0, 3, 8, 0, 0, p, 4, &e3));
  g_assert_error(e3, RTMP_ERROR, RTMP_ERROR_MALFORMED);
  g_autofree guint8 *huge = g_malloc0(0x1000000);
  g_assert_false(rtmp_chunk_write(w, 4096, 3, 8, 0, 0, huge, 0x1000000, &e4));
  g_assert_error(e4, RTMP_ERROR, RTMP_ERROR_LIMIT);
  g_assert_cmpuint(w->len, ==, 0);
  /* An empty message is one bare type 0 header. */
  g_assert_true(rtmp_chunk_write(w, 128, 3, 20, 0, 0, NULL, 0, NULL));
  g_assert_cmpuint(w->len, ==, 12);
}

/* Random bytes after a valid prefix: errors are fine, crashes and leaks are not. */
static void test_random_garbage(void)
{
  GRand *rand = g_rand_new_with_seed(99);
  for (int round = 0; round < 3000; round++) {
    g_autoptr(GByteArray) w = g_byte_array_new();
    guint8 p[50] = {0};
    rtmp_chunk_write(w, 128, 3, 20, 0, 0, p, sizeof p, NULL);
    gsize n = g_rand_int_range(rand, 1, 400);
    for (gsize i = 0; i < n; i++) {
      /* Bias towards small values and header-ish bytes so that headers parse sometimes. */
      guint8 v = (guint8)g_rand_int(rand);
      put8(w, g_rand_boolean(rand) ? (guint8)(v & 0xC7) : v);
    }
    gsize step = g_rand_int_range(rand, 1, 64);
    g_autoptr(GError) error = NULL;
    GPtrArray *msgs = decode_with(w, step, NULL, NULL, &error);
    if (msgs != NULL)
      g_ptr_array_unref(msgs);
  }
  g_rand_free(rand);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/rtmp/chunk/fmt0-single", test_fmt0_single);
  g_test_add_func("/rtmp/chunk/fmt0-continuation", test_fmt0_continuation);
  g_test_add_func("/rtmp/chunk/fmt1-fmt2-fmt3", test_fmt1_fmt2_fmt3);
  g_test_add_func("/rtmp/chunk/fmt3-after-fmt0", test_fmt3_after_fmt0);
  g_test_add_func("/rtmp/chunk/csid-forms", test_csid_forms);
  g_test_add_func("/rtmp/chunk/writer-extended", test_writer_extended);
  g_test_add_func("/rtmp/chunk/extended-deltas-fmt3-repeat", test_extended_deltas_and_fmt3_repeat);
  g_test_add_func("/rtmp/chunk/timestamp-wrap", test_timestamp_wrap);
  g_test_add_func("/rtmp/chunk/chunk-size-change", test_chunk_size_change);
  g_test_add_func("/rtmp/chunk/chunk-size-invalid", test_chunk_size_invalid);
  g_test_add_func("/rtmp/chunk/abort", test_abort);
  g_test_add_func("/rtmp/chunk/interleaved", test_interleaved);
  g_test_add_func("/rtmp/chunk/zero-length-fresh-fmt1", test_zero_length_and_fresh_fmt1);
  g_test_add_func("/rtmp/chunk/cap-message-size", test_cap_message_size);
  g_test_add_func("/rtmp/chunk/cap-chunk-streams", test_cap_chunk_streams);
  g_test_add_func("/rtmp/chunk/cap-buffered", test_cap_buffered);
  g_test_add_func("/rtmp/chunk/partial-feed-counting", test_partial_feed_and_counting);
  g_test_add_func("/rtmp/chunk/writer-errors", test_writer_errors);
  g_test_add_func("/rtmp/chunk/random-garbage", test_random_garbage);
  return g_test_run();
}
