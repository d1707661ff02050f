/*
 * rtmp/error.h - the error domain shared by the RTMP protocol engine.
 *
 * Every parser and state machine under rtmp/ reports failures as a GError in the RTMP_ERROR
 * domain with one of the codes below. The codes are coarse on purpose: the caller's only
 * decision is whether to close the connection (always, for any of them), and the message
 * says what exactly was wrong for the log.
 *
 * Ownership: GErrors are returned with (transfer full) as usual for GLib.
 * Thread-safety: the quark function may be called from any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RTMP_ERROR (rtmp_error_quark())

typedef enum {
  /* The input ended in the middle of a value that has a fixed or declared length. */
  RTMP_ERROR_TRUNCATED,
  /* The bytes do not follow the format (bad marker, bad length, inconsistent header). */
  RTMP_ERROR_MALFORMED,
  /* Well-formed but outside what this engine implements (AMF references, RTMPE, ...). */
  RTMP_ERROR_UNSUPPORTED,
  /* A resource cap was hit: nesting depth, message size, buffered bytes, chunk streams. */
  RTMP_ERROR_LIMIT,
  /* The handshake failed (wrong version byte, fed after failure). */
  RTMP_ERROR_HANDSHAKE,
  /* A message arrived that is not allowed in the current connection state. */
  RTMP_ERROR_PROTOCOL,
} RtmpError;

GQuark rtmp_error_quark(void);

G_END_DECLS
