/* output-file — the "segments" output: HLS with MPEG-TS segments and playlists written here.
 *
 *   "video" ghost -> h264parse (SPS/PPS before every IDR) -+
 *                                                          +-> splitmuxsink (mpegtsmux, filesink)
 *   "audio" ghost -> aacparse -----------------------------+
 *
 * splitmuxsink cuts a new segment at the first keyframe that would make the current one longer
 * than `segment_duration` (passthrough: no keyframe requests, the source's GOP decides), and
 * names each one through "format-location-full": "<filename_prefix>_<NNNNN>.ts" (INDEX) or
 * "<filename_prefix>_<YYYYMMDDHHMMSS>.ts" (TIMESTAMP, UTC of the segment's first sample).
 *
 * Playlists are not hlssink2's: the bin catches splitmuxsink's "splitmuxsink-fragment-opened" /
 * "-closed" element messages in its handle_message, keeps the playlist model (hls-playlist.h)
 * and rewrites each playlist atomically after every closed segment: the main EVENT playlist
 * (`playlist_name`, default "playlist.m3u8" beside the segments) and, when asked for, the live
 * playlist (`live_playlist_name`, the last OF_HLS_LIVE_WINDOW segments). At EOS splitmuxsink
 * closes the last segment, then the bin appends #EXT-X-ENDLIST to both playlists, and only then
 * lets the EOS go on. Reports, in this order per segment: "segment-closed" (filename, size,
 * duration, start-time), then "playlist-updated" for each playlist (filename, size,
 * segment-count and duration of what that playlist lists, "live" TRUE for the live one,
 * "ended" TRUE for the final write with #EXT-X-ENDLIST, which comes before the bin's EOS).
 *
 * Durations are what each segment holds, measured by pad probes on splitmuxsink's inputs and on
 * its muxer's inputs (presentation times, in running time): segments are contiguous, each one
 * starting where splitmuxsink cut the previous one (at a keyframe of the reference stream);
 * the first starts at its earliest sample (audio that arrived before the first keyframe, as it
 * does when the bin joins a running session mid-GOP, is in it), and the last one, recognised
 * by every input having ended and everything given to splitmuxsink having been muxed, ends
 * with its last sample's end.
 *
 * Program date times come from one anchor: the wall clock when the first sample arrived, plus
 * the running time since; so they advance exactly with the EXTINF durations and never drift.
 *
 * Properties (read-only): "playlist-name", "live-playlist-name" (relative to the output dir;
 * the latter NULL when there is none).
 *
 * Ownership: of_segments_bin_new() returns a floating reference; arguments are transfer none.
 * Threading: built on the main thread. "format-location-full" and splitmuxsink's messages
 * arrive on streaming threads (the muxer's and the sink's); all playlist state and the open
 * segments are guarded by the bin's mutex, under which the playlist files are written too, so
 * two updates never interleave. The probes' measurements and the anchor have a mutex of their
 * own (taken after the bin's), so a playlist write never stalls the media.
 */
#ifndef OF_SEGMENTS_BIN_H
#define OF_SEGMENTS_BIN_H

#include <gst/gst.h>

#include "output-file.h"

G_BEGIN_DECLS

#define OF_TYPE_SEGMENTS_BIN (of_segments_bin_get_type())
G_DECLARE_FINAL_TYPE(OfSegmentsBin, of_segments_bin, OF, SEGMENTS_BIN, GstBin)

/* `options`: "filename_prefix", "playlist_name", "live_playlist_name", "segment_duration" (int
 * seconds, 0 or absent: the configured default), "filename_suffix" ("INDEX" / "TIMESTAMP", or
 * LiveKit's enum numbers 0 / 1), "video-caps" / "audio-caps". Paths are relative to `dir`
 * (absolute). Returns NULL with `error` set (SLUICE_OUTPUT_ERROR) when they do not fit. */
GstElement *of_segments_bin_new(const GstStructure *options, const char *dir,
                                const OfConfig *config, GError **error);

G_END_DECLS

#endif /* OF_SEGMENTS_BIN_H */
