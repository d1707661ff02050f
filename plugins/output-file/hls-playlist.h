/* output-file — the HLS media playlist model (RFC 8216), without GStreamer and without I/O.
 *
 * The segments output keeps one OfHlsPlaylist per session and adds a segment each time
 * splitmuxsink closes one. Rendering produces the complete text of a playlist; the caller writes
 * it (atomic-write.h). Two renderings exist over the same segment list:
 *   - the main playlist: every segment, #EXT-X-PLAYLIST-TYPE:EVENT, media sequence 0;
 *   - the live playlist: a sliding window of the last N segments, the media sequence advancing
 *     as segments leave the window, no playlist type.
 * Both end with #EXT-X-ENDLIST once of_hls_playlist_end() was called.
 *
 * Target duration (RFC 8216 §4.3.3.1): every EXTINF, rounded to the nearest integer, must be at
 * most #EXT-X-TARGETDURATION. A segment may be longer than the configured duration (a long GOP),
 * and it may arrive after shorter ones, so the playlist is rendered whole each time with the
 * maximum over every segment so far, never less than the configured segment duration. The
 * rounding is done on the value as written (milliseconds), so the check a player makes on the
 * text always agrees with the tag.
 *
 * Ownership: an OfHlsPlaylist owns copies of every string given to it; rendered texts and
 * formatted names are transfer full (g_free).
 * Threading: no internal locking. The segments bin calls it under its own mutex (from the
 * streaming threads that deliver splitmuxsink's messages).
 */
#ifndef OF_HLS_PLAYLIST_H
#define OF_HLS_PLAYLIST_H

#include <glib.h>

G_BEGIN_DECLS

/* Segments the live playlist keeps (LiveKit's egress keeps the same number). */
#define OF_HLS_LIVE_WINDOW 5

/* "No program date time known" for of_hls_playlist_add_segment(). */
#define OF_HLS_NO_DATE_TIME G_MININT64

typedef struct _OfHlsPlaylist OfHlsPlaylist;

/* `min_target_duration` (seconds, >= 1): the configured segment duration; the target duration
 * never goes below it. */
OfHlsPlaylist *of_hls_playlist_new(guint min_target_duration);
void of_hls_playlist_free(OfHlsPlaylist *playlist);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(OfHlsPlaylist, of_hls_playlist_free)

/* Append a segment. `uri` (copied) as it appears in the playlist, relative to the playlist's
 * directory; `duration` in nanoseconds; `program_date_time` in microseconds since the Unix epoch
 * (UTC) of the segment's first sample, or OF_HLS_NO_DATE_TIME. Ignored after the end. */
void of_hls_playlist_add_segment(OfHlsPlaylist *playlist, const char *uri, guint64 duration,
                                 gint64 program_date_time);

/* Mark the playlist complete: later renderings carry #EXT-X-ENDLIST. */
void of_hls_playlist_end(OfHlsPlaylist *playlist);
gboolean of_hls_playlist_is_ended(const OfHlsPlaylist *playlist);

guint of_hls_playlist_get_segment_count(const OfHlsPlaylist *playlist);
/* Sum of the segment durations as written (ms precision), in nanoseconds. */
guint64 of_hls_playlist_get_total_duration(const OfHlsPlaylist *playlist);
/* Sum of the durations of the last `window` segments (what the live playlist lists), in ns. */
guint64 of_hls_playlist_get_window_duration(const OfHlsPlaylist *playlist, guint window);
/* The #EXT-X-TARGETDURATION value the next rendering will carry. */
guint of_hls_playlist_get_target_duration(const OfHlsPlaylist *playlist);

/* The main (EVENT) playlist: every segment. Transfer full. */
char *of_hls_playlist_render_event(const OfHlsPlaylist *playlist);
/* The live playlist: the last `window` segments (>= 1), #EXT-X-MEDIA-SEQUENCE set to the index
 * of the first one. Transfer full. */
char *of_hls_playlist_render_live(const OfHlsPlaylist *playlist, guint window);

/* --- helpers, exposed for the segments bin and for tests --- */

/* Nanoseconds to whole milliseconds, rounded to nearest: the precision EXTINF is written with. */
guint64 of_hls_duration_ms(guint64 duration);
/* The integer an EXTINF of `duration` (ns) rounds to, half up: 4.499 s -> 4, 4.5 s -> 5. */
guint of_hls_rounded_seconds(guint64 duration);

/* "2024-03-05T07:08:09.123Z" for `epoch_us` microseconds since the epoch. Transfer full. */
char *of_hls_format_date_time(gint64 epoch_us);

/* Segment file names. `prefix` may hold a directory part ("hls/room"); the suffix goes after
 * its last component. Transfer full.
 *   INDEX:     "<prefix>_00042.ts"            (index zero-padded to 5 digits)
 *   TIMESTAMP: "<prefix>_20240305070809.ts"   (UTC date and time of the segment's start) */
char *of_hls_segment_name_index(const char *prefix, guint index);
char *of_hls_segment_name_timestamp(const char *prefix, gint64 epoch_us);

/* The URI that reaches `target` from a playlist at `playlist`. Both are '/'-separated paths
 * relative to the same root, without ".." components (the plugin refuses those earlier).
 * "a/b/p.m3u8" + "a/b/s_1.ts" -> "s_1.ts"; "a/p.m3u8" + "a/x/s.ts" -> "x/s.ts";
 * "a/b/p.m3u8" + "a/c/s.ts" -> "../c/s.ts". Transfer full. */
char *of_hls_relative_uri(const char *playlist, const char *target);

G_END_DECLS

#endif /* OF_HLS_PLAYLIST_H */
