/* The control channel's framing: byte-at-a-time delivery, several frames at once, caps, junk. */
#include "ipc.h"

#include <string.h>

static GBytes *frame_of(const char *json)
{
  g_autoptr(JsonParser) p = json_parser_new();
  g_assert_true(json_parser_load_from_data(p, json, -1, NULL));
  return sl_ipc_frame(json_parser_get_root(p));
}

static void test_roundtrip_bytewise(void)
{
  g_autoptr(SlIpcReader) r = sl_ipc_reader_new();
  g_autoptr(GBytes) f = frame_of("{\"type\":\"state\",\"status\":\"ENDPOINT_BUFFERING\"}");
  gsize n;
  const guint8 *d = g_bytes_get_data(f, &n);
  g_autoptr(GError) err = NULL;
  JsonNode *msg = NULL;
  for (gsize i = 0; i < n; i++) {
    g_assert_null(msg);
    sl_ipc_reader_feed(r, d + i, 1);
    msg = sl_ipc_reader_next(r, &err);
    g_assert_no_error(err);
  }
  g_assert_nonnull(msg);
  g_assert_cmpstr(json_object_get_string_member(json_node_get_object(msg), "status"), ==,
                  "ENDPOINT_BUFFERING");
  json_node_unref(msg);
  g_assert_null(sl_ipc_reader_next(r, &err));
  g_assert_no_error(err);
}

static void test_two_frames_at_once(void)
{
  g_autoptr(SlIpcReader) r = sl_ipc_reader_new();
  g_autoptr(GBytes) a = frame_of("{\"type\":\"a\"}");
  g_autoptr(GBytes) b = frame_of("{\"type\":\"b\"}");
  GByteArray *both = g_byte_array_new();
  JsonNode *m1, *m2;
  gsize n;
  const guint8 *d = g_bytes_get_data(a, &n);
  g_byte_array_append(both, d, (guint)n);
  d = g_bytes_get_data(b, &n);
  g_byte_array_append(both, d, (guint)n);
  sl_ipc_reader_feed(r, both->data, both->len);
  m1 = sl_ipc_reader_next(r, NULL);
  m2 = sl_ipc_reader_next(r, NULL);
  g_assert_cmpstr(json_object_get_string_member(json_node_get_object(m1), "type"), ==, "a");
  g_assert_cmpstr(json_object_get_string_member(json_node_get_object(m2), "type"), ==, "b");
  json_node_unref(m1);
  json_node_unref(m2);
  g_byte_array_unref(both);
}

static void test_oversize_and_junk(void)
{
  g_autoptr(SlIpcReader) r = sl_ipc_reader_new();
  g_autoptr(SlIpcReader) r2 = sl_ipc_reader_new();
  g_autoptr(SlIpcReader) r3 = sl_ipc_reader_new();
  g_autoptr(GError) err = NULL;
  const guint8 huge[4] = {0x7f, 0xff, 0xff, 0xff};
  const guint8 junk[] = {0, 0, 0, 3, 'a', 'b', 'c'};
  const guint8 array[] = {0, 0, 0, 2, '[', ']'};
  sl_ipc_reader_feed(r, huge, 4);
  g_assert_null(sl_ipc_reader_next(r, &err));
  g_assert_error(err, SL_IPC_ERROR, SL_IPC_ERROR_TOO_LARGE);
  g_clear_error(&err);
  sl_ipc_reader_feed(r2, junk, sizeof junk);
  g_assert_null(sl_ipc_reader_next(r2, &err));
  g_assert_error(err, SL_IPC_ERROR, SL_IPC_ERROR_JSON);
  g_clear_error(&err);
  sl_ipc_reader_feed(r3, array, sizeof array);
  g_assert_null(sl_ipc_reader_next(r3, &err));
  g_assert_error(err, SL_IPC_ERROR, SL_IPC_ERROR_JSON);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/ipc/roundtrip-bytewise", test_roundtrip_bytewise);
  g_test_add_func("/ipc/two-frames", test_two_frames_at_once);
  g_test_add_func("/ipc/oversize-and-junk", test_oversize_and_junk);
  return g_test_run();
}
