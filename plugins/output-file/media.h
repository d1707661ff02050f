/* output-file — what enters a bin: the codec behind a caps field of the options, and the chain
 * behind each "video" / "audio" ghost pad.
 *
 * Each input is `ghost pad -> parser -> muxer request pad`. The parser converts what the source
 * sends into what the muxer wants (h264parse: byte-stream <-> avc, SPS/PPS in band for MPEG-TS;
 * aacparse: ADTS <-> raw; opusparse: headers for Ogg/WebM). No queue is added: the handler feeds
 * each ghost pad from a queue of its own, so every input already has its own streaming thread,
 * and the muxers (aggregators) and splitmuxsink keep their own per-input buffering; another
 * queue would only add a thread hand-off per buffer.
 *
 * Ownership: caps returned by of_media_get_caps() are transfer full; the pad returned by
 * of_media_add_input() is transfer none (owned by its element inside `bin`).
 * Threading: main thread, while the bin is being built.
 */
#ifndef OF_MEDIA_H
#define OF_MEDIA_H

#include <gst/gst.h>

#include "container.h"

G_BEGIN_DECLS

/* Read the caps field `field` ("video-caps" or "audio-caps") of `options`: a GstCaps, or a caps
 * string (for options that went through a text form). Returns TRUE with `*caps` NULL when the
 * field is absent; FALSE with `error` set (SLUICE_OUTPUT_ERROR_CAPS) when it is unusable or of
 * the wrong media kind ("audio/..." in "video-caps"). */
gboolean of_media_get_caps(const GstStructure *options, const char *field, GstCaps **caps,
                           GError **error);

/* The codec `caps` carry. `*media_type` (transfer none, may be NULL) is set to the caps' media
 * type, for messages about OF_CODEC_OTHER. */
OfCodec of_codec_from_caps(const GstCaps *caps, const char **media_type);

/* Build the chain for one input: a parser for `codec` (none for VP8), linked to a new request
 * pad of `sink` from `sink_template` ("video_%u", "audio_%u", "video", ...), and an always sink
 * ghost pad named `ghost_name` on `bin` in front of it. `in_band_headers` makes h264parse repeat
 * SPS/PPS before every keyframe (each MPEG-TS segment must decode on its own). Video inputs drop
 * what arrives before their first keyframe (a bin added to a running session joins mid-GOP).
 * Returns the pad where data first enters the bin's elements (for probes), or NULL with
 * `error` set (SLUICE_OUTPUT_ERROR_ELEMENT when an element is missing). */
GstPad *of_media_add_input(GstBin *bin, const char *ghost_name, OfCodec codec,
                           gboolean in_band_headers, GstElement *sink, const char *sink_template,
                           GError **error);

/* gst_element_factory_make() that reports a missing element as SLUICE_OUTPUT_ERROR_ELEMENT. */
GstElement *of_media_make_element(const char *factory, const char *name, GError **error);

G_END_DECLS

#endif /* OF_MEDIA_H */
