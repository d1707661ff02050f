/*
 * libFuzzer target for the RTMP server engine (rtmp/server.c and, through it, the handshake,
 * chunk reader and AMF0 decoder).
 *
 * The input is the byte stream a client would send, starting with C0. It is fed to a fresh
 * RtmpServerConn in slices of varying size (1, 3, 17, 128, 4096 bytes, repeating) so that both
 * the byte-at-a-time paths and the bulk paths run; publishes are accepted from inside the
 * callback so that media and metadata paths are reachable (stream keys starting with '!' are
 * rejected instead, to reach that path too). GLib criticals and warnings abort, so
 * a violated precondition counts as a crash.
 *
 * Build from the repository root with clang -g -O1 -fsanitize=fuzzer,address,undefined,
 * -Iplugins/input-rtmp, this file and every .c file in plugins/input-rtmp/rtmp/, linked against
 * glib-2.0 and libcrypto (pkg-config).
 * Corpus: fuzz/corpus/rtmp_server/
 */
#include <stdint.h>
#include <string.h>

#include "rtmp/server.h"

static void fuzz_publish(RtmpServerConn *conn, const gchar *app, const gchar *name,
                         const gchar *key, gpointer user_data)
{
  (void)app;
  (void)name;
  (void)user_data;
  /* Exercise both answers; the key's first byte decides so the fuzzer can steer it. */
  if (key[0] == '!')
    rtmp_server_conn_reject_publish(conn, "NetStream.Publish.BadName", "rejected by fuzzer");
  else
    rtmp_server_conn_accept_publish(conn);
}

static void fuzz_metadata(RtmpServerConn *conn, const RtmpAmfValue *meta, const guint8 *body,
                          gsize len, gpointer user_data)
{
  (void)conn;
  (void)user_data;
  /* The script body must always decode back to "onMetaData" + the same value. */
  g_autoptr(GPtrArray) values = rtmp_amf_decode_all(body, len, NULL);
  if (values == NULL || values->len != 2 ||
      !rtmp_amf_value_equal(g_ptr_array_index(values, 1), meta))
    __builtin_trap();
}

static void fuzz_media(RtmpServerConn *conn, RtmpMediaType type, guint32 ts, const guint8 *payload,
                       gsize len, gpointer user_data)
{
  (void)conn;
  (void)ts;
  (void)user_data;
  if (type != RTMP_MEDIA_AUDIO && type != RTMP_MEDIA_VIDEO)
    __builtin_trap();
  /* Touch the payload so ASan checks its bounds. */
  volatile guint8 sink = 0;
  for (gsize i = 0; i < len; i += 512)
    sink ^= payload[i];
  if (len > 0)
    sink ^= payload[len - 1];
  (void)sink;
}

static void fuzz_random(guint8 *buf, gsize len, gpointer user_data)
{
  (void)user_data;
  memset(buf, 0x42, len);
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
  static const gsize slices[] = {1, 3, 17, 128, 4096};
  const RtmpServerCallbacks cb = {
      .on_publish = fuzz_publish,
      .on_metadata = fuzz_metadata,
      .on_media = fuzz_media,
      .fill_random = fuzz_random,
  };
  g_autoptr(RtmpServerConn) conn = rtmp_server_conn_new(&cb, NULL);
  gsize pos = 0;
  for (guint i = 0; pos < size; i++) {
    gsize n = MIN(slices[i % G_N_ELEMENTS(slices)], size - pos);
    g_autoptr(GError) error = NULL;
    gboolean ok = rtmp_server_conn_feed(conn, data + pos, n, &error);
    pos += n;
    g_autoptr(GBytes) out = rtmp_server_conn_take_output(conn);
    if (ok != (error == NULL))
      __builtin_trap();
    if (!ok)
      break;
  }
  return 0;
}
