/* Unit tests for core/pbbin.c: protobuf wire format for LiveKit's messages.
 *
 * The golden vectors were written by @livekit/protocol 1.51.0 (protobuf-es), LiveKit's own
 * encoder: for each input, `Message.fromJson(input).toBinary()` as hex and `toJsonString()` as the
 * canonical JSON. */
#include "pbbin.h"

#include <string.h>

typedef struct {
  const SlPbMessage *type;
  const char *json;      /* what was given to fromJson() */
  const char *hex;       /* toBinary() */
  const char *canonical; /* toJsonString() */
} Vector;

static const Vector vectors[] = {
    {&sl_pb_livekit_CreateIngressRequest,
     "{\"inputType\":\"WHIP_INPUT\",\"name\":\"n\",\"roomName\":\"room\","
     "\"participantIdentity\":\"id\",\"participantName\":\"Name é\","
     "\"audio\":{\"name\":\"mic\",\"source\":\"MICROPHONE\",\"optio"
     "ns\":{\"audioCodec\":\"OPUS\","
     "\"bitrate\":64000,\"disableDtx\":true,\"channels\":2}},"
     "\"video\":{\"name\":\"cam\",\"source\":\"CAMERA\",\"options\":"
     "{\"videoCodec\":\"H264_BASELINE\","
     "\"frameRate\":29.97,\"layers\":[{\"quality\":\"HIGH\",\"width\":1280,"
     "\"height\":720,\"bitrate\":3000000},{\"quality\":\"LOW\","
     "\"width\":320,\"height\":180,\"bitrate\":150000}]}},\"enableTranscoding\":false,"
     "\"enabled\":true,\"participantMetadata\":\"{\\\"k\\\":1}\"}",
     "080112016e1a04726f6f6d220269642a074e616d6520c3a932130a036d69631002220a08011080f4"
     "03180120023a2f0a0363616d10012226080111b81e85eb51f83d401a0d080210800a18d00520c08d"
     "b7011a0a10c00218b40120f0930952077b226b223a317d58006001",
     "{\"inputType\":\"WHIP_INPUT\",\"name\":\"n\",\"roomName\":\"room\","
     "\"participantIdentity\":\"id\",\"participantName\":\"Name é\","
     "\"audio\":{\"name\":\"mic\",\"source\":\"MICROPHONE\",\"optio"
     "ns\":{\"audioCodec\":\"OPUS\","
     "\"bitrate\":64000,\"disableDtx\":true,\"channels\":2}},"
     "\"video\":{\"name\":\"cam\",\"source\":\"CAMERA\",\"options\":"
     "{\"videoCodec\":\"H264_BASELINE\","
     "\"frameRate\":29.97,\"layers\":[{\"quality\":\"HIGH\",\"width\":1280,"
     "\"height\":720,\"bitrate\":3000000},{\"width\":320,\"height\":180,"
     "\"bitrate\":150000}]}},\"participantMetadata\":\"{\\\"k\\\":1}\","
     "\"enableTranscoding\":false,\"enabled\":true}"},
    {&sl_pb_livekit_RoomCompositeEgressRequest,
     "{\"roomName\":\"r\",\"layout\":\"grid\",\"preset\":\"H264_1080P_60\","
     "\"fileOutputs\":[{\"fileType\":\"MP4\",\"filepath\":\"out/{room_name}.mp4\","
     "\"s3\":{\"accessKey\":\"AK\",\"secret\":\"SK\",\"bucket\":\"b\","
     "\"region\":\"eu\",\"metadata\":{\"x\":\"1\"}}}],\"streamOutpu"
     "ts\":[{\"protocol\":\"RTMP\","
     "\"urls\":[\"rtmp://a/x\",\"rtmp://b/y\"]}],\"segmentOutpu"
     "ts\":[{\"protocol\":\"HLS_PROTOCOL\","
     "\"filenamePrefix\":\"seg\",\"playlistName\":\"p.m3u8\","
     "\"segmentDuration\":6}]}",
     "0a017212046772696440035a30080112136f75742f7b726f6f6d5f6e616d657d2e6d70341a170a02"
     "414b1202534b1a0265752a01623a060a0178120131621a0801120a72746d703a2f2f612f78120a72"
     "746d703a2f2f622f796a11080112037365671a06702e6d3375382006",
     "{\"roomName\":\"r\",\"layout\":\"grid\",\"preset\":\"H264_1080P_60\","
     "\"fileOutputs\":[{\"fileType\":\"MP4\",\"filepath\":\"out/{room_name}.mp4\","
     "\"s3\":{\"accessKey\":\"AK\",\"secret\":\"SK\",\"region\":\"eu\","
     "\"bucket\":\"b\",\"metadata\":{\"x\":\"1\"}}}],\"streamOutput"
     "s\":[{\"protocol\":\"RTMP\","
     "\"urls\":[\"rtmp://a/x\",\"rtmp://b/y\"]}],\"segmentOutpu"
     "ts\":[{\"protocol\":\"HLS_PROTOCOL\","
     "\"filenamePrefix\":\"seg\",\"playlistName\":\"p.m3u8\","
     "\"segmentDuration\":6}]}"},
    {&sl_pb_livekit_IngressInfo,
     "{\"ingressId\":\"IN_abc\",\"name\":\"n\",\"streamKey\":\"sk\","
     "\"url\":\"rtmp://h/live\",\"inputType\":\"RTMP_INPUT\","
     "\"roomName\":\"room\",\"participantIdentity\":\"pi\",\"reusable\":true,"
     "\"enabled\":false,\"state\":{\"status\":\"ENDPOINT_PUBLISHING\","
     "\"roomId\":\"RM_1\",\"startedAt\":\"1700000000000000000\","
     "\"updatedAt\":\"1700000000123456789\",\"resourceId\":\"res\","
     "\"video\":{\"mimeType\":\"video/h264\",\"averageBitrate\":2500000,"
     "\"width\":1920,\"height\":1080,\"framerate\":30},\"tracks\":[{\"sid\":\"TR_1\","
     "\"type\":\"AUDIO\",\"name\":\"mic\",\"audioFeatures\":[\"TF_STEREO\","
     "\"TF_NO_DTX\"],\"stereo\":true}]}}",
     "0a06494e5f61626312016e1a02736b220d72746d703a2f2f682f6c6976654204726f6f6d4a027069"
     "5801625708021a200a0a766964656f2f6832363410a0cb980118800f20b808290000000000003e40"
     "2a04524d5f3132120a0454525f311a036d696370019a01020001388080a8b1e39fe7cb174a037265"
     "7350959a97ece39fe7cb17800100",
     "{\"ingressId\":\"IN_abc\",\"name\":\"n\",\"streamKey\":\"sk\","
     "\"url\":\"rtmp://h/live\",\"roomName\":\"room\",\"participantIdentity\":\"pi\","
     "\"reusable\":true,\"state\":{\"status\":\"ENDPOINT_PUBLISHING\","
     "\"video\":{\"mimeType\":\"video/h264\",\"averageBitrate\":2500000,"
     "\"width\":1920,\"height\":1080,\"framerate\":30},\"roomId\":\"RM_1\","
     "\"tracks\":[{\"sid\":\"TR_1\",\"name\":\"mic\",\"stereo\":true,"
     "\"audioFeatures\":[\"TF_STEREO\",\"TF_NO_DTX\"]}],\"start"
     "edAt\":\"1700000000000000000\","
     "\"resourceId\":\"res\",\"updatedAt\":\"1700000000123456789\"},"
     "\"enabled\":false}"},
    {&sl_pb_livekit_EgressInfo,
     "{\"egressId\":\"EG_1\",\"roomId\":\"RM_1\",\"roomName\":\"r\","
     "\"status\":\"EGRESS_COMPLETE\",\"startedAt\":\"1700000000000000000\","
     "\"endedAt\":\"1700000060000000000\",\"updatedAt\":\"-5\","
     "\"error\":\"\",\"details\":\"d\",\"roomComposite\":{\"roomName\":\"r\","
     "\"layout\":\"speaker\",\"audioOnly\":true,\"file\":{\"fileType\":\"OGG\","
     "\"filepath\":\"a.ogg\"}},\"fileResults\":[{\"filename\":\"a.ogg\","
     "\"startedAt\":\"1\",\"endedAt\":\"2\",\"duration\":\"60000000000\","
     "\"size\":\"123456789012\",\"location\":\"s3://b/a.ogg\"},"
     "{\"filename\":\"b.ogg\",\"size\":\"1\"}]}",
     "0a0445475f311204524d5f31180322190a01721207737065616b65721801320908021205612e6f67"
     "67508080a8b1e39fe7cb175880b0c5f3c2a1e7cb176a01728201270a05612e6f6767100118022094"
     "b4e4f4cb032a0c73333a2f2f622f612e6f67673080b09dc2df018201090a05622e6f676720019001"
     "fbffffffffffffffff01aa010164",
     "{\"egressId\":\"EG_1\",\"roomId\":\"RM_1\",\"status\":\"EGRESS_COMPLETE\","
     "\"roomComposite\":{\"roomName\":\"r\",\"layout\":\"speaker\","
     "\"audioOnly\":true,\"file\":{\"fileType\":\"OGG\",\"filepath\":\"a.ogg\"}},"
     "\"startedAt\":\"1700000000000000000\",\"endedAt\":\"1700000060000000000\","
     "\"roomName\":\"r\",\"fileResults\":[{\"filename\":\"a.ogg\","
     "\"startedAt\":\"1\",\"endedAt\":\"2\",\"size\":\"123456789012\","
     "\"location\":\"s3://b/a.ogg\",\"duration\":\"60000000000\"},"
     "{\"filename\":\"b.ogg\",\"size\":\"1\"}],\"updatedAt\":\"-5\","
     "\"details\":\"d\"}"},
};

static GBytes *from_hex(const char *hex)
{
  gsize n = strlen(hex) / 2;
  guint8 *buf = g_malloc(n + 1);
  g_assert_cmpuint(strlen(hex) % 2, ==, 0);
  for (gsize i = 0; i < n; i++)
    buf[i] = (guint8)(g_ascii_xdigit_value(hex[2 * i]) << 4 | g_ascii_xdigit_value(hex[2 * i + 1]));
  return g_bytes_new_take(buf, n);
}

static char *to_hex(GBytes *bytes)
{
  gsize n;
  const guint8 *p = g_bytes_get_data(bytes, &n);
  GString *s = g_string_new(NULL);
  for (gsize i = 0; i < n; i++)
    g_string_append_printf(s, "%02x", p[i]);
  return g_string_free(s, FALSE);
}

static JsonObject *decode_hex(const SlPbMessage *type, const char *hex)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = from_hex(hex);
  JsonObject *obj =
      sl_pbbin_decode(type, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), &error);
  g_assert_no_error(error);
  g_assert_nonnull(obj);
  return obj;
}

static char *encode_hex(const SlPbMessage *type, JsonObject *obj)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = sl_pbbin_encode(type, obj, &error);
  g_assert_no_error(error);
  g_assert_nonnull(bytes);
  return to_hex(bytes);
}

static JsonObject *parse(const SlPbMessage *type, const char *json)
{
  g_autoptr(GError) error = NULL;
  JsonObject *obj = sl_pbjson_parse(type, json, -1, SL_PBJSON_STRICT, &error);
  g_assert_no_error(error);
  return obj;
}

static void assert_same(JsonObject *a, JsonObject *b)
{
  g_autoptr(JsonNode) na = json_node_init_object(json_node_alloc(), a);
  g_autoptr(JsonNode) nb = json_node_init_object(json_node_alloc(), b);
  if (!json_node_equal(na, nb)) {
    g_autofree char *sa = json_to_string(na, FALSE);
    g_autofree char *sb = json_to_string(nb, FALSE);
    g_error("%s\n!=\n%s", sa, sb);
  }
}

static void decode_fails(const SlPbMessage *type, const char *hex, SlPbjsonError code,
                         const char *message_part)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = from_hex(hex);
  g_autoptr(JsonObject) obj =
      sl_pbbin_decode(type, g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), &error);
  g_assert_null(obj);
  g_assert_error(error, SL_PBJSON_ERROR, (gint)code);
  if (strstr(error->message, message_part) == NULL)
    g_error("expected \"%s\" in \"%s\"", message_part, error->message);
}

/* Our bytes are LiveKit's bytes, and LiveKit's bytes read back as the JSON it writes. */
static void test_golden(void)
{
  for (guint i = 0; i < G_N_ELEMENTS(vectors); i++) {
    const Vector *v = &vectors[i];
    g_autoptr(JsonObject) parsed = parse(v->type, v->json);
    g_autofree char *hex = encode_hex(v->type, parsed);
    g_autoptr(JsonObject) decoded = decode_hex(v->type, v->hex);
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;
    g_test_message("%s", v->type->full_name);
    g_assert_cmpstr(hex, ==, v->hex);
    assert_same(decoded, parsed);
    text = sl_pbjson_to_string(v->type, decoded, SL_PBJSON_NONE, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(text, ==, v->canonical);
  }
}

/* JSON → binary → JSON gives back the normalised object, for every vector. */
static void test_round_trip(void)
{
  for (guint i = 0; i < G_N_ELEMENTS(vectors); i++) {
    const Vector *v = &vectors[i];
    g_autoptr(JsonObject) parsed = parse(v->type, v->json);
    g_autofree char *hex = encode_hex(v->type, parsed);
    g_autoptr(JsonObject) back = decode_hex(v->type, hex);
    assert_same(back, parsed);
  }
}

static void test_empty(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) obj = sl_pbbin_decode(&sl_pb_livekit_EgressInfo, NULL, 0, &error);
  g_autoptr(JsonObject) none = json_object_new();
  g_autofree char *hex = NULL;
  g_assert_no_error(error);
  g_assert_cmpuint(json_object_get_size(obj), ==, 0);
  hex = encode_hex(&sl_pb_livekit_EgressInfo, none);
  g_assert_cmpstr(hex, ==, "");
}

/* Defaults are left out when writing and dropped when read; presence fields are kept. */
static void test_defaults(void)
{
  g_autoptr(JsonObject) in =
      parse(&sl_pb_livekit_CreateIngressRequest, "{\"inputType\":\"RTMP_INPUT\",\"name\":\"\","
                                                 "\"enabled\":false,\"audio\":{}}");
  g_autofree char *hex = encode_hex(&sl_pb_livekit_CreateIngressRequest, in);
  g_autoptr(JsonObject) explicit_zero = NULL;
  /* audio (6) empty, enabled (12) false: present; input_type and name: not written. */
  g_assert_cmpstr(hex, ==, "32006000");
  /* input_type 0 and name "" on the wire read as absent. */
  explicit_zero = decode_hex(&sl_pb_livekit_CreateIngressRequest, "08001200");
  g_assert_cmpuint(json_object_get_size(explicit_zero), ==, 0);
}

/* Negative int32s and enums are ten-byte varints; int64 takes all 64 bits. */
static void test_negative(void)
{
  g_autoptr(JsonObject) in = parse(&sl_pb_livekit_CreateIngressRequest, "{\"inputType\":-1}");
  g_autofree char *hex = encode_hex(&sl_pb_livekit_CreateIngressRequest, in);
  g_autoptr(JsonObject) back = decode_hex(&sl_pb_livekit_CreateIngressRequest, hex);
  g_assert_cmpstr(hex, ==, "08ffffffffffffffffff01");
  g_assert_cmpint(json_object_get_int_member(back, "input_type"), ==, -1);
}

/* Repeated numbers read packed or not (and both mixed); written packed. */
static void test_packed(void)
{
  g_autoptr(JsonObject) unpacked = decode_hex(&sl_pb_livekit_TrackInfo, "980100980101");
  g_autoptr(JsonObject) mixed = decode_hex(&sl_pb_livekit_TrackInfo, "9801009a01020102");
  g_autofree char *hex = encode_hex(&sl_pb_livekit_TrackInfo, unpacked);
  JsonArray *a = json_object_get_array_member(mixed, "audio_features");
  g_assert_cmpstr(hex, ==, "9a01020001");
  g_assert_cmpuint(json_array_get_length(a), ==, 3);
  g_assert_cmpint(json_array_get_int_element(a, 2), ==, 2);
  /* An empty packed run adds nothing. */
  g_clear_pointer(&mixed, json_object_unref);
  mixed = decode_hex(&sl_pb_livekit_TrackInfo, "9a0100");
  g_assert_false(json_object_has_member(mixed, "audio_features"));
}

/* Fields the descriptor does not know, or with a wire type it does not use, are skipped. */
static void test_unknown_skipped(void)
{
  g_autoptr(JsonObject) obj =
      decode_hex(&sl_pb_livekit_CreateIngressRequest,
                 /* 1000: varint; 1001: fixed64; 1002: bytes; 1003: fixed32; 1004: a group holding
                  * a varint; name (2) as a varint; then room_name (3) */
                 "c03e9601c93e0102030405060708d23e03616263dd3e01020304e33e08"
                 "01e43e"
                 "1005"
                 "1a0172");
  g_assert_cmpuint(json_object_get_size(obj), ==, 1);
  g_assert_cmpstr(json_object_get_string_member(obj, "room_name"), ==, "r");
}

/* The last scalar wins, a message given twice is merged, a oneof keeps its last member. */
static void test_merge(void)
{
  g_autoptr(JsonObject) obj =
      decode_hex(&sl_pb_livekit_CreateIngressRequest,
                 /* name "a", name "b"; audio {name "x"}, audio {source 2} */
                 "120161120162"
                 "32030a0178"
                 "32021002");
  JsonObject *audio = json_object_get_object_member(obj, "audio");
  g_assert_cmpstr(json_object_get_string_member(obj, "name"), ==, "b");
  g_assert_cmpstr(json_object_get_string_member(audio, "name"), ==, "x");
  g_assert_cmpint(json_object_get_int_member(audio, "source"), ==, 2);
}

static void test_oneof_last_wins(void)
{
  /* RoomCompositeEgressRequest: file (6), then stream (7): only stream is kept. */
  const SlPbField *file = sl_pbjson_find_field(&sl_pb_livekit_RoomCompositeEgressRequest, "file");
  const SlPbField *stream =
      sl_pbjson_find_field(&sl_pb_livekit_RoomCompositeEgressRequest, "stream");
  g_autofree char *hex = NULL;
  g_autoptr(JsonObject) obj = NULL;
  g_assert_nonnull(file);
  g_assert_nonnull(stream);
  g_assert_cmpint(file->oneof, >=, 0);
  g_assert_cmpint(file->oneof, ==, stream->oneof);
  hex = g_strdup_printf("%02x00%02x00", file->number << 3 | 2, stream->number << 3 | 2);
  obj = decode_hex(&sl_pb_livekit_RoomCompositeEgressRequest, hex);
  g_assert_false(json_object_has_member(obj, "file"));
  g_assert_true(json_object_has_member(obj, "stream"));
}

/* Map entries missing their key or value take the defaults. */
static void test_map_entries(void)
{
  /* S3Upload.metadata (7): {key "k"} and {value "v"}. */
  g_autoptr(JsonObject) obj = decode_hex(&sl_pb_livekit_S3Upload, "3a030a016b"
                                                                  "3a031201"
                                                                  "76");
  JsonObject *map = json_object_get_object_member(obj, "metadata");
  g_assert_cmpuint(json_object_get_size(map), ==, 2);
  g_assert_cmpstr(json_object_get_string_member(map, "k"), ==, "");
  g_assert_cmpstr(json_object_get_string_member(map, ""), ==, "v");
}

static void test_malformed(void)
{
  const SlPbMessage *t = &sl_pb_livekit_CreateIngressRequest;
  g_autoptr(GString) bomb = g_string_new(NULL);
  decode_fails(t, "08", SL_PBJSON_ERROR_MALFORMED, "truncated varint");
  decode_fails(t, "0880", SL_PBJSON_ERROR_MALFORMED, "input_type: truncated varint");
  decode_fails(t, "08ffffffffffffffffff02", SL_PBJSON_ERROR_MALFORMED, "longer than 64 bits");
  decode_fails(t, "08ffffffffffffffffffff01", SL_PBJSON_ERROR_MALFORMED, "longer than 64 bits");
  decode_fails(t, "120561", SL_PBJSON_ERROR_MALFORMED, "name: length 5 past the end");
  decode_fails(t, "12ffffffffffffffff7f", SL_PBJSON_ERROR_MALFORMED, "past the end");
  decode_fails(t, "3205120361", SL_PBJSON_ERROR_MALFORMED, "audio: length 5 past the end");
  decode_fails(t, "32030a0561", SL_PBJSON_ERROR_MALFORMED, "audio.name: length 5 past the end");
  decode_fails(t, "0001", SL_PBJSON_ERROR_MALFORMED, "invalid field number 0");
  decode_fails(t, "0f", SL_PBJSON_ERROR_MALFORMED, "invalid wire type 7");
  decode_fails(t, "0c", SL_PBJSON_ERROR_MALFORMED, "without a start");
  decode_fails(t, "0b", SL_PBJSON_ERROR_MALFORMED, "has no end");
  decode_fails(t, "0b14", SL_PBJSON_ERROR_MALFORMED, "group 1 ended as 2");
  decode_fails(t, "c93e0102", SL_PBJSON_ERROR_MALFORMED, "truncated 8-byte value");
  decode_fails(t, "1201ff", SL_PBJSON_ERROR_INVALID, "name: string is not valid UTF-8");
  decode_fails(t, "120161120100", SL_PBJSON_ERROR_INVALID, "not valid UTF-8");
  /* A depth bomb: groups inside groups, far deeper than any message nests. */
  for (guint i = 0; i < 100000; i++)
    g_string_append(bomb, "fb01");
  decode_fails(t, bomb->str, SL_PBJSON_ERROR_MALFORMED, "nested too deep");
}

/* Encoding reads its input strictly, as sl_pbjson_to_string() does. */
static void test_encode_refuses(void)
{
  g_autoptr(JsonObject) obj = json_object_new();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  json_object_set_string_member(obj, "no_such_field", "x");
  bytes = sl_pbbin_encode(&sl_pb_livekit_IngressInfo, obj, &error);
  g_assert_null(bytes);
  g_assert_error(error, SL_PBJSON_ERROR, SL_PBJSON_ERROR_UNKNOWN_FIELD);
}

/* Handlers may build responses with enum names and JSON names; they are written the same. */
static void test_encode_any_form(void)
{
  g_autoptr(JsonObject) a =
      parse(&sl_pb_livekit_IngressInfo, "{\"ingress_id\":\"IN_1\",\"input_type\":1,"
                                        "\"state\":{\"status\":2,\"started_at\":5}}");
  g_autoptr(JsonNode) b = json_from_string("{\"ingressId\":\"IN_1\",\"inputType\":\"WHIP_INPUT\","
                                           "\"state\":{\"status\":\"ENDPOINT_PUBLISHING\","
                                           "\"startedAt\":\"5\"}}",
                                           NULL);
  g_autofree char *ha = encode_hex(&sl_pb_livekit_IngressInfo, a);
  g_autofree char *hb = encode_hex(&sl_pb_livekit_IngressInfo, json_node_get_object(b));
  g_assert_cmpstr(ha, ==, hb);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/pbbin/golden", test_golden);
  g_test_add_func("/pbbin/round-trip", test_round_trip);
  g_test_add_func("/pbbin/empty", test_empty);
  g_test_add_func("/pbbin/defaults", test_defaults);
  g_test_add_func("/pbbin/negative", test_negative);
  g_test_add_func("/pbbin/packed", test_packed);
  g_test_add_func("/pbbin/unknown-skipped", test_unknown_skipped);
  g_test_add_func("/pbbin/merge", test_merge);
  g_test_add_func("/pbbin/oneof-last-wins", test_oneof_last_wins);
  g_test_add_func("/pbbin/map-entries", test_map_entries);
  g_test_add_func("/pbbin/malformed", test_malformed);
  g_test_add_func("/pbbin/encode-refuses", test_encode_refuses);
  g_test_add_func("/pbbin/encode-any-form", test_encode_any_form);
  return g_test_run();
}
