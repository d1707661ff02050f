/* output-file — HLS media playlist model and rendering. See hls-playlist.h. */
#include "hls-playlist.h"

#include <string.h>
#include <time.h>

typedef struct {
  char *uri;
  guint64 duration_ms; /* as written in EXTINF */
  gint64 program_date_time;
} OfHlsSegment;

struct _OfHlsPlaylist {
  GArray *segments; /* of OfHlsSegment */
  guint min_target;
  guint max_rounded; /* largest rounded EXTINF so far */
  guint64 total_ms;
  gboolean ended;
};

static void segment_clear(gpointer data)
{
  OfHlsSegment *s = data;
  g_free(s->uri);
}

OfHlsPlaylist *of_hls_playlist_new(guint min_target_duration)
{
  OfHlsPlaylist *pl = g_new0(OfHlsPlaylist, 1);
  pl->segments = g_array_new(FALSE, TRUE, sizeof(OfHlsSegment));
  g_array_set_clear_func(pl->segments, segment_clear);
  pl->min_target = MAX(min_target_duration, 1);
  return pl;
}

void of_hls_playlist_free(OfHlsPlaylist *playlist)
{
  if (playlist == NULL)
    return;
  g_array_unref(playlist->segments);
  g_free(playlist);
}

guint64 of_hls_duration_ms(guint64 duration)
{
  return (duration + 500000) / 1000000;
}

/* Rounds the millisecond value that EXTINF shows, not the nanoseconds behind it: a player checks
 * the tag against the text, and 4.4996 s is written as 4.500. */
static guint rounded_from_ms(guint64 ms)
{
  return (guint)((ms + 500) / 1000);
}

guint of_hls_rounded_seconds(guint64 duration)
{
  return rounded_from_ms(of_hls_duration_ms(duration));
}

void of_hls_playlist_add_segment(OfHlsPlaylist *playlist, const char *uri, guint64 duration,
                                 gint64 program_date_time)
{
  OfHlsSegment s;
  g_return_if_fail(playlist != NULL && uri != NULL);
  if (playlist->ended)
    return;
  s.uri = g_strdup(uri);
  s.duration_ms = of_hls_duration_ms(duration);
  s.program_date_time = program_date_time;
  g_array_append_val(playlist->segments, s);
  playlist->max_rounded = MAX(playlist->max_rounded, rounded_from_ms(s.duration_ms));
  playlist->total_ms += s.duration_ms;
}

void of_hls_playlist_end(OfHlsPlaylist *playlist)
{
  playlist->ended = TRUE;
}

gboolean of_hls_playlist_is_ended(const OfHlsPlaylist *playlist)
{
  return playlist->ended;
}

guint of_hls_playlist_get_segment_count(const OfHlsPlaylist *playlist)
{
  return playlist->segments->len;
}

guint64 of_hls_playlist_get_total_duration(const OfHlsPlaylist *playlist)
{
  return playlist->total_ms * 1000000;
}

guint64 of_hls_playlist_get_window_duration(const OfHlsPlaylist *playlist, guint window)
{
  guint n = playlist->segments->len;
  guint64 ms = 0;
  for (guint i = n > window ? n - window : 0; i < n; i++)
    ms += g_array_index(playlist->segments, OfHlsSegment, i).duration_ms;
  return ms * 1000000;
}

guint of_hls_playlist_get_target_duration(const OfHlsPlaylist *playlist)
{
  return MAX(playlist->min_target, playlist->max_rounded);
}

char *of_hls_format_date_time(gint64 epoch_us)
{
  /* Floor division, so that times before the epoch still format (and tests can use any). */
  gint64 secs = epoch_us / G_USEC_PER_SEC;
  gint64 rem = epoch_us % G_USEC_PER_SEC;
  time_t t;
  struct tm tm;
  if (rem < 0) {
    rem += G_USEC_PER_SEC;
    secs -= 1;
  }
  t = (time_t)secs;
  if (gmtime_r(&t, &tm) == NULL)
    return g_strdup("1970-01-01T00:00:00.000Z");
  return g_strdup_printf("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(rem / 1000));
}

/* Writes the tags and segments shared by both playlist kinds. Numbers are formatted from
 * integers so the text does not depend on the process locale (a decimal comma would break
 * every player). */
static char *render(const OfHlsPlaylist *pl, guint first, gboolean event)
{
  GString *out = g_string_sized_new(256 + 96 * (pl->segments->len - first));
  g_string_append(out, "#EXTM3U\n#EXT-X-VERSION:3\n");
  if (event)
    g_string_append(out, "#EXT-X-PLAYLIST-TYPE:EVENT\n");
  g_string_append_printf(out, "#EXT-X-TARGETDURATION:%u\n",
                         of_hls_playlist_get_target_duration(pl));
  g_string_append_printf(out, "#EXT-X-MEDIA-SEQUENCE:%u\n", first);
  for (guint i = first; i < pl->segments->len; i++) {
    const OfHlsSegment *s = &g_array_index(pl->segments, OfHlsSegment, i);
    if (s->program_date_time != OF_HLS_NO_DATE_TIME) {
      g_autofree char *pdt = of_hls_format_date_time(s->program_date_time);
      g_string_append_printf(out, "#EXT-X-PROGRAM-DATE-TIME:%s\n", pdt);
    }
    g_string_append_printf(out, "#EXTINF:%" G_GUINT64_FORMAT ".%03u,\n%s\n", s->duration_ms / 1000,
                           (guint)(s->duration_ms % 1000), s->uri);
  }
  if (pl->ended)
    g_string_append(out, "#EXT-X-ENDLIST\n");
  return g_string_free(out, FALSE);
}

char *of_hls_playlist_render_event(const OfHlsPlaylist *playlist)
{
  return render(playlist, 0, TRUE);
}

char *of_hls_playlist_render_live(const OfHlsPlaylist *playlist, guint window)
{
  guint n = playlist->segments->len;
  window = MAX(window, 1);
  return render(playlist, n > window ? n - window : 0, FALSE);
}

char *of_hls_segment_name_index(const char *prefix, guint index)
{
  return g_strdup_printf("%s_%05u.ts", prefix, index);
}

char *of_hls_segment_name_timestamp(const char *prefix, gint64 epoch_us)
{
  /* Reuses the ISO formatter and keeps its digits: YYYY MM DD HH MM SS. */
  g_autofree char *iso = of_hls_format_date_time(epoch_us);
  char stamp[15];
  const int picks[14] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
  for (int i = 0; i < 14; i++)
    stamp[i] = iso[picks[i]];
  stamp[14] = '\0';
  return g_strdup_printf("%s_%s.ts", prefix, stamp);
}

/* Splits a relative path into its components, dropping empty ones and ".". */
static GPtrArray *components(const char *path)
{
  g_auto(GStrv) parts = g_strsplit(path, "/", -1);
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; parts[i] != NULL; i++) {
    if (parts[i][0] == '\0' || strcmp(parts[i], ".") == 0)
      continue;
    g_ptr_array_add(out, g_strdup(parts[i]));
  }
  return out;
}

char *of_hls_relative_uri(const char *playlist, const char *target)
{
  g_autoptr(GPtrArray) from = components(playlist);
  g_autoptr(GPtrArray) to = components(target);
  GString *out = g_string_new(NULL);
  guint from_dirs, common = 0;

  /* The playlist's own name is not a directory. */
  from_dirs = from->len > 0 ? from->len - 1 : 0;
  while (common < from_dirs && common + 1 < to->len &&
         strcmp(g_ptr_array_index(from, common), g_ptr_array_index(to, common)) == 0)
    common++;
  for (guint i = common; i < from_dirs; i++)
    g_string_append(out, "../");
  for (guint i = common; i < to->len; i++) {
    g_string_append(out, g_ptr_array_index(to, i));
    if (i + 1 < to->len)
      g_string_append_c(out, '/');
  }
  return g_string_free(out, FALSE);
}
