/*
 * libFuzzer target for the AMF0 decoder and encoder (rtmp/amf0.c).
 *
 * Decodes the input as a sequence of values (the shape of a command message) and as a single
 * value; whatever decodes must encode and decode again to an equal tree, and encoding that tree
 * again must give the same bytes. GLib criticals and warnings abort.
 *
 * Build from the repository root with clang -g -O1 -fsanitize=fuzzer,address,undefined,
 * -Iplugins/input-rtmp, this file and every .c file in plugins/input-rtmp/rtmp/, linked against
 * glib-2.0 and libcrypto (pkg-config).
 * Corpus: fuzz/corpus/amf0/
 */
#include <stdint.h>
#include <string.h>

#include "rtmp/amf0.h"

static void check_round_trip(const RtmpAmfValue *v)
{
  g_autoptr(GByteArray) enc = g_byte_array_new();
  rtmp_amf_encode(enc, v);
  gsize consumed = 0;
  g_autoptr(RtmpAmfValue) back = rtmp_amf_decode(enc->data, enc->len, &consumed, NULL);
  if (back == NULL || consumed != enc->len || !rtmp_amf_value_equal(v, back))
    __builtin_trap();
  g_autoptr(GByteArray) again = g_byte_array_new();
  rtmp_amf_encode(again, back);
  if (again->len != enc->len || memcmp(again->data, enc->data, enc->len) != 0)
    __builtin_trap();
  g_autoptr(RtmpAmfValue) copy = rtmp_amf_value_copy(v);
  if (!rtmp_amf_value_equal(v, copy))
    __builtin_trap();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) values = rtmp_amf_decode_all(data, size, &error);
  if ((values == NULL) == (error == NULL))
    __builtin_trap();
  if (values != NULL)
    for (guint i = 0; i < values->len; i++)
      check_round_trip(g_ptr_array_index(values, i));

  gsize consumed = 0;
  g_autoptr(RtmpAmfValue) one = rtmp_amf_decode(data, size, &consumed, NULL);
  if (one != NULL) {
    if (consumed > size)
      __builtin_trap();
    check_round_trip(one);
  }
  return 0;
}
