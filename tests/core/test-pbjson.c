/* Unit tests for core/pbjson.c: protobuf JSON for LiveKit's messages.
 *
 * Expected output strings were written by livekit-server-sdk 2.19.2 (@livekit/protocol 1.51.0,
 * protobuf-es): `new IngressInfo({...}).toJson()` and so on, passed through JSON.stringify. */
#include "pbjson.h"

#include <string.h>

static JsonObject *parse_ok(const SlPbMessage *type, const char *json, SlPbjsonFlags flags)
{
  g_autoptr(GError) error = NULL;
  JsonObject *obj = sl_pbjson_parse(type, json, -1, flags, &error);
  g_assert_no_error(error);
  g_assert_nonnull(obj);
  return obj;
}

static void parse_fails(const SlPbMessage *type, const char *json, SlPbjsonFlags flags,
                        SlPbjsonError code, const char *message_part)
{
  g_autoptr(GError) error = NULL;
  JsonObject *obj = sl_pbjson_parse(type, json, -1, flags, &error);
  g_assert_null(obj);
  g_assert_error(error, SL_PBJSON_ERROR, (gint)code);
  if (strstr(error->message, message_part) == NULL)
    g_error("expected \"%s\" in \"%s\"", message_part, error->message);
}

static char *encode(const SlPbMessage *type, JsonObject *obj, SlPbjsonFlags flags)
{
  g_autoptr(GError) error = NULL;
  char *out = sl_pbjson_to_string(type, obj, flags, &error);
  g_assert_no_error(error);
  g_assert_nonnull(out);
  return out;
}

/* Reads `in` and writes it back: the canonical form of `in`. */
static void check_canonical(const SlPbMessage *type, const char *in, const char *expected)
{
  g_autoptr(JsonObject) obj = parse_ok(type, in, SL_PBJSON_STRICT);
  g_autofree char *out = encode(type, obj, SL_PBJSON_NONE);
  g_assert_cmpstr(out, ==, expected);
}

static void test_both_name_styles(void)
{
  g_autoptr(JsonObject) a = parse_ok(
      &sl_pb_livekit_CreateIngressRequest,
      "{\"room_name\":\"demo\",\"participantIdentity\":\"studio\",\"participant_name\":\"S\"}",
      SL_PBJSON_STRICT);
  g_assert_cmpstr(json_object_get_string_member(a, "room_name"), ==, "demo");
  g_assert_cmpstr(json_object_get_string_member(a, "participant_identity"), ==, "studio");
  g_assert_cmpstr(json_object_get_string_member(a, "participant_name"), ==, "S");
  g_assert_false(json_object_has_member(a, "participantIdentity"));
  g_assert_cmpuint(json_object_get_size(a), ==, 3);

  /* The same field under both names is given twice (Go's protojson refuses it too). */
  parse_fails(&sl_pb_livekit_CreateIngressRequest, "{\"room_name\":\"a\",\"roomName\":\"b\"}",
              SL_PBJSON_NONE, SL_PBJSON_ERROR_INVALID, "given twice");
  /* Names are exact. */
  parse_fails(&sl_pb_livekit_CreateIngressRequest, "{\"RoomName\":\"a\"}", SL_PBJSON_STRICT,
              SL_PBJSON_ERROR_UNKNOWN_FIELD, "RoomName");
  /* A field whose proto and JSON names are the same. */
  {
    g_autoptr(JsonObject) o =
        parse_ok(&sl_pb_livekit_SegmentedFileOutput, "{\"aliOSS\":{\"bucket\":\"b\"}}", 0);
    g_assert_true(json_object_has_member(o, "aliOSS"));
  }
}

static void test_enums(void)
{
  g_autoptr(JsonObject) by_name = parse_ok(&sl_pb_livekit_CreateIngressRequest,
                                           "{\"inputType\":\"WHIP_INPUT\"}", SL_PBJSON_STRICT);
  g_autoptr(JsonObject) by_number =
      parse_ok(&sl_pb_livekit_CreateIngressRequest, "{\"input_type\":2}", SL_PBJSON_STRICT);
  g_autoptr(JsonObject) zero = parse_ok(&sl_pb_livekit_CreateIngressRequest,
                                        "{\"input_type\":\"RTMP_INPUT\"}", SL_PBJSON_STRICT);
  g_autoptr(JsonObject) open =
      parse_ok(&sl_pb_livekit_CreateIngressRequest, "{\"input_type\":99}", SL_PBJSON_STRICT);
  g_autofree char *open_out = NULL;
  gint64 v = -1;

  g_assert_cmpint(json_object_get_int_member(by_name, "input_type"), ==, 1);
  g_assert_cmpint(json_object_get_int_member(by_number, "input_type"), ==, 2);
  /* The default value of a plain enum is not kept, as in a Go struct. */
  g_assert_false(json_object_has_member(zero, "input_type"));
  /* proto3 enums are open: an unnamed number is kept and written as a number. */
  g_assert_cmpint(json_object_get_int_member(open, "input_type"), ==, 99);
  open_out = encode(&sl_pb_livekit_CreateIngressRequest, open, 0);
  g_assert_cmpstr(open_out, ==, "{\"inputType\":99}");

  parse_fails(&sl_pb_livekit_CreateIngressRequest, "{\"input_type\":\"rtmp_input\"}", 0,
              SL_PBJSON_ERROR_INVALID, "input_type: \"rtmp_input\" is not a value of");
  parse_fails(&sl_pb_livekit_CreateIngressRequest, "{\"input_type\":true}", 0,
              SL_PBJSON_ERROR_INVALID, "input_type: expected a livekit.IngressInput name");
  parse_fails(&sl_pb_livekit_CreateIngressRequest, "{\"input_type\":4294967296}", 0,
              SL_PBJSON_ERROR_INVALID, "out of range");

  g_assert_cmpstr(sl_pbjson_enum_name(&sl_pb_enum_livekit_EgressStatus, 3), ==, "EGRESS_COMPLETE");
  g_assert_null(sl_pbjson_enum_name(&sl_pb_enum_livekit_EgressStatus, 42));
  g_assert_true(
      sl_pbjson_enum_value(&sl_pb_enum_livekit_IngressState_Status, "ENDPOINT_ERROR", &v));
  g_assert_cmpint(v, ==, 3);
  g_assert_false(sl_pbjson_enum_value(&sl_pb_enum_livekit_IngressState_Status, "nope", &v));
}

static void test_int64(void)
{
  g_autoptr(JsonObject) str = parse_ok(&sl_pb_livekit_IngressState,
                                       "{\"startedAt\":\"1700000000123456789\"}", SL_PBJSON_STRICT);
  g_autoptr(JsonObject) num = parse_ok(&sl_pb_livekit_IngressState,
                                       "{\"started_at\":1700000000123456789}", SL_PBJSON_STRICT);
  g_autoptr(JsonObject) neg =
      parse_ok(&sl_pb_livekit_IngressState, "{\"ended_at\":\"-5\"}", SL_PBJSON_STRICT);
  g_autoptr(JsonObject) expo =
      parse_ok(&sl_pb_livekit_IngressState, "{\"ended_at\":\"1e3\",\"updated_at\":2.0e1}", 0);
  g_autoptr(JsonObject) max =
      parse_ok(&sl_pb_livekit_FileInfo, "{\"size\":\"9223372036854775807\"}", SL_PBJSON_STRICT);
  g_autofree char *out = NULL;

  g_assert_cmpint(json_object_get_int_member(str, "started_at"), ==, 1700000000123456789);
  g_assert_cmpint(json_object_get_int_member(num, "started_at"), ==, 1700000000123456789);
  g_assert_cmpint(json_object_get_int_member(neg, "ended_at"), ==, -5);
  g_assert_cmpint(json_object_get_int_member(expo, "ended_at"), ==, 1000);
  g_assert_cmpint(json_object_get_int_member(expo, "updated_at"), ==, 20);
  g_assert_cmpint(json_object_get_int_member(max, "size"), ==, G_MAXINT64);
  out = encode(&sl_pb_livekit_IngressState, num, 0);
  g_assert_cmpstr(out, ==, "{\"startedAt\":\"1700000000123456789\"}");

  parse_fails(&sl_pb_livekit_FileInfo, "{\"size\":\"9223372036854775808\"}", 0,
              SL_PBJSON_ERROR_INVALID, "size: number out of range");
  /* Integer literals past 64 bits are numbers too large for the field, not wrapped around (as
   * json-glib alone would do). */
  parse_fails(&sl_pb_livekit_FileInfo, "{\"size\":9223372036854775808}", 0, SL_PBJSON_ERROR_INVALID,
              "size: number out of range");
  parse_fails(&sl_pb_livekit_FileInfo, "{\"size\":-9223372036854775809}", 0,
              SL_PBJSON_ERROR_INVALID, "size: number out of range");
  parse_fails(&sl_pb_livekit_FileInfo, "{\"size\":18446744073709551616}", 0,
              SL_PBJSON_ERROR_INVALID, "size: number out of range");
  parse_fails(&sl_pb_livekit_InputVideoState, "{\"width\":100000000000000000000000}", 0,
              SL_PBJSON_ERROR_INVALID, "width: number out of range");
  parse_fails(&sl_pb_livekit_FileInfo, "{\"size\":\"01\"}", 0, SL_PBJSON_ERROR_INVALID,
              "is not a number");
  parse_fails(&sl_pb_livekit_FileInfo, "{\"size\":\" 1\"}", 0, SL_PBJSON_ERROR_INVALID,
              "is not a number");
  parse_fails(&sl_pb_livekit_FileInfo, "{\"size\":\"+1\"}", 0, SL_PBJSON_ERROR_INVALID,
              "is not a number");
  parse_fails(&sl_pb_livekit_FileInfo, "{\"size\":\"0x10\"}", 0, SL_PBJSON_ERROR_INVALID,
              "is not a number");
  parse_fails(&sl_pb_livekit_FileInfo, "{\"size\":1.5}", 0, SL_PBJSON_ERROR_INVALID,
              "not an integer");
  parse_fails(&sl_pb_livekit_FileInfo, "{\"size\":true}", 0, SL_PBJSON_ERROR_INVALID,
              "size: expected an integer, got a boolean");
}

static void test_int32_ranges(void)
{
  g_autoptr(JsonObject) ok =
      parse_ok(&sl_pb_livekit_InputVideoState,
               "{\"width\":4294967295,\"height\":\"720\",\"average_bitrate\":5.0}", 0);
  g_assert_cmpint(json_object_get_int_member(ok, "width"), ==, 4294967295);
  g_assert_cmpint(json_object_get_int_member(ok, "height"), ==, 720);
  g_assert_cmpint(json_object_get_int_member(ok, "average_bitrate"), ==, 5);
  parse_fails(&sl_pb_livekit_InputVideoState, "{\"width\":4294967296}", 0, SL_PBJSON_ERROR_INVALID,
              "width: number out of range");
  parse_fails(&sl_pb_livekit_InputVideoState, "{\"width\":-1}", 0, SL_PBJSON_ERROR_INVALID,
              "width");
  parse_fails(&sl_pb_livekit_InputVideoState, "{\"width\":\"-1\"}", 0, SL_PBJSON_ERROR_INVALID,
              "width");
  parse_fails(&sl_pb_livekit_EncodingOptions, "{\"width\":2147483648}", 0, SL_PBJSON_ERROR_INVALID,
              "width");
  {
    g_autoptr(JsonObject) neg =
        parse_ok(&sl_pb_livekit_EncodingOptions, "{\"width\":-2147483648}", 0);
    g_assert_cmpint(json_object_get_int_member(neg, "width"), ==, G_MININT32);
  }
}

static void test_floats(void)
{
  static const struct {
    const char *in;
    const char *out;
  } cases[] = {
      /* Left: input; right: what protobuf-es writes for IngressVideoEncodingOptions.frameRate. */
      {"29.97", "{\"frameRate\":29.97}"},
      {"1e21", "{\"frameRate\":1e+21}"},
      {"1e-7", "{\"frameRate\":1e-7}"},
      {"0.000001", "{\"frameRate\":0.000001}"},
      {"0.1", "{\"frameRate\":0.1}"},
      {"123456789.125", "{\"frameRate\":123456789.125}"},
      {"5e-324", "{\"frameRate\":5e-324}"},
      {"1.7976931348623157e308", "{\"frameRate\":1.7976931348623157e+308}"},
      {"100", "{\"frameRate\":100}"},
      {"-2.5e-8", "{\"frameRate\":-2.5e-8}"},
      {"0.3333333333333333", "{\"frameRate\":0.3333333333333333}"},
      {"\"30\"", "{\"frameRate\":30}"},
      {"100000000000000000000", "{\"frameRate\":100000000000000000000}"},
      {"-9223372036854775809", "{\"frameRate\":-9223372036854776000}"},
      {"-0.0", "{}"},
      {"\"NaN\"", "{\"frameRate\":\"NaN\"}"},
      {"\"-Infinity\"", "{\"frameRate\":\"-Infinity\"}"},
      {"0", "{}"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *in = g_strdup_printf("{\"frame_rate\":%s}", cases[i].in);
    check_canonical(&sl_pb_livekit_IngressVideoEncodingOptions, in, cases[i].out);
  }
  parse_fails(&sl_pb_livekit_IngressVideoEncodingOptions, "{\"frame_rate\":\"inf\"}", 0,
              SL_PBJSON_ERROR_INVALID, "is not a number");
  parse_fails(&sl_pb_livekit_IngressVideoEncodingOptions, "{\"frame_rate\":1e400}", 0,
              SL_PBJSON_ERROR_INVALID, "frame_rate");
  parse_fails(&sl_pb_livekit_IngressVideoEncodingOptions, "{\"frame_rate\":[1]}", 0,
              SL_PBJSON_ERROR_INVALID, "expected a number, got an array");
}

static void test_unknown_fields(void)
{
  g_autoptr(JsonObject) lenient = parse_ok(
      &sl_pb_livekit_CreateIngressRequest,
      "{\"room_name\":\"r\",\"futureField\":{\"x\":[1,2]},\"video\":{\"later\":1,\"name\":\"v\"}}",
      SL_PBJSON_NONE);
  g_assert_cmpuint(json_object_get_size(lenient), ==, 2);
  g_assert_cmpstr(
      json_object_get_string_member(json_object_get_object_member(lenient, "video"), "name"), ==,
      "v");

  parse_fails(&sl_pb_livekit_CreateIngressRequest, "{\"room_name\":\"r\",\"futureField\":1}",
              SL_PBJSON_STRICT, SL_PBJSON_ERROR_UNKNOWN_FIELD,
              "futureField: unknown field in livekit.CreateIngressRequest");
  parse_fails(&sl_pb_livekit_CreateIngressRequest, "{\"video\":{\"later\":1}}", SL_PBJSON_STRICT,
              SL_PBJSON_ERROR_UNKNOWN_FIELD, "video.later: unknown field");
}

static void test_wrong_types(void)
{
  parse_fails(&sl_pb_livekit_CreateIngressRequest, "{\"room_name\":5}", 0, SL_PBJSON_ERROR_INVALID,
              "room_name: expected a string, got a number");
  parse_fails(&sl_pb_livekit_CreateIngressRequest, "{\"bypass_transcoding\":\"true\"}", 0,
              SL_PBJSON_ERROR_INVALID, "bypass_transcoding: expected true or false, got a string");
  parse_fails(&sl_pb_livekit_CreateIngressRequest, "{\"video\":\"cam\"}", 0,
              SL_PBJSON_ERROR_INVALID,
              "video: expected an object (livekit.IngressVideoOptions), got a string");
  parse_fails(&sl_pb_livekit_CreateIngressRequest,
              "{\"video\":{\"options\":{\"layers\":[{\"width\":1},{\"width\":\"x\"}]}}}", 0,
              SL_PBJSON_ERROR_INVALID, "video.options.layers[1].width: \"x\" is not a number");
  parse_fails(&sl_pb_livekit_RoomCompositeEgressRequest, "{\"file_outputs\":{}}", 0,
              SL_PBJSON_ERROR_INVALID, "file_outputs: expected an array, got an object");
  parse_fails(&sl_pb_livekit_RoomCompositeEgressRequest, "{\"fileOutputs\":[null]}", 0,
              SL_PBJSON_ERROR_INVALID, "file_outputs[0]: null is not a list element");
  parse_fails(&sl_pb_livekit_S3Upload, "{\"metadata\":{\"k\":1}}", 0, SL_PBJSON_ERROR_INVALID,
              "metadata[\"k\"]: expected a string");
  parse_fails(&sl_pb_livekit_S3Upload, "{\"metadata\":[]}", 0, SL_PBJSON_ERROR_INVALID,
              "metadata: expected an object (map)");
}

static void test_nulls(void)
{
  g_autoptr(JsonObject) o =
      parse_ok(&sl_pb_livekit_CreateIngressRequest,
               "{\"room_name\":null,\"video\":null,\"enable_transcoding\":null,\"name\":\"n\"}",
               SL_PBJSON_STRICT);
  g_assert_cmpuint(json_object_get_size(o), ==, 1);
  g_assert_cmpstr(json_object_get_string_member(o, "name"), ==, "n");
}

static void test_nested_and_repeated(void)
{
  g_autoptr(JsonObject) req = parse_ok(
      &sl_pb_livekit_RoomCompositeEgressRequest,
      "{\"room_name\":\"demo\",\"audioOnly\":true,\"preset\":\"H264_1080P_30\","
      "\"file_outputs\":[{\"fileType\":\"MP4\",\"filepath\":\"a.mp4\",\"s3\":{\"bucket\":\"b\","
      "\"metadata\":{\"k\":\"v\"}}},{\"filepath\":\"b.ogg\",\"file_type\":2}],"
      "\"segmentOutputs\":[{\"filename_prefix\":\"hls/demo\",\"segment_duration\":\"4\"}],"
      "\"stream_outputs\":[],\"webhooks\":[{\"url\":\"https://h\"}]}",
      SL_PBJSON_STRICT);
  JsonArray *files = json_object_get_array_member(req, "file_outputs");
  JsonObject *f0 = json_array_get_object_element(files, 0);
  JsonObject *f1 = json_array_get_object_element(files, 1);
  JsonObject *s3 = json_object_get_object_member(f0, "s3");
  JsonArray *segs = json_object_get_array_member(req, "segment_outputs");

  g_assert_cmpint(json_object_get_int_member(req, "preset"), ==, 2);
  g_assert_true(json_object_get_boolean_member(req, "audio_only"));
  g_assert_cmpuint(json_array_get_length(files), ==, 2);
  g_assert_cmpint(json_object_get_int_member(f0, "file_type"), ==, 1);
  g_assert_cmpstr(json_object_get_string_member(s3, "bucket"), ==, "b");
  g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(s3, "metadata"), "k"),
                  ==, "v");
  g_assert_cmpint(json_object_get_int_member(f1, "file_type"), ==, 2);
  g_assert_cmpint(
      json_object_get_int_member(json_array_get_object_element(segs, 0), "segment_duration"), ==,
      4);
  /* An empty list is no list, as in a Go struct. */
  g_assert_false(json_object_has_member(req, "stream_outputs"));

  check_canonical(
      &sl_pb_livekit_StartEgressRequest,
      "{\"room_name\":\"r\",\"media\":{\"video_track_id\":\"TR_1\",\"audio\":{\"routes\":"
      "[{\"track_id\":\"TR_2\",\"channel\":1}]}},\"preset\":\"PORTRAIT_H264_720P_30\","
      "\"outputs\":[{\"file\":{\"filepath\":\"x.mp4\"}},{\"segments\":{\"filename_prefix\":\"p\","
      "\"segment_duration\":\"4\"},\"storage\":{\"s3\":{\"bucket\":\"b\"}}}]}",
      "{\"roomName\":\"r\",\"media\":{\"videoTrackId\":\"TR_1\",\"audio\":{\"routes\":[{"
      "\"trackId\":\"TR_2\",\"channel\":\"AUDIO_CHANNEL_LEFT\"}]}},\"preset\":\"PORTRAIT_H264_"
      "720P_30\",\"outputs\":[{\"file\":{\"filepath\":\"x.mp4\"}},{\"segments\":{"
      "\"filenamePrefix\":\"p\",\"segmentDuration\":4},\"storage\":{\"s3\":{\"bucket\":\"b\"}}}]}");
  check_canonical(&sl_pb_livekit_ListIngressResponse,
                  "{\"items\":[{\"ingress_id\":\"IN_1\",\"state\":{}},{\"ingress_id\":\"IN_2\","
                  "\"input_type\":\"URL_INPUT\"}]}",
                  "{\"items\":[{\"ingressId\":\"IN_1\",\"state\":{}},{\"ingressId\":\"IN_2\","
                  "\"inputType\":\"URL_INPUT\"}]}");
}

static void test_oneofs(void)
{
  g_autoptr(JsonObject) zero =
      parse_ok(&sl_pb_livekit_RoomCompositeEgressRequest, "{\"preset\":0}", SL_PBJSON_STRICT);
  g_autoptr(JsonObject) nulled =
      parse_ok(&sl_pb_livekit_RoomCompositeEgressRequest,
               "{\"preset\":null,\"advanced\":{\"width\":1280}}", SL_PBJSON_STRICT);
  g_autofree char *zero_out = NULL;

  /* A oneof member holding its default is still the member that is set. */
  g_assert_true(json_object_has_member(zero, "preset"));
  zero_out = encode(&sl_pb_livekit_RoomCompositeEgressRequest, zero, 0);
  g_assert_cmpstr(zero_out, ==, "{\"preset\":\"H264_720P_30\"}");
  g_assert_false(json_object_has_member(nulled, "preset"));
  g_assert_true(json_object_has_member(nulled, "advanced"));

  parse_fails(&sl_pb_livekit_RoomCompositeEgressRequest,
              "{\"preset\":\"H264_720P_30\",\"advanced\":{\"width\":1}}", 0,
              SL_PBJSON_ERROR_INVALID, "advanced: oneof options is already set by preset");
  parse_fails(&sl_pb_livekit_EncodedFileOutput, "{\"s3\":{},\"gcp\":{}}", 0,
              SL_PBJSON_ERROR_INVALID, "oneof output is already set by s3");
  parse_fails(&sl_pb_livekit_TrackEgressRequest,
              "{\"file\":{\"filepath\":\"x\"},\"websocket_url\":\"\"}", 0, SL_PBJSON_ERROR_INVALID,
              "oneof output");
}

static void test_optional_presence(void)
{
  check_canonical(&sl_pb_livekit_CreateIngressRequest,
                  "{\"name\":\"n\",\"room_name\":\"r\",\"participant_identity\":\"p\","
                  "\"enable_transcoding\":false,\"bypass_transcoding\":false,\"url\":\"\"}",
                  "{\"name\":\"n\",\"roomName\":\"r\",\"participantIdentity\":\"p\","
                  "\"enableTranscoding\":false}");
}

#define SDK_INGRESS_INFO                                                                           \
  "{\"ingressId\":\"IN_abc123\",\"name\":\"studio\",\"streamKey\":\"sk_0123456789abcdef\","        \
  "\"url\":\"rtmp://127.0.0.1:1935/live\",\"video\":{\"name\":\"cam\",\"source\":\"CAMERA\","      \
  "\"preset\":\"H264_720P_30FPS_3_LAYERS\"},\"roomName\":\"demo\",\"participantIdentity\":"        \
  "\"studio\",\"participantName\":\"Studio\",\"reusable\":true,\"state\":{\"status\":"             \
  "\"ENDPOINT_PUBLISHING\",\"video\":{\"mimeType\":\"video/h264\",\"averageBitrate\":2500000,"     \
  "\"width\":1280,\"height\":720,\"framerate\":29.97},\"audio\":{\"mimeType\":\"audio/aac\","      \
  "\"averageBitrate\":128000,\"channels\":2,\"sampleRate\":48000},\"roomId\":\"RM_xyz\","          \
  "\"tracks\":[{\"sid\":\"TR_video1\",\"type\":\"VIDEO\",\"name\":\"cam\",\"width\":1280,"         \
  "\"height\":720,\"source\":\"CAMERA\",\"mimeType\":\"video/h264\"},{\"sid\":\"TR_audio1\","      \
  "\"name\":\"mic\",\"source\":\"MICROPHONE\",\"mimeType\":\"audio/opus\",\"stereo\":true}],"      \
  "\"startedAt\":\"1700000000123456789\",\"updatedAt\":\"1700000005000000000\"},"                  \
  "\"enableTranscoding\":false,\"enabled\":true}"

static void test_ingress_info_output(void)
{
  /* As a handler would build it: proto names, enum names, 64-bit numbers as numbers, defaults
   * spelled out, fields in any order. */
  check_canonical(
      &sl_pb_livekit_IngressInfo,
      "{\"state\":{\"status\":\"ENDPOINT_PUBLISHING\",\"error\":\"\",\"room_id\":\"RM_xyz\","
      "\"video\":{\"mime_type\":\"video/h264\",\"average_bitrate\":2500000,\"width\":1280,"
      "\"height\":720,\"framerate\":29.97},\"audio\":{\"mime_type\":\"audio/aac\","
      "\"average_bitrate\":128000,\"channels\":2,\"sample_rate\":48000},"
      "\"started_at\":1700000000123456789,\"ended_at\":0,\"updated_at\":1700000005000000000,"
      "\"resource_id\":\"\",\"tracks\":[{\"sid\":\"TR_video1\",\"type\":\"VIDEO\",\"name\":\"cam\","
      "\"width\":1280,\"height\":720,\"source\":\"CAMERA\",\"mime_type\":\"video/h264\"},"
      "{\"sid\":\"TR_audio1\",\"type\":\"AUDIO\",\"name\":\"mic\",\"source\":\"MICROPHONE\","
      "\"mime_type\":\"audio/opus\",\"stereo\":true,\"muted\":false}]},"
      "\"ingress_id\":\"IN_abc123\",\"name\":\"studio\",\"stream_key\":\"sk_0123456789abcdef\","
      "\"url\":\"rtmp://127.0.0.1:1935/live\",\"input_type\":\"RTMP_INPUT\","
      "\"bypass_transcoding\":false,\"enable_transcoding\":false,\"video\":{\"name\":\"cam\","
      "\"source\":\"CAMERA\",\"preset\":\"H264_720P_30FPS_3_LAYERS\"},\"room_name\":\"demo\","
      "\"participant_identity\":\"studio\",\"participant_name\":\"Studio\","
      "\"participant_metadata\":\"\",\"reusable\":true,\"enabled\":true}",
      SDK_INGRESS_INFO);
  /* The SDK's own JSON reads back to itself. */
  check_canonical(&sl_pb_livekit_IngressInfo, SDK_INGRESS_INFO, SDK_INGRESS_INFO);
}

#define SDK_EGRESS_INFO                                                                            \
  "{\"egressId\":\"EG_abc\",\"roomId\":\"RM_xyz\",\"status\":\"EGRESS_COMPLETE\","                 \
  "\"roomComposite\":{\"roomName\":\"demo\",\"layout\":\"speaker\",\"preset\":\"H264_1080P_30\","  \
  "\"fileOutputs\":[{\"fileType\":\"MP4\",\"filepath\":\"demo-{time}.mp4\",\"s3\":{"               \
  "\"accessKey\":\"AKIA\",\"region\":\"us-east-1\",\"bucket\":\"rec\",\"metadata\":{\"a\":"        \
  "\"1\"}}}]},\"startedAt\":\"1700000000000000000\",\"endedAt\":\"1700000060500000000\","          \
  "\"roomName\":\"demo\",\"streamResults\":[{\"url\":\"rtmp://x/live/{abc...xyz}\",\"status\":"    \
  "\"FAILED\",\"error\":\"connection refused\"}],\"fileResults\":[{\"filename\":\"demo-1.mp4\","   \
  "\"startedAt\":\"1700000000000000000\",\"endedAt\":\"1700000060500000000\",\"size\":"            \
  "\"12345678\",\"location\":\"s3://rec/demo-1.mp4\",\"duration\":\"60500000000\"}],"              \
  "\"segmentResults\":[{\"playlistName\":\"index.m3u8\",\"duration\":\"60000000000\",\"size\":"    \
  "\"999\",\"segmentCount\":\"30\"}],\"updatedAt\":\"1700000061000000000\",\"imageResults\":[{"    \
  "\"filenamePrefix\":\"thumb\"}],\"backupStorageUsed\":true}"

static void test_egress_info_output(void)
{
  g_autoptr(JsonObject) info = json_object_new();
  g_autoptr(JsonObject) req = json_object_new();
  g_autoptr(JsonObject) file_out = json_object_new();
  g_autoptr(JsonObject) s3 = json_object_new();
  g_autoptr(JsonObject) meta = json_object_new();
  g_autoptr(JsonArray) file_outputs = json_array_new();
  g_autoptr(JsonObject) file_info = json_object_new();
  g_autoptr(JsonArray) file_results = json_array_new();
  g_autoptr(JsonObject) seg_info = json_object_new();
  g_autoptr(JsonArray) seg_results = json_array_new();
  g_autoptr(JsonObject) stream_info = json_object_new();
  g_autoptr(JsonArray) stream_results = json_array_new();
  g_autoptr(JsonObject) image_info = json_object_new();
  g_autoptr(JsonArray) image_results = json_array_new();
  g_autofree char *out = NULL;

  /* Built with json-glib as a handler would, mixing enum numbers and names. */
  json_object_set_string_member(meta, "a", "1");
  json_object_set_string_member(s3, "access_key", "AKIA");
  json_object_set_string_member(s3, "secret", "");
  json_object_set_string_member(s3, "region", "us-east-1");
  json_object_set_string_member(s3, "bucket", "rec");
  json_object_set_object_member(s3, "metadata", json_object_ref(meta));
  json_object_set_int_member(file_out, "file_type", 1);
  json_object_set_string_member(file_out, "filepath", "demo-{time}.mp4");
  json_object_set_object_member(file_out, "s3", json_object_ref(s3));
  json_array_add_object_element(file_outputs, json_object_ref(file_out));
  json_object_set_string_member(req, "room_name", "demo");
  json_object_set_string_member(req, "layout", "speaker");
  json_object_set_string_member(req, "preset", "H264_1080P_30");
  json_object_set_array_member(req, "file_outputs", json_array_ref(file_outputs));

  json_object_set_string_member(file_info, "filename", "demo-1.mp4");
  json_object_set_int_member(file_info, "started_at", G_GINT64_CONSTANT(1700000000000000000));
  json_object_set_int_member(file_info, "ended_at", G_GINT64_CONSTANT(1700000060500000000));
  json_object_set_int_member(file_info, "duration", G_GINT64_CONSTANT(60500000000));
  json_object_set_int_member(file_info, "size", 12345678);
  json_object_set_string_member(file_info, "location", "s3://rec/demo-1.mp4");
  json_array_add_object_element(file_results, json_object_ref(file_info));
  json_object_set_string_member(seg_info, "playlist_name", "index.m3u8");
  json_object_set_int_member(seg_info, "duration", G_GINT64_CONSTANT(60000000000));
  json_object_set_int_member(seg_info, "size", 999);
  json_object_set_int_member(seg_info, "segment_count", 30);
  json_array_add_object_element(seg_results, json_object_ref(seg_info));
  json_object_set_string_member(stream_info, "url", "rtmp://x/live/{abc...xyz}");
  json_object_set_string_member(stream_info, "status", "FAILED");
  json_object_set_string_member(stream_info, "error", "connection refused");
  json_array_add_object_element(stream_results, json_object_ref(stream_info));
  json_object_set_string_member(image_info, "filename_prefix", "thumb");
  json_object_set_int_member(image_info, "image_count", 0);
  json_array_add_object_element(image_results, json_object_ref(image_info));

  json_object_set_string_member(info, "egress_id", "EG_abc");
  json_object_set_string_member(info, "room_id", "RM_xyz");
  json_object_set_string_member(info, "room_name", "demo");
  json_object_set_int_member(info, "status", 3);
  json_object_set_int_member(info, "started_at", G_GINT64_CONSTANT(1700000000000000000));
  json_object_set_int_member(info, "ended_at", G_GINT64_CONSTANT(1700000060500000000));
  json_object_set_int_member(info, "updated_at", G_GINT64_CONSTANT(1700000061000000000));
  json_object_set_object_member(info, "room_composite", json_object_ref(req));
  json_object_set_array_member(info, "file_results", json_array_ref(file_results));
  json_object_set_array_member(info, "segment_results", json_array_ref(seg_results));
  json_object_set_array_member(info, "stream_results", json_array_ref(stream_results));
  json_object_set_array_member(info, "image_results", json_array_ref(image_results));
  json_object_set_string_member(info, "error", "");
  json_object_set_int_member(info, "error_code", 0);
  json_object_set_boolean_member(info, "backup_storage_used", TRUE);

  out = encode(&sl_pb_livekit_EgressInfo, info, SL_PBJSON_NONE);
  g_assert_cmpstr(out, ==, SDK_EGRESS_INFO);
  check_canonical(&sl_pb_livekit_EgressInfo, SDK_EGRESS_INFO, SDK_EGRESS_INFO);
}

static void test_output_flags(void)
{
  g_autoptr(JsonObject) file =
      parse_ok(&sl_pb_livekit_FileInfo, "{\"filename\":\"a.mp4\",\"size\":5}", SL_PBJSON_STRICT);
  g_autoptr(JsonObject) stream = parse_ok(&sl_pb_livekit_StreamInfo, "{\"url\":\"u\"}", 0);
  g_autoptr(JsonObject) state = parse_ok(&sl_pb_livekit_IngressState, "{}", 0);
  g_autofree char *a =
      encode(&sl_pb_livekit_FileInfo, file, SL_PBJSON_PROTO_NAMES | SL_PBJSON_EMIT_DEFAULTS);
  g_autofree char *b =
      encode(&sl_pb_livekit_StreamInfo, stream, SL_PBJSON_PROTO_NAMES | SL_PBJSON_EMIT_DEFAULTS);
  g_autofree char *c =
      encode(&sl_pb_livekit_IngressState, state, SL_PBJSON_PROTO_NAMES | SL_PBJSON_EMIT_DEFAULTS);
  g_autofree char *d = encode(&sl_pb_livekit_FileInfo, file, SL_PBJSON_PROTO_NAMES);
  /* toJson({useProtoFieldName: true, emitDefaultValues: true}) */
  g_assert_cmpstr(a, ==,
                  "{\"filename\":\"a.mp4\",\"started_at\":\"0\",\"ended_at\":\"0\",\"size\":\"5\","
                  "\"location\":\"\",\"duration\":\"0\"}");
  g_assert_cmpstr(b, ==,
                  "{\"url\":\"u\",\"started_at\":\"0\",\"ended_at\":\"0\",\"duration\":\"0\","
                  "\"status\":\"ACTIVE\",\"error\":\"\",\"last_retry_at\":\"0\",\"retries\":0}");
  /* Unset messages are null, as Go's EmitUnpopulated writes them (protobuf-es leaves them out). */
  g_assert_cmpstr(c, ==,
                  "{\"status\":\"ENDPOINT_INACTIVE\",\"error\":\"\",\"video\":null,\"audio\":null,"
                  "\"room_id\":\"\",\"tracks\":[],\"started_at\":\"0\",\"ended_at\":\"0\","
                  "\"resource_id\":\"\",\"updated_at\":\"0\"}");
  g_assert_cmpstr(d, ==, "{\"filename\":\"a.mp4\",\"size\":\"5\"}");
}

static void test_string_escapes(void)
{
  check_canonical(&sl_pb_livekit_IngressInfo,
                  "{\"name\":\"a\\\"b\\\\\\n\\u0001\\u001f\\u00e9\\u2028/<>\"}",
                  "{\"name\":\"a\\\"b\\\\\\n\\u0001\\u001f\xc3\xa9"
                  "\xe2\x80\xa8"
                  "/<>\"}");
}

static void test_malformed(void)
{
  GString *deep = g_string_new("{\"video\":");
  parse_fails(&sl_pb_livekit_CreateIngressRequest, "", 0, SL_PBJSON_ERROR_MALFORMED, "got nothing");
  parse_fails(&sl_pb_livekit_CreateIngressRequest, "not json", 0, SL_PBJSON_ERROR_MALFORMED, "");
  parse_fails(&sl_pb_livekit_CreateIngressRequest, "{\"name\":", 0, SL_PBJSON_ERROR_MALFORMED, "");
  parse_fails(&sl_pb_livekit_CreateIngressRequest, "[]", 0, SL_PBJSON_ERROR_MALFORMED,
              "got an array");
  parse_fails(&sl_pb_livekit_CreateIngressRequest, "\"x\"", 0, SL_PBJSON_ERROR_MALFORMED,
              "got a string");
  parse_fails(&sl_pb_livekit_CreateIngressRequest, "{\"name\":\"\xff\"}", 0,
              SL_PBJSON_ERROR_MALFORMED, "UTF-8");
  /* Only JSON: json-glib alone would take each of these. */
  {
    static const char *const not_json[] = {
        "{\"size\":0x10}",
        "{\"size\":01}",
        "{\"size\":.5}",
        "/* c */{}",
        "{\"filename\":\"x\"} {}",
        "{\"filename\":\"a\\u0000b\"}",
        "{\"filename\":\"\\ud800\"}",
        "{\"filename\":\"\\udc00\\ud800\"}",
        "{\"filename\":\"tab\there\"}",
        "{\"filename\":'x'}",
        "{filename:\"x\"}",
        "{\"filename\":\"x\",}",
        "[1,]",
        "{\"size\":Infinity}",
        "\xef\xbb\xbf{}",
        "{\"filename\":\"x\"",
        "{\"filename\" \"x\"}",
        "{\"size\":1e}",
        "{\"size\":-}",
        "{\"a\":tru}",
    };
    for (guint i = 0; i < G_N_ELEMENTS(not_json); i++)
      parse_fails(&sl_pb_livekit_FileInfo, not_json[i], 0, SL_PBJSON_ERROR_MALFORMED, " at byte ");
  }
  {
    g_autoptr(JsonObject) o = parse_ok(
        &sl_pb_livekit_FileInfo,
        " {\"filename\":\"\\ud83c\\udfa5 \\\"\\/\\b\\f\\n\\r\\t\",\n\"size\":-0,\"duration\":1E2} ",
        SL_PBJSON_STRICT);
    g_assert_cmpstr(json_object_get_string_member(o, "filename"), ==,
                    "\xf0\x9f\x8e\xa5 \"/\b\f\n\r\t");
    g_assert_false(json_object_has_member(o, "size"));
    g_assert_cmpint(json_object_get_int_member(o, "duration"), ==, 100);
  }
  for (int i = 0; i < 100000; i++)
    g_string_append_c(deep, '[');
  parse_fails(&sl_pb_livekit_CreateIngressRequest, deep->str, 0, SL_PBJSON_ERROR_MALFORMED,
              "nested deeper");
  g_string_free(deep, TRUE);
  {
    /* Length-bounded input: a NUL inside is not the end of the text. */
    g_autoptr(GError) error = NULL;
    g_assert_null(sl_pbjson_parse(&sl_pb_livekit_CreateIngressRequest, "{}\0{}", 5, 0, &error));
    g_assert_error(error, SL_PBJSON_ERROR, SL_PBJSON_ERROR_MALFORMED);
  }
}

static void test_output_refuses(void)
{
  g_autoptr(JsonObject) bad = json_object_new();
  g_autoptr(JsonObject) wrong = json_object_new();
  g_autoptr(GError) error = NULL;
  json_object_set_string_member(bad, "ingress_id", "IN_1");
  json_object_set_string_member(bad, "not_a_field", "x");
  g_assert_null(sl_pbjson_to_string(&sl_pb_livekit_IngressInfo, bad, 0, &error));
  g_assert_error(error, SL_PBJSON_ERROR, SL_PBJSON_ERROR_UNKNOWN_FIELD);
  g_clear_error(&error);
  json_object_set_string_member(wrong, "status", "EGRESS_DONE");
  g_assert_null(sl_pbjson_to_string(&sl_pb_livekit_EgressInfo, wrong, 0, &error));
  g_assert_error(error, SL_PBJSON_ERROR, SL_PBJSON_ERROR_INVALID);
}

static void test_lookups(void)
{
  g_assert_true(sl_pbjson_find_message("livekit.EgressInfo") == &sl_pb_livekit_EgressInfo);
  g_assert_true(sl_pbjson_find_message("livekit.IngressInfo") == &sl_pb_livekit_IngressInfo);
  g_assert_null(sl_pbjson_find_message("livekit.Nope"));
  g_assert_true(sl_pbjson_find_enum("livekit.IngressState.Status") ==
                &sl_pb_enum_livekit_IngressState_Status);
  g_assert_true(sl_pbjson_find_field(&sl_pb_livekit_IngressInfo, "streamKey") ==
                sl_pbjson_find_field(&sl_pb_livekit_IngressInfo, "stream_key"));
  g_assert_true(g_str_has_prefix(sl_pb_schema_source, "@livekit/protocol "));
  /* The table is sorted (bsearch relies on it) and every message's fields are by number. */
  for (guint i = 1; i < sl_pb_n_messages; i++)
    g_assert_cmpint(strcmp(sl_pb_messages[i - 1]->full_name, sl_pb_messages[i]->full_name), <, 0);
  for (guint i = 0; i < sl_pb_n_messages; i++) {
    const SlPbMessage *m = sl_pb_messages[i];
    g_assert_true(sl_pbjson_find_message(m->full_name) == m);
    for (guint j = 1; j < m->n_fields; j++)
      g_assert_cmpuint(m->fields[j - 1].number, <, m->fields[j].number);
  }
  for (guint i = 1; i < sl_pb_n_enums; i++)
    g_assert_cmpint(strcmp(sl_pb_enums[i - 1]->full_name, sl_pb_enums[i]->full_name), <, 0);
}

/* A copy shares nothing with its original: nested objects, arrays and values are new. */
static void test_object_copy(void)
{
  g_autoptr(JsonParser) p = json_parser_new();
  JsonObject *orig, *copy, *nested;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_assert_true(json_parser_load_from_data(
      p, "{\"a\":1,\"s\":\"x\",\"n\":null,\"o\":{\"k\":[1,{\"d\":2.5}]},\"b\":true}", -1, NULL));
  orig = json_node_get_object(json_parser_get_root(p));
  before = json_to_string(json_parser_get_root(p), FALSE);
  copy = sl_json_object_copy(orig);
  nested = json_object_get_object_member(copy, "o");
  json_object_set_string_member(nested, "added", "y");
  json_object_set_int_member(
      json_array_get_object_element(json_object_get_array_member(nested, "k"), 1), "d", 7);
  json_object_set_int_member(copy, "a", 9);
  after = json_to_string(json_parser_get_root(p), FALSE);
  g_assert_cmpstr(before, ==, after);
  g_assert_cmpint(json_object_get_int_member(copy, "a"), ==, 9);
  g_assert_true(json_object_get_null_member(copy, "n"));
  g_assert_cmpstr(json_object_get_string_member(copy, "s"), ==, "x");
  g_assert_true(json_object_get_boolean_member(copy, "b"));
  json_object_unref(copy);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/pbjson/both-name-styles", test_both_name_styles);
  g_test_add_func("/pbjson/enums", test_enums);
  g_test_add_func("/pbjson/int64", test_int64);
  g_test_add_func("/pbjson/int32-ranges", test_int32_ranges);
  g_test_add_func("/pbjson/floats", test_floats);
  g_test_add_func("/pbjson/unknown-fields", test_unknown_fields);
  g_test_add_func("/pbjson/wrong-types", test_wrong_types);
  g_test_add_func("/pbjson/nulls", test_nulls);
  g_test_add_func("/pbjson/nested-and-repeated", test_nested_and_repeated);
  g_test_add_func("/pbjson/oneofs", test_oneofs);
  g_test_add_func("/pbjson/optional-presence", test_optional_presence);
  g_test_add_func("/pbjson/ingress-info-output", test_ingress_info_output);
  g_test_add_func("/pbjson/egress-info-output", test_egress_info_output);
  g_test_add_func("/pbjson/output-flags", test_output_flags);
  g_test_add_func("/pbjson/string-escapes", test_string_escapes);
  g_test_add_func("/pbjson/malformed", test_malformed);
  g_test_add_func("/pbjson/output-refuses", test_output_refuses);
  g_test_add_func("/pbjson/lookups", test_lookups);
  g_test_add_func("/pbjson/object-copy", test_object_copy);
  return g_test_run();
}
