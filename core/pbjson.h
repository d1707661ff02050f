/* Protobuf JSON for LiveKit's Ingress and Egress messages, without protobuf.
 *
 * The API speaks LiveKit's messages as JSON. Rather than carry a protobuf runtime, sluice keeps a
 * descriptor table (core/pbjson-schema.c, generated from @livekit/protocol by
 * scripts/gen-pbjson-schema.mjs) and converts between JSON text and json-glib objects with it:
 *
 * - Reading (sl_pbjson_normalize / sl_pbjson_parse) accepts what protobuf JSON parsers accept:
 *   proto field names (`room_name`) and JSON names (`roomName`), enums by name or number, 64-bit
 *   integers as strings or numbers, floats as numbers or "NaN"/"Infinity"/"-Infinity", nested
 *   messages, repeated fields, maps and oneofs, `null` as "not set". It produces the *normalised*
 *   form described below, or an error naming the field path (`video.options.layers[1].width`).
 * - Writing (sl_pbjson_to_string) produces canonical protobuf JSON as protobuf-es (the SDK's
 *   toJson()) writes it: lowerCamel names in field-number order, 64-bit integers as strings,
 *   enums by name, fields holding their default value left out. Go's protojson writes the same
 *   values (in declaration order, which JSON readers ignore).
 *
 * The normalised form mirrors what a generated protobuf struct can hold, as a JsonObject keyed by
 * proto field names (`room_name`, never `roomName`):
 * - int32/uint32/sint32/fixed32 and every 64-bit integer and every enum: a gint64 member (enums by
 *   number; sl_pbjson_enum_name() gives the name). uint64 values above G_MAXINT64 are refused.
 * - bool: boolean; float/double: double; string: string; bytes: standard padded base64 string.
 * - message: JsonObject; repeated: JsonArray; map: JsonObject keyed by the key's JSON spelling.
 * - Presence follows proto3. A plain scalar (or enum) holding its default (0, "", false), an empty
 *   repeated field and an empty map are absent, as they are in a Go struct. Fields that track
 *   presence are kept even when they hold a default: messages (`{}` stays), proto3 `optional`
 *   fields and oneof members. So a handler reads a plain field with
 *   json_object_get_*_member_with_default(obj, "name", default) and asks
 *   json_object_has_member() about the rest.
 *
 * Anything a handler builds for output goes through the reader first (strictly), so a response may
 * be written in any accepted form (enum names, JSON names) and a mistake in it becomes an error
 * rather than a malformed answer.
 *
 * Errors are SL_PBJSON_ERROR; messages start with the field path. Inputs are untrusted: text is
 * checked against RFC 8259 without recursion before json-glib (which accepts comments, hex
 * numbers and trailing text, and wraps integers past 64 bits) reads it, and nesting deeper than
 * SL_PBJSON_MAX_DEPTH is refused. Doubles: -0 counts as 0 (as in protobuf-es); NaN and the
 * infinities are written as the strings protobuf JSON uses, so the normalised form may hold
 * them but json-glib's own generator should not be asked to write it.
 *
 * Thread-safety: every function is pure (the tables are constant); call from any thread.
 */
#ifndef SL_PBJSON_H
#define SL_PBJSON_H

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Numbering as protobuf's FieldDescriptorProto.Type (what protobuf-es calls ScalarType). */
typedef enum {
  SL_PB_DOUBLE = 1,
  SL_PB_FLOAT = 2,
  SL_PB_INT64 = 3,
  SL_PB_UINT64 = 4,
  SL_PB_INT32 = 5,
  SL_PB_FIXED64 = 6,
  SL_PB_FIXED32 = 7,
  SL_PB_BOOL = 8,
  SL_PB_STRING = 9,
  SL_PB_BYTES = 12,
  SL_PB_UINT32 = 13,
  SL_PB_SFIXED32 = 15,
  SL_PB_SFIXED64 = 16,
  SL_PB_SINT32 = 17,
  SL_PB_SINT64 = 18,
} SlPbScalar;

typedef enum {
  SL_PB_KIND_SCALAR,
  SL_PB_KIND_ENUM,
  SL_PB_KIND_MESSAGE,
} SlPbKind;

/* SlPbField.flags */
enum {
  SL_PB_REPEATED = 1 << 0,
  SL_PB_OPTIONAL = 1 << 1, /* proto3 `optional`: explicit presence */
  SL_PB_MAP = 1 << 2,      /* kind/scalar/enum_type/message describe the map's values */
};

typedef struct {
  const char *name;
  gint32 number;
} SlPbEnumValue;

typedef struct {
  const char *full_name; /* "livekit.IngressState.Status" */
  const SlPbEnumValue *values;
  guint n_values;
} SlPbEnum;

typedef struct SlPbMessage SlPbMessage;

typedef struct {
  const char *name;      /* proto name: "room_name" */
  const char *json_name; /* lowerCamel: "roomName" */
  guint32 number;
  guint8 kind;    /* SlPbKind (of the values, for a map) */
  guint8 scalar;  /* SlPbScalar when kind is SL_PB_KIND_SCALAR */
  guint8 flags;   /* SL_PB_REPEATED | SL_PB_OPTIONAL | SL_PB_MAP */
  guint8 map_key; /* SlPbScalar of a map's keys */
  gint16 oneof;   /* index into the message's oneofs, -1 when not in a oneof */
  const SlPbEnum *enum_type;
  const SlPbMessage *message;
} SlPbField;

struct SlPbMessage {
  const char *full_name; /* "livekit.IngressInfo" */
  const SlPbField *fields;
  guint n_fields;
  const char *const *oneofs;
  guint n_oneofs;
};

#define SL_PBJSON_ERROR (sl_pbjson_error_quark())
GQuark sl_pbjson_error_quark(void);

typedef enum {
  SL_PBJSON_ERROR_MALFORMED,     /* not JSON, not an object, nested too deep */
  SL_PBJSON_ERROR_INVALID,       /* a value the field cannot take, a oneof set twice */
  SL_PBJSON_ERROR_UNKNOWN_FIELD, /* only with SL_PBJSON_STRICT */
} SlPbjsonError;

typedef enum {
  SL_PBJSON_NONE = 0,
  /* Reading: an unknown field is an error. Without it unknown fields are skipped, as LiveKit's
   * Twirp servers do (protojson with DiscardUnknown). */
  SL_PBJSON_STRICT = 1 << 0,
  /* Writing: proto field names instead of lowerCamel (protojson's UseProtoNames). */
  SL_PBJSON_PROTO_NAMES = 1 << 1,
  /* Writing: every field that has no presence of its own, defaults included, unset messages as
   * null (protojson's EmitUnpopulated; LiveKit's own Twirp servers answer this way). */
  SL_PBJSON_EMIT_DEFAULTS = 1 << 2,
} SlPbjsonFlags;

/* JSON nesting beyond this is refused; LiveKit's messages nest about six deep. */
#define SL_PBJSON_MAX_DEPTH 64

/* `input` (borrowed) as a normalised `type` (transfer full), or NULL with `error` set. `input`
 * must be a JSON object. */
JsonObject *sl_pbjson_normalize(const SlPbMessage *type, JsonNode *input, SlPbjsonFlags flags,
                                GError **error);

/* JSON text (`len` bytes, or NUL-terminated when -1; NULL with 0) → normalised `type` (transfer
 * full). Text that is not strictly JSON (RFC 8259), or not an object, is
 * SL_PBJSON_ERROR_MALFORMED. */
JsonObject *sl_pbjson_parse(const SlPbMessage *type, const char *data, gssize len,
                            SlPbjsonFlags flags, GError **error);

/* `value` (borrowed; normalised or any form the reader accepts, read strictly) as canonical
 * protobuf JSON text (transfer full). */
char *sl_pbjson_to_string(const SlPbMessage *type, JsonObject *value, SlPbjsonFlags flags,
                          GError **error);

/* Append `s` as a quoted JSON string (RFC 8259 escapes, control characters as \u00XX). The one
 * JSON string writer of the core: JSON log lines use it too. */
void sl_json_append_string(GString *out, const char *s);

/* A deep copy of `o` (transfer full): json_node_copy() shares the members of objects and arrays,
 * so a "copy" made with it changes when the original does, and the other way round. */
JsonObject *sl_json_object_copy(JsonObject *o);

/* Sets `error` to `code` with the message prefixed by `path` ("video.layers[1]: ...") when the
 * path is not empty: how the JSON and binary readers name where a problem is. */
void sl_pbjson_error_at(GError **error, SlPbjsonError code, const GString *path, const char *fmt,
                        va_list ap) G_GNUC_PRINTF(4, 0);

/* Looks a generated descriptor up by full name ("livekit.EgressInfo"); NULL when unknown. */
const SlPbMessage *sl_pbjson_find_message(const char *full_name);
const SlPbEnum *sl_pbjson_find_enum(const char *full_name);
const SlPbField *sl_pbjson_find_field(const SlPbMessage *type, const char *name_or_json_name);

/* Enum helpers: the name of `number` (NULL when the enum has none), and the number of `name`. */
const char *sl_pbjson_enum_name(const SlPbEnum *type, gint64 number);
gboolean sl_pbjson_enum_value(const SlPbEnum *type, const char *name, gint64 *out_number);

/* The generated table (core/pbjson-schema.c). */
extern const char sl_pb_schema_source[]; /* "@livekit/protocol <version>" */
extern const SlPbMessage *const sl_pb_messages[];
extern const guint sl_pb_n_messages;
extern const SlPbEnum *const sl_pb_enums[];
extern const guint sl_pb_n_enums;

/* The descriptors the API uses by name. Every message and enum the Ingress and Egress services
 * reach is in the table; declare more here as callers need them. */
extern const SlPbMessage sl_pb_livekit_CreateIngressRequest;
extern const SlPbMessage sl_pb_livekit_UpdateIngressRequest;
extern const SlPbMessage sl_pb_livekit_ListIngressRequest;
extern const SlPbMessage sl_pb_livekit_ListIngressResponse;
extern const SlPbMessage sl_pb_livekit_DeleteIngressRequest;
extern const SlPbMessage sl_pb_livekit_IngressInfo;
extern const SlPbMessage sl_pb_livekit_IngressState;
extern const SlPbMessage sl_pb_livekit_IngressAudioOptions;
extern const SlPbMessage sl_pb_livekit_IngressVideoOptions;
extern const SlPbMessage sl_pb_livekit_IngressAudioEncodingOptions;
extern const SlPbMessage sl_pb_livekit_IngressVideoEncodingOptions;
extern const SlPbMessage sl_pb_livekit_InputVideoState;
extern const SlPbMessage sl_pb_livekit_InputAudioState;
extern const SlPbMessage sl_pb_livekit_TrackInfo;
extern const SlPbMessage sl_pb_livekit_RoomCompositeEgressRequest;
extern const SlPbMessage sl_pb_livekit_WebEgressRequest;
extern const SlPbMessage sl_pb_livekit_ParticipantEgressRequest;
extern const SlPbMessage sl_pb_livekit_TrackCompositeEgressRequest;
extern const SlPbMessage sl_pb_livekit_TrackEgressRequest;
extern const SlPbMessage sl_pb_livekit_StartEgressRequest;
extern const SlPbMessage sl_pb_livekit_UpdateLayoutRequest;
extern const SlPbMessage sl_pb_livekit_UpdateStreamRequest;
extern const SlPbMessage sl_pb_livekit_ListEgressRequest;
extern const SlPbMessage sl_pb_livekit_ListEgressResponse;
extern const SlPbMessage sl_pb_livekit_StopEgressRequest;
extern const SlPbMessage sl_pb_livekit_EgressInfo;
extern const SlPbMessage sl_pb_livekit_FileInfo;
extern const SlPbMessage sl_pb_livekit_SegmentsInfo;
extern const SlPbMessage sl_pb_livekit_StreamInfo;
extern const SlPbMessage sl_pb_livekit_ImagesInfo;
extern const SlPbMessage sl_pb_livekit_EncodedFileOutput;
extern const SlPbMessage sl_pb_livekit_SegmentedFileOutput;
extern const SlPbMessage sl_pb_livekit_StreamOutput;
extern const SlPbMessage sl_pb_livekit_ImageOutput;
extern const SlPbMessage sl_pb_livekit_DirectFileOutput;
extern const SlPbMessage sl_pb_livekit_EncodingOptions;
extern const SlPbMessage sl_pb_livekit_S3Upload;
extern const SlPbMessage sl_pb_livekit_GCPUpload;
extern const SlPbMessage sl_pb_livekit_AzureBlobUpload;
extern const SlPbMessage sl_pb_livekit_AliOSSUpload;

extern const SlPbEnum sl_pb_enum_livekit_IngressInput;
extern const SlPbEnum sl_pb_enum_livekit_IngressState_Status;
extern const SlPbEnum sl_pb_enum_livekit_EgressStatus;
extern const SlPbEnum sl_pb_enum_livekit_EncodingOptionsPreset;
extern const SlPbEnum sl_pb_enum_livekit_EncodedFileType;
extern const SlPbEnum sl_pb_enum_livekit_SegmentedFileProtocol;
extern const SlPbEnum sl_pb_enum_livekit_SegmentedFileSuffix;
extern const SlPbEnum sl_pb_enum_livekit_ImageFileSuffix;
extern const SlPbEnum sl_pb_enum_livekit_StreamProtocol;
extern const SlPbEnum sl_pb_enum_livekit_StreamInfo_Status;
extern const SlPbEnum sl_pb_enum_livekit_AudioCodec;
extern const SlPbEnum sl_pb_enum_livekit_VideoCodec;
extern const SlPbEnum sl_pb_enum_livekit_TrackType;
extern const SlPbEnum sl_pb_enum_livekit_TrackSource;

G_END_DECLS

#endif /* SL_PBJSON_H */
