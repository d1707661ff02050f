/* Unit tests for rtmp/amf0: every type round trips, exact encodings, malformed input refused. */
#include <math.h>
#include <string.h>

#include "rtmp/amf0.h"

/* Encodes v, checks the bytes decode back to an equal value consuming everything, and returns
 * the encoding for further checks. */
static GByteArray *round_trip(const RtmpAmfValue *v)
{
  GByteArray *enc = g_byte_array_new();
  rtmp_amf_encode(enc, v);
  g_autoptr(GError) error = NULL;
  gsize consumed = 0;
  g_autoptr(RtmpAmfValue) back = rtmp_amf_decode(enc->data, enc->len, &consumed, &error);
  g_assert_no_error(error);
  g_assert_nonnull(back);
  g_assert_cmpuint(consumed, ==, enc->len);
  g_assert_true(rtmp_amf_value_equal(v, back));

  /* Re-encoding the decoded tree gives the same bytes. */
  g_autoptr(GByteArray) again = g_byte_array_new();
  rtmp_amf_encode(again, back);
  g_assert_cmpmem(again->data, again->len, enc->data, enc->len);
  return enc;
}

static void assert_decode_fails(const guint8 *data, gsize len, RtmpError code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RtmpAmfValue) v = rtmp_amf_decode(data, len, NULL, &error);
  g_assert_null(v);
  g_assert_error(error, RTMP_ERROR, (gint)code);
}

static void test_number(void)
{
  static const guint8 one[] = {0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0};
  const gdouble samples[] = {0.0, -0.0, 1.0, -1.5, 1e300, 4294967296.0, INFINITY, -INFINITY, NAN};
  for (gsize i = 0; i < G_N_ELEMENTS(samples); i++) {
    g_autoptr(RtmpAmfValue) v = rtmp_amf_value_new_number(samples[i]);
    g_autoptr(GByteArray) enc = round_trip(v);
    g_assert_cmpuint(enc->len, ==, 9);
  }
  g_autoptr(RtmpAmfValue) v = rtmp_amf_value_new_number(1.0);
  g_autoptr(GByteArray) enc = round_trip(v);
  g_assert_cmpmem(enc->data, enc->len, one, sizeof one);
}

static void test_boolean(void)
{
  static const guint8 t[] = {0x01, 0x01};
  g_autoptr(RtmpAmfValue) yes = rtmp_amf_value_new_boolean(TRUE);
  g_autoptr(RtmpAmfValue) no = rtmp_amf_value_new_boolean(FALSE);
  g_autoptr(GByteArray) a = round_trip(yes);
  g_autoptr(GByteArray) b = round_trip(no);
  g_assert_cmpmem(a->data, a->len, t, sizeof t);
  g_assert_cmpuint(b->data[1], ==, 0);
  /* Any non-zero byte is true. */
  static const guint8 odd[] = {0x01, 0x7F};
  g_autoptr(RtmpAmfValue) v = rtmp_amf_decode(odd, sizeof odd, NULL, NULL);
  g_assert_nonnull(v);
  g_assert_true(v->boolean);
}

static void test_string(void)
{
  static const guint8 ab[] = {0x02, 0x00, 0x02, 'a', 'b'};
  g_autoptr(RtmpAmfValue) v = rtmp_amf_value_new_string("ab");
  g_autoptr(GByteArray) enc = round_trip(v);
  g_assert_cmpmem(enc->data, enc->len, ab, sizeof ab);

  g_autoptr(RtmpAmfValue) empty = rtmp_amf_value_new_string("");
  g_autoptr(GByteArray) enc2 = round_trip(empty);
  g_assert_cmpuint(enc2->len, ==, 3);

  g_autoptr(RtmpAmfValue) utf8 = rtmp_amf_value_new_string("gr\xc3\xbc\xc3\x9f dich \xe2\x9c\x93");
  g_byte_array_unref(round_trip(utf8));

  /* Embedded NUL survives: the length is authoritative. */
  g_autoptr(RtmpAmfValue) nul = rtmp_amf_value_new_string_len("a\0b", 3);
  g_autoptr(GByteArray) enc4 = round_trip(nul);
  g_assert_cmpuint(enc4->len, ==, 6);

  /* The longest short string still uses marker 0x02. */
  g_autofree gchar *max = g_malloc(65535);
  memset(max, 'x', 65535);
  g_autoptr(RtmpAmfValue) vmax = rtmp_amf_value_new_string_len(max, 65535);
  g_autoptr(GByteArray) enc5 = round_trip(vmax);
  g_assert_cmpuint(enc5->data[0], ==, 0x02);
}

static void test_long_string(void)
{
  gsize n = 70000;
  g_autofree gchar *s = g_malloc(n);
  for (gsize i = 0; i < n; i++)
    s[i] = (gchar)('a' + i % 26);
  g_autoptr(RtmpAmfValue) v = rtmp_amf_value_new_string_len(s, n);
  g_autoptr(GByteArray) enc = round_trip(v);
  g_assert_cmpuint(enc->data[0], ==, 0x0C);
  g_assert_cmpuint(enc->len, ==, 1 + 4 + n);

  /* A short text in the long form decodes to the same string type. */
  static const guint8 longform[] = {0x0C, 0, 0, 0, 2, 'h', 'i'};
  g_autoptr(RtmpAmfValue) hi = rtmp_amf_decode(longform, sizeof longform, NULL, NULL);
  g_assert_nonnull(hi);
  g_assert_cmpint(hi->type, ==, RTMP_AMF_STRING);
  g_assert_cmpstr(hi->string.data, ==, "hi");
}

static void test_null_undefined(void)
{
  g_autoptr(RtmpAmfValue) n = rtmp_amf_value_new_null();
  g_autoptr(RtmpAmfValue) u = rtmp_amf_value_new_undefined();
  g_autoptr(GByteArray) a = round_trip(n);
  g_autoptr(GByteArray) b = round_trip(u);
  g_assert_cmpuint(a->len, ==, 1);
  g_assert_cmpuint(a->data[0], ==, 0x05);
  g_assert_cmpuint(b->data[0], ==, 0x06);
  g_assert_false(rtmp_amf_value_equal(n, u));
}

static RtmpAmfValue *sample_object(void)
{
  RtmpAmfValue *o = rtmp_amf_value_new_object();
  rtmp_amf_object_append(o, "app", rtmp_amf_value_new_string("live"));
  rtmp_amf_object_append(o, "audioCodecs", rtmp_amf_value_new_number(3575));
  rtmp_amf_object_append(o, "fpad", rtmp_amf_value_new_boolean(FALSE));
  RtmpAmfValue *inner = rtmp_amf_value_new_object();
  rtmp_amf_object_append(inner, "", rtmp_amf_value_new_null()); /* a property named "" */
  rtmp_amf_object_append(inner, "u", rtmp_amf_value_new_undefined());
  rtmp_amf_object_append(o, "inner", inner);
  rtmp_amf_object_append(o, "app", rtmp_amf_value_new_string("duplicate kept"));
  return o;
}

static void test_object(void)
{
  static const guint8 small[] = {0x03, 0x00, 0x01, 'k', 0x05, 0x00, 0x00, 0x09};
  g_autoptr(RtmpAmfValue) o = sample_object();
  g_byte_array_unref(round_trip(o));

  g_assert_cmpstr(rtmp_amf_object_get_string(o, "app"), ==, "live"); /* first match wins */
  gdouble n = 0;
  g_assert_true(rtmp_amf_object_get_number(o, "audioCodecs", &n));
  g_assert_cmpfloat(n, ==, 3575);
  g_assert_false(rtmp_amf_object_get_number(o, "app", &n));
  g_assert_null(rtmp_amf_object_get(o, "missing"));
  g_assert_null(rtmp_amf_object_get_string(o, "fpad"));

  g_autoptr(RtmpAmfValue) one = rtmp_amf_value_new_object();
  rtmp_amf_object_append(one, "k", rtmp_amf_value_new_null());
  g_autoptr(GByteArray) enc2 = round_trip(one);
  g_assert_cmpmem(enc2->data, enc2->len, small, sizeof small);

  g_autoptr(RtmpAmfValue) copy = rtmp_amf_value_copy(o);
  g_assert_true(rtmp_amf_value_equal(o, copy));
  rtmp_amf_object_append(copy, "extra", rtmp_amf_value_new_number(1));
  g_assert_false(rtmp_amf_value_equal(o, copy));
}

static void test_ecma_array(void)
{
  g_autoptr(RtmpAmfValue) a = rtmp_amf_value_new_ecma_array();
  rtmp_amf_object_append(a, "duration", rtmp_amf_value_new_number(0));
  rtmp_amf_object_append(a, "width", rtmp_amf_value_new_number(1280));
  rtmp_amf_object_append(a, "encoder", rtmp_amf_value_new_string("obs-output module"));
  g_autoptr(GByteArray) enc = round_trip(a);
  g_assert_cmpuint(enc->data[0], ==, 0x08);
  g_assert_cmpuint(enc->data[4], ==, 3); /* count */

  /* The count is only a hint: a wrong one decodes the same. */
  enc->data[4] = 99;
  g_autoptr(RtmpAmfValue) back = rtmp_amf_decode(enc->data, enc->len, NULL, NULL);
  g_assert_nonnull(back);
  g_assert_true(rtmp_amf_value_equal(a, back));
  g_assert_cmpstr(rtmp_amf_object_get_string(back, "encoder"), ==, "obs-output module");
}

static void test_strict_array(void)
{
  g_autoptr(RtmpAmfValue) a = rtmp_amf_value_new_strict_array();
  rtmp_amf_array_append(a, rtmp_amf_value_new_number(1));
  rtmp_amf_array_append(a, rtmp_amf_value_new_string("two"));
  rtmp_amf_array_append(a, sample_object());
  rtmp_amf_array_append(a, rtmp_amf_value_new_strict_array());
  g_autoptr(GByteArray) enc = round_trip(a);
  g_assert_cmpuint(enc->data[0], ==, 0x0A);
  g_assert_cmpuint(enc->data[4], ==, 4);
}

static void test_date(void)
{
  static const guint8 expect[] = {0x0B, 0x42, 0x78, 0xBC, 0xFE, 0x56, 0x80, 0x00, 0x00, 0xFF, 0xC4};
  g_autoptr(RtmpAmfValue) d = rtmp_amf_value_new_date(1700000000000.0, -60);
  g_autoptr(GByteArray) enc = round_trip(d);
  g_assert_cmpmem(enc->data, enc->len, expect, sizeof expect);
  g_autoptr(RtmpAmfValue) back = rtmp_amf_decode(enc->data, enc->len, NULL, NULL);
  g_assert_cmpint(back->date.tz, ==, -60);
}

static void test_decode_all(void)
{
  g_autoptr(GByteArray) b = g_byte_array_new();
  rtmp_amf_write_string(b, "connect");
  rtmp_amf_write_number(b, 1);
  rtmp_amf_write_object_start(b);
  rtmp_amf_write_key(b, "app");
  rtmp_amf_write_string(b, "live");
  rtmp_amf_write_object_end(b);
  rtmp_amf_write_null(b);
  rtmp_amf_write_ecma_array_start(b, 0);
  rtmp_amf_write_object_end(b);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = rtmp_amf_decode_all(b->data, b->len, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(values->len, ==, 5);
  g_assert_cmpstr(rtmp_amf_value_get_string(g_ptr_array_index(values, 0)), ==, "connect");
  g_assert_cmpstr(rtmp_amf_object_get_string(g_ptr_array_index(values, 2), "app"), ==, "live");
  g_assert_cmpint(((RtmpAmfValue *)g_ptr_array_index(values, 4))->type, ==, RTMP_AMF_ECMA_ARRAY);

  g_autoptr(GPtrArray) none = rtmp_amf_decode_all(NULL, 0, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(none->len, ==, 0);

  /* Trailing garbage after valid values fails the whole decode. */
  g_byte_array_append(b, (const guint8 *)"\x07\x00\x01", 3);
  g_autoptr(GPtrArray) bad = rtmp_amf_decode_all(b->data, b->len, &error);
  g_assert_null(bad);
  g_assert_error(error, RTMP_ERROR, RTMP_ERROR_UNSUPPORTED);
}

static void test_consumed_leaves_trailing(void)
{
  static const guint8 two[] = {0x05, 0x01, 0x00};
  gsize consumed = 0;
  g_autoptr(RtmpAmfValue) v = rtmp_amf_decode(two, sizeof two, &consumed, NULL);
  g_assert_nonnull(v);
  g_assert_cmpint(v->type, ==, RTMP_AMF_NULL);
  g_assert_cmpuint(consumed, ==, 1);
}

/* Every proper prefix of a valid complex encoding must be reported as an error, never crash. */
static void test_truncations(void)
{
  g_autoptr(RtmpAmfValue) a = rtmp_amf_value_new_strict_array();
  rtmp_amf_array_append(a, sample_object());
  rtmp_amf_array_append(a, rtmp_amf_value_new_date(5, 0));
  rtmp_amf_array_append(a, rtmp_amf_value_new_string("tail"));
  RtmpAmfValue *ecma = rtmp_amf_value_new_ecma_array();
  rtmp_amf_object_append(ecma, "x", rtmp_amf_value_new_boolean(TRUE));
  rtmp_amf_array_append(a, ecma);
  g_autoptr(GByteArray) enc = g_byte_array_new();
  rtmp_amf_encode(enc, a);
  for (gsize len = 0; len < enc->len; len++) {
    g_autoptr(GError) error = NULL;
    /* A private copy makes ASan catch any read past the prefix. */
    g_autofree guint8 *copy = g_memdup2(enc->data, len);
    g_autoptr(RtmpAmfValue) v = rtmp_amf_decode(copy, len, NULL, &error);
    g_assert_null(v);
    g_assert_nonnull(error);
    g_assert_true(error->domain == RTMP_ERROR);
  }
}

static void test_malformed(void)
{
  /* Unsupported or invalid markers. */
  static const guint8 reference[] = {0x07, 0x00, 0x01};
  static const guint8 movieclip[] = {0x04};
  static const guint8 object_end[] = {0x09};
  static const guint8 xml[] = {0x0F, 0, 0, 0, 0};
  static const guint8 typed[] = {0x10, 0, 1, 'T', 0, 0, 9};
  static const guint8 amf3[] = {0x11, 0x01};
  static const guint8 unknown[] = {0xFF};
  assert_decode_fails(reference, sizeof reference, RTMP_ERROR_UNSUPPORTED);
  assert_decode_fails(movieclip, sizeof movieclip, RTMP_ERROR_UNSUPPORTED);
  assert_decode_fails(object_end, sizeof object_end, RTMP_ERROR_MALFORMED);
  assert_decode_fails(xml, sizeof xml, RTMP_ERROR_UNSUPPORTED);
  assert_decode_fails(typed, sizeof typed, RTMP_ERROR_UNSUPPORTED);
  assert_decode_fails(amf3, sizeof amf3, RTMP_ERROR_UNSUPPORTED);
  assert_decode_fails(unknown, sizeof unknown, RTMP_ERROR_UNSUPPORTED);

  /* Lengths that point past the end. */
  static const guint8 string_long[] = {0x02, 0xFF, 0xFF, 'a'};
  static const guint8 long_string_huge[] = {0x0C, 0xFF, 0xFF, 0xFF, 0xFF, 'a'};
  static const guint8 strict_huge[] = {0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05};
  static const guint8 key_long[] = {0x03, 0x00, 0x10, 'k'};
  static const guint8 no_end[] = {0x03, 0x00, 0x01, 'k', 0x05};
  static const guint8 ecma_no_end[] = {0x08, 0, 0, 0, 1, 0x00, 0x01, 'k', 0x05};
  static const guint8 empty_key_no_marker[] = {0x03, 0x00, 0x00};
  static const guint8 nested_bad[] = {0x03, 0x00, 0x01, 'k', 0x07, 0x00, 0x00};
  static const guint8 empty[] = {0};
  assert_decode_fails(string_long, sizeof string_long, RTMP_ERROR_TRUNCATED);
  assert_decode_fails(long_string_huge, sizeof long_string_huge, RTMP_ERROR_TRUNCATED);
  assert_decode_fails(strict_huge, sizeof strict_huge, RTMP_ERROR_TRUNCATED);
  assert_decode_fails(key_long, sizeof key_long, RTMP_ERROR_TRUNCATED);
  assert_decode_fails(no_end, sizeof no_end, RTMP_ERROR_TRUNCATED);
  assert_decode_fails(ecma_no_end, sizeof ecma_no_end, RTMP_ERROR_TRUNCATED);
  assert_decode_fails(empty_key_no_marker, sizeof empty_key_no_marker, RTMP_ERROR_TRUNCATED);
  assert_decode_fails(nested_bad, sizeof nested_bad, RTMP_ERROR_UNSUPPORTED);
  assert_decode_fails(empty, 0, RTMP_ERROR_TRUNCATED);
}

static void test_depth_limit(void)
{
  /* RTMP_AMF_MAX_DEPTH nested strict arrays are fine; one more is refused. */
  for (int depth = RTMP_AMF_MAX_DEPTH; depth <= RTMP_AMF_MAX_DEPTH + 1; depth++) {
    g_autoptr(GByteArray) b = g_byte_array_new();
    for (int i = 0; i < depth - 1; i++) {
      static const guint8 open[] = {0x0A, 0, 0, 0, 1};
      g_byte_array_append(b, open, sizeof open);
    }
    rtmp_amf_write_null(b);
    g_autoptr(GError) error = NULL;
    g_autoptr(RtmpAmfValue) v = rtmp_amf_decode(b->data, b->len, NULL, &error);
    if (depth <= RTMP_AMF_MAX_DEPTH) {
      g_assert_no_error(error);
      g_assert_nonnull(v);
    } else {
      g_assert_error(error, RTMP_ERROR, RTMP_ERROR_LIMIT);
    }
  }

  /* Deep objects: 10000 levels must fail quickly without exhausting the stack. */
  g_autoptr(GByteArray) deep = g_byte_array_new();
  for (int i = 0; i < 10000; i++) {
    rtmp_amf_write_object_start(deep);
    rtmp_amf_write_key(deep, "o");
  }
  rtmp_amf_write_null(deep);
  assert_decode_fails(deep->data, deep->len, RTMP_ERROR_LIMIT);
}

static void test_value_limit(void)
{
  /* A flat array of more values than one decode may build. */
  guint32 n = RTMP_AMF_MAX_VALUES + 10;
  g_autoptr(GByteArray) b = g_byte_array_new();
  guint8 head[5] = {0x0A, (guint8)(n >> 24), (guint8)(n >> 16), (guint8)(n >> 8), (guint8)n};
  g_byte_array_append(b, head, sizeof head);
  for (guint32 i = 0; i < n; i++)
    rtmp_amf_write_null(b);
  assert_decode_fails(b->data, b->len, RTMP_ERROR_LIMIT);
}

static void test_writers_match_tree(void)
{
  g_autoptr(GByteArray) manual = g_byte_array_new();
  rtmp_amf_write_object_start(manual);
  rtmp_amf_write_key(manual, "n");
  rtmp_amf_write_number(manual, 2);
  rtmp_amf_write_key(manual, "b");
  rtmp_amf_write_boolean(manual, TRUE);
  rtmp_amf_write_key(manual, "s");
  rtmp_amf_write_string(manual, "x");
  rtmp_amf_write_key(manual, "u");
  rtmp_amf_write_undefined(manual);
  rtmp_amf_write_object_end(manual);

  g_autoptr(RtmpAmfValue) o = rtmp_amf_value_new_object();
  rtmp_amf_object_append(o, "n", rtmp_amf_value_new_number(2));
  rtmp_amf_object_append(o, "b", rtmp_amf_value_new_boolean(TRUE));
  rtmp_amf_object_append(o, "s", rtmp_amf_value_new_string("x"));
  rtmp_amf_object_append(o, "u", rtmp_amf_value_new_undefined());
  g_autoptr(GByteArray) tree = g_byte_array_new();
  rtmp_amf_encode(tree, o);
  g_assert_cmpmem(manual->data, manual->len, tree->data, tree->len);
}

/* Random bytes must never crash the decoder; a decoded result must re-encode and decode equal. */
static void test_random_garbage(void)
{
  GRand *rand = g_rand_new_with_seed(1234);
  guint8 buf[256];
  for (int round = 0; round < 20000; round++) {
    gsize len = g_rand_int_range(rand, 0, sizeof buf);
    for (gsize i = 0; i < len; i++)
      buf[i] = (guint8)g_rand_int_range(rand, 0, 20); /* mostly markers and small lengths */
    g_autofree guint8 *copy = g_memdup2(buf, len);
    g_autoptr(GError) error = NULL;
    g_autoptr(RtmpAmfValue) v = rtmp_amf_decode(copy, len, NULL, &error);
    if (v != NULL) {
      g_autoptr(GByteArray) enc = g_byte_array_new();
      rtmp_amf_encode(enc, v);
      g_autoptr(RtmpAmfValue) back = rtmp_amf_decode(enc->data, enc->len, NULL, NULL);
      g_assert_true(rtmp_amf_value_equal(v, back));
    } else {
      g_assert_nonnull(error);
    }
  }
  g_rand_free(rand);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/rtmp/amf0/number", test_number);
  g_test_add_func("/rtmp/amf0/boolean", test_boolean);
  g_test_add_func("/rtmp/amf0/string", test_string);
  g_test_add_func("/rtmp/amf0/long-string", test_long_string);
  g_test_add_func("/rtmp/amf0/null-undefined", test_null_undefined);
  g_test_add_func("/rtmp/amf0/object", test_object);
  g_test_add_func("/rtmp/amf0/ecma-array", test_ecma_array);
  g_test_add_func("/rtmp/amf0/strict-array", test_strict_array);
  g_test_add_func("/rtmp/amf0/date", test_date);
  g_test_add_func("/rtmp/amf0/decode-all", test_decode_all);
  g_test_add_func("/rtmp/amf0/consumed", test_consumed_leaves_trailing);
  g_test_add_func("/rtmp/amf0/truncations", test_truncations);
  g_test_add_func("/rtmp/amf0/malformed", test_malformed);
  g_test_add_func("/rtmp/amf0/depth-limit", test_depth_limit);
  g_test_add_func("/rtmp/amf0/value-limit", test_value_limit);
  g_test_add_func("/rtmp/amf0/writers", test_writers_match_tree);
  g_test_add_func("/rtmp/amf0/random-garbage", test_random_garbage);
  return g_test_run();
}
