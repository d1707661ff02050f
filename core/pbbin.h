/* Protobuf binary (wire format) for the messages core/pbjson.h describes.
 *
 * Twirp clients may send `application/protobuf`. Rather than keep a second representation, the
 * binary form is converted to and from pbjson's *normalised* JsonObject (proto field names,
 * 64-bit integers and enums as gint64, bytes as base64), so handlers see the same request
 * whichever encoding the client chose.
 *
 * - Decoding reads proto3 wire format as protobuf's own parsers do: the last value of a scalar
 *   wins, a message given twice is merged, a oneof keeps its last member, repeated scalars are
 *   read packed or unpacked, map entries with a missing key or value take the default, and
 *   fields the descriptor does not know (or with a wire type it does not expect) are skipped.
 *   Plain scalars left at their default are absent from the result, as pbjson leaves them.
 * - Encoding writes what protobuf encoders write: fields in number order, plain scalars at their
 *   default left out, presence fields (messages, `optional`, oneof members) always written,
 *   repeated numeric fields packed, maps as repeated entries (key = 1, value = 2) in the object's
 *   member order.
 *
 * Input is untrusted: every read is bounds-checked, nesting deeper than SL_PBJSON_MAX_DEPTH is
 * refused, and a truncated or overlong varint, a length past the end of its message, a field
 * number of 0 or an unbalanced group is SL_PBJSON_ERROR_MALFORMED. Values a field cannot hold
 * (a string that is not UTF-8, a uint64 above G_MAXINT64) are SL_PBJSON_ERROR_INVALID. Error
 * messages start with the field path, as pbjson's do.
 *
 * Thread-safety: every function is pure; call from any thread.
 */
#ifndef SL_PBBIN_H
#define SL_PBBIN_H

#include "pbjson.h"

G_BEGIN_DECLS

/* `len` bytes of `data` (borrowed; NULL with 0) as a normalised `type` (transfer full), or NULL
 * with `error` set (SL_PBJSON_ERROR). */
JsonObject *sl_pbbin_decode(const SlPbMessage *type, const guint8 *data, gsize len, GError **error);

/* `normalised` (borrowed; normalised, or any form sl_pbjson_normalize() accepts, read strictly)
 * as protobuf wire format (transfer full), or NULL with `error` set (SL_PBJSON_ERROR). */
GBytes *sl_pbbin_encode(const SlPbMessage *type, JsonObject *normalised, GError **error);

G_END_DECLS

#endif /* SL_PBBIN_H */
