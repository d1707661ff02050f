/* output-file — which file container holds which codecs, and the file name that says so.
 *
 * The "file" output picks its container from the codecs it receives and the extension the
 * request asked for:
 *   mp4   H.264 video and/or AAC audio (also AAC alone)
 *   webm  VP8 or VP9 video and/or Opus audio
 *   ogg   Opus audio alone
 * When the requested extension names a container that can hold the codecs, it is kept (Opus
 * alone may go to .webm as well as .ogg). Otherwise LiveKit's rule applies: a wrong extension
 * that names a media format is replaced, and a missing one (or one that is not a media format)
 * is appended. Codecs no container here can hold refuse the output: passthrough cannot help,
 * the request needs a transcode.
 *
 * Pure: no GStreamer calls (the header of the error domain only), no I/O. Strings returned are
 * transfer full; arguments transfer none. Threading: reentrant.
 */
#ifndef OF_CONTAINER_H
#define OF_CONTAINER_H

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  OF_CODEC_NONE = 0, /* no such stream */
  OF_CODEC_H264,
  OF_CODEC_H265,
  OF_CODEC_VP8,
  OF_CODEC_VP9,
  OF_CODEC_AV1,
  OF_CODEC_AAC,
  OF_CODEC_MP3,
  OF_CODEC_OPUS,
  OF_CODEC_OTHER, /* anything else, raw media included */
} OfCodec;

typedef enum {
  OF_CONTAINER_NONE = 0,
  OF_CONTAINER_MP4,
  OF_CONTAINER_WEBM,
  OF_CONTAINER_OGG,
} OfContainer;

/* "H.264", "AAC", "Opus", ... for messages; "none" and "unknown" for the other two. Static. */
const char *of_codec_name(OfCodec codec);

/* "mp4", "webm", "ogg" (no dot), or NULL for OF_CONTAINER_NONE. Static. */
const char *of_container_extension(OfContainer container);

/* The container `filepath`'s extension names, case-insensitively, or OF_CONTAINER_NONE. */
OfContainer of_container_from_extension(const char *filepath);

/* TRUE when `container` holds `video` and `audio` (either may be OF_CODEC_NONE, not both). */
gboolean of_container_accepts(OfContainer container, OfCodec video, OfCodec audio);

/* Choose the container for `video` + `audio` given the requested `filepath`, and set
 * `*final_path` (transfer full) to `filepath` with the matching extension. On failure returns
 * OF_CONTAINER_NONE with `error` set: SLUICE_OUTPUT_ERROR_OPTIONS when there is no stream at
 * all, SLUICE_OUTPUT_ERROR_CAPS (naming the codec) when no container holds the codecs. The
 * caller reports OF_CODEC_OTHER itself, since only it knows the media type's name. */
OfContainer of_container_choose(OfCodec video, OfCodec audio, const char *filepath,
                                char **final_path, GError **error);

/* `filepath` with its extension set to `container`'s: kept when it already matches, replaced
 * when it names another media format, appended otherwise. */
char *of_container_fix_extension(const char *filepath, OfContainer container);

G_END_DECLS

#endif /* OF_CONTAINER_H */
