/* Unit tests for output-file's HLS playlist model (plugins/output-file/hls-playlist.c). */
#include "hls-playlist.h"

#include <string.h>

#define SEC(x) ((guint64)((x)*1e9 + 0.5))

/* Value of the first "#TAG:" line in `text`, as a newly allocated string, or NULL. */
static char *tag_value(const char *text, const char *tag)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  g_autofree char *prefix = g_strconcat(tag, ":", NULL);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix(lines[i], prefix))
      return g_strdup(lines[i] + strlen(prefix));
  return NULL;
}

static guint count_lines_with_prefix(const char *text, const char *prefix)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  guint n = 0;
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix(lines[i], prefix))
      n++;
  return n;
}

/* The RFC 8216 §4.3.3.1 check a validator makes on the text: every EXTINF, rounded to the
 * nearest integer, is <= TARGETDURATION. */
static void assert_target_duration_rule(const char *text)
{
  g_autofree char *target_text = tag_value(text, "#EXT-X-TARGETDURATION");
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  guint64 target;
  g_assert_nonnull(target_text);
  target = g_ascii_strtoull(target_text, NULL, 10);
  for (guint i = 0; lines[i] != NULL; i++) {
    if (g_str_has_prefix(lines[i], "#EXTINF:")) {
      double d = g_ascii_strtod(lines[i] + 8, NULL);
      guint64 rounded = (guint64)(d + 0.5);
      g_assert_cmpuint(rounded, <=, target);
    }
  }
}

static void test_target_duration_long_segment_later(void)
{
  g_autoptr(OfHlsPlaylist) pl = of_hls_playlist_new(4);
  g_autofree char *before = NULL, *after = NULL, *target = NULL;

  of_hls_playlist_add_segment(pl, "s_00000.ts", SEC(4.0), OF_HLS_NO_DATE_TIME);
  of_hls_playlist_add_segment(pl, "s_00001.ts", SEC(3.98), OF_HLS_NO_DATE_TIME);
  before = of_hls_playlist_render_event(pl);
  target = tag_value(before, "#EXT-X-TARGETDURATION");
  g_assert_cmpstr(target, ==, "4");
  assert_target_duration_rule(before);
  g_clear_pointer(&target, g_free);

  /* A long GOP: the third segment is 7.6 s. The whole playlist is rendered again with the new
   * maximum, so the earlier segments are covered by the same tag. */
  of_hls_playlist_add_segment(pl, "s_00002.ts", SEC(7.6), OF_HLS_NO_DATE_TIME);
  of_hls_playlist_add_segment(pl, "s_00003.ts", SEC(4.0), OF_HLS_NO_DATE_TIME);
  after = of_hls_playlist_render_event(pl);
  target = tag_value(after, "#EXT-X-TARGETDURATION");
  g_assert_cmpstr(target, ==, "8");
  g_assert_cmpuint(of_hls_playlist_get_target_duration(pl), ==, 8);
  assert_target_duration_rule(after);
  g_assert_cmpuint(count_lines_with_prefix(after, "#EXT-X-TARGETDURATION"), ==, 1);
}

static void test_target_duration_minimum(void)
{
  g_autoptr(OfHlsPlaylist) pl = of_hls_playlist_new(6);
  g_autofree char *text = NULL, *target = NULL;
  of_hls_playlist_add_segment(pl, "a.ts", SEC(2.0), OF_HLS_NO_DATE_TIME);
  text = of_hls_playlist_render_event(pl);
  target = tag_value(text, "#EXT-X-TARGETDURATION");
  g_assert_cmpstr(target, ==, "6");
}

static void test_rounding(void)
{
  g_assert_cmpuint(of_hls_rounded_seconds(SEC(4.499)), ==, 4);
  g_assert_cmpuint(of_hls_rounded_seconds(SEC(4.5)), ==, 5);
  g_assert_cmpuint(of_hls_rounded_seconds(SEC(4.4994)), ==, 4);
  /* 4.4996 s is written as 4.500, which a validator rounds to 5: the tag must follow the text. */
  g_assert_cmpuint(of_hls_rounded_seconds(4499600000ull), ==, 5);
  g_assert_cmpuint(of_hls_duration_ms(4499600000ull), ==, 4500);
  g_assert_cmpuint(of_hls_rounded_seconds(0), ==, 0);

  {
    g_autoptr(OfHlsPlaylist) pl = of_hls_playlist_new(4);
    of_hls_playlist_add_segment(pl, "a.ts", SEC(4.499), OF_HLS_NO_DATE_TIME);
    g_assert_cmpuint(of_hls_playlist_get_target_duration(pl), ==, 4);
    of_hls_playlist_add_segment(pl, "b.ts", SEC(4.5), OF_HLS_NO_DATE_TIME);
    g_assert_cmpuint(of_hls_playlist_get_target_duration(pl), ==, 5);
  }
}

static void test_extinf_format(void)
{
  g_autoptr(OfHlsPlaylist) pl = of_hls_playlist_new(4);
  g_autofree char *text = NULL;
  of_hls_playlist_add_segment(pl, "a.ts", 4000500000ull, OF_HLS_NO_DATE_TIME); /* 4.0005 */
  of_hls_playlist_add_segment(pl, "b.ts", 3999900000ull, OF_HLS_NO_DATE_TIME); /* 3.9999 */
  of_hls_playlist_add_segment(pl, "c.ts", SEC(0.042), OF_HLS_NO_DATE_TIME);
  text = of_hls_playlist_render_event(pl);
  g_assert_nonnull(strstr(text, "#EXTINF:4.001,\na.ts\n"));
  g_assert_nonnull(strstr(text, "#EXTINF:4.000,\nb.ts\n"));
  g_assert_nonnull(strstr(text, "#EXTINF:0.042,\nc.ts\n"));
  g_assert_cmpuint(of_hls_playlist_get_total_duration(pl), ==, SEC(8.043));
}

static gint64 epoch_us(int y, int mo, int d, int h, int mi, int s, int us)
{
  g_autoptr(GDateTime) dt = g_date_time_new_utc(y, mo, d, h, mi, s);
  return g_date_time_to_unix(dt) * G_USEC_PER_SEC + us;
}

static void test_program_date_time(void)
{
  struct {
    gint64 us;
    const char *want;
  } cases[] = {
      {epoch_us(2024, 3, 5, 7, 8, 9, 123456), "2024-03-05T07:08:09.123Z"},
      {epoch_us(1999, 12, 31, 23, 59, 59, 999999), "1999-12-31T23:59:59.999Z"},
      {0, "1970-01-01T00:00:00.000Z"},
      {-1, "1969-12-31T23:59:59.999Z"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *got = of_hls_format_date_time(cases[i].us);
    g_assert_cmpstr(got, ==, cases[i].want);
  }

  {
    g_autoptr(OfHlsPlaylist) pl = of_hls_playlist_new(4);
    g_autofree char *text = NULL;
    gint64 t0 = epoch_us(2024, 3, 5, 7, 8, 9, 500000);
    of_hls_playlist_add_segment(pl, "a.ts", SEC(4), t0);
    of_hls_playlist_add_segment(pl, "b.ts", SEC(4), t0 + 4 * G_USEC_PER_SEC);
    of_hls_playlist_add_segment(pl, "c.ts", SEC(4), OF_HLS_NO_DATE_TIME);
    text = of_hls_playlist_render_event(pl);
    g_assert_nonnull(strstr(text, "#EXT-X-PROGRAM-DATE-TIME:2024-03-05T07:08:09.500Z\n"
                                  "#EXTINF:4.000,\na.ts\n"));
    g_assert_nonnull(strstr(text, "#EXT-X-PROGRAM-DATE-TIME:2024-03-05T07:08:13.500Z\n"
                                  "#EXTINF:4.000,\nb.ts\n"));
    g_assert_cmpuint(count_lines_with_prefix(text, "#EXT-X-PROGRAM-DATE-TIME:"), ==, 2);
  }
}

static void test_event_playlist_exact(void)
{
  g_autoptr(OfHlsPlaylist) pl = of_hls_playlist_new(4);
  g_autofree char *text = NULL;
  gint64 t0 = epoch_us(2024, 1, 2, 3, 4, 5, 0);
  of_hls_playlist_add_segment(pl, "seg_00000.ts", SEC(4), t0);
  of_hls_playlist_add_segment(pl, "seg_00001.ts", SEC(2.5), t0 + 4 * G_USEC_PER_SEC);
  of_hls_playlist_end(pl);
  text = of_hls_playlist_render_event(pl);
  g_assert_cmpstr(text, ==,
                  "#EXTM3U\n"
                  "#EXT-X-VERSION:3\n"
                  "#EXT-X-PLAYLIST-TYPE:EVENT\n"
                  "#EXT-X-TARGETDURATION:4\n"
                  "#EXT-X-MEDIA-SEQUENCE:0\n"
                  "#EXT-X-PROGRAM-DATE-TIME:2024-01-02T03:04:05.000Z\n"
                  "#EXTINF:4.000,\n"
                  "seg_00000.ts\n"
                  "#EXT-X-PROGRAM-DATE-TIME:2024-01-02T03:04:09.000Z\n"
                  "#EXTINF:2.500,\n"
                  "seg_00001.ts\n"
                  "#EXT-X-ENDLIST\n");
}

static void test_live_window(void)
{
  g_autoptr(OfHlsPlaylist) pl = of_hls_playlist_new(4);
  g_autofree char *small = NULL, *live = NULL, *event = NULL, *seq = NULL;

  of_hls_playlist_add_segment(pl, "s_00000.ts", SEC(4), OF_HLS_NO_DATE_TIME);
  of_hls_playlist_add_segment(pl, "s_00001.ts", SEC(4), OF_HLS_NO_DATE_TIME);
  small = of_hls_playlist_render_live(pl, OF_HLS_LIVE_WINDOW);
  seq = tag_value(small, "#EXT-X-MEDIA-SEQUENCE");
  g_assert_cmpstr(seq, ==, "0");
  g_assert_cmpuint(count_lines_with_prefix(small, "#EXTINF:"), ==, 2);
  g_clear_pointer(&seq, g_free);

  for (guint i = 2; i < 7; i++) {
    g_autofree char *uri = of_hls_segment_name_index("s", i);
    of_hls_playlist_add_segment(pl, uri, SEC(i == 5 ? 9 : 4), OF_HLS_NO_DATE_TIME);
  }
  live = of_hls_playlist_render_live(pl, OF_HLS_LIVE_WINDOW);
  seq = tag_value(live, "#EXT-X-MEDIA-SEQUENCE");
  g_assert_cmpstr(seq, ==, "2");
  g_assert_cmpuint(count_lines_with_prefix(live, "#EXTINF:"), ==, 5);
  g_assert_null(strstr(live, "s_00000.ts"));
  g_assert_null(strstr(live, "s_00001.ts"));
  g_assert_nonnull(strstr(live, "\ns_00002.ts\n"));
  g_assert_nonnull(strstr(live, "\ns_00006.ts\n"));
  g_assert_null(strstr(live, "PLAYLIST-TYPE"));
  g_assert_null(strstr(live, "#EXT-X-ENDLIST"));
  assert_target_duration_rule(live);
  g_assert_cmpuint(of_hls_playlist_get_window_duration(pl, OF_HLS_LIVE_WINDOW), ==, SEC(25));

  event = of_hls_playlist_render_event(pl);
  g_assert_cmpuint(count_lines_with_prefix(event, "#EXTINF:"), ==, 7);
  g_clear_pointer(&seq, g_free);
  seq = tag_value(event, "#EXT-X-MEDIA-SEQUENCE");
  g_assert_cmpstr(seq, ==, "0");
  g_assert_cmpuint(of_hls_playlist_get_segment_count(pl), ==, 7);
  g_assert_cmpuint(of_hls_playlist_get_total_duration(pl), ==, SEC(33));
}

static void test_endlist(void)
{
  g_autoptr(OfHlsPlaylist) pl = of_hls_playlist_new(4);
  g_autofree char *open_text = NULL, *ended_text = NULL, *live_text = NULL;

  of_hls_playlist_add_segment(pl, "a.ts", SEC(4), OF_HLS_NO_DATE_TIME);
  open_text = of_hls_playlist_render_event(pl);
  g_assert_null(strstr(open_text, "#EXT-X-ENDLIST"));
  g_assert_false(of_hls_playlist_is_ended(pl));

  of_hls_playlist_end(pl);
  of_hls_playlist_add_segment(pl, "late.ts", SEC(4), OF_HLS_NO_DATE_TIME);
  g_assert_true(of_hls_playlist_is_ended(pl));
  g_assert_cmpuint(of_hls_playlist_get_segment_count(pl), ==, 1);
  ended_text = of_hls_playlist_render_event(pl);
  live_text = of_hls_playlist_render_live(pl, OF_HLS_LIVE_WINDOW);
  g_assert_true(g_str_has_suffix(ended_text, "a.ts\n#EXT-X-ENDLIST\n"));
  g_assert_true(g_str_has_suffix(live_text, "a.ts\n#EXT-X-ENDLIST\n"));
  g_assert_null(strstr(ended_text, "late.ts"));
}

static void test_empty_playlist(void)
{
  g_autoptr(OfHlsPlaylist) pl = of_hls_playlist_new(4);
  g_autofree char *text = NULL;
  of_hls_playlist_end(pl);
  text = of_hls_playlist_render_event(pl);
  g_assert_cmpstr(text, ==,
                  "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-PLAYLIST-TYPE:EVENT\n"
                  "#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-ENDLIST\n");
}

static void test_segment_names(void)
{
  g_autofree char *a = of_hls_segment_name_index("room", 0);
  g_autofree char *b = of_hls_segment_name_index("hls/room", 42);
  g_autofree char *c = of_hls_segment_name_index("x", 123456);
  g_autofree char *d =
      of_hls_segment_name_timestamp("hls/room", epoch_us(2024, 3, 5, 7, 8, 9, 999999));
  g_autofree char *e = of_hls_segment_name_timestamp("r", epoch_us(2030, 12, 31, 23, 0, 1, 0));
  g_assert_cmpstr(a, ==, "room_00000.ts");
  g_assert_cmpstr(b, ==, "hls/room_00042.ts");
  g_assert_cmpstr(c, ==, "x_123456.ts");
  g_assert_cmpstr(d, ==, "hls/room_20240305070809.ts");
  g_assert_cmpstr(e, ==, "r_20301231230001.ts");
}

static void test_relative_uri(void)
{
  struct {
    const char *playlist, *target, *want;
  } cases[] = {
      {"playlist.m3u8", "seg_00000.ts", "seg_00000.ts"},
      {"hls/playlist.m3u8", "hls/seg_00000.ts", "seg_00000.ts"},
      {"playlist.m3u8", "hls/seg_00000.ts", "hls/seg_00000.ts"},
      {"a/playlist.m3u8", "a/b/c/s.ts", "b/c/s.ts"},
      {"a/b/playlist.m3u8", "a/c/s.ts", "../c/s.ts"},
      {"a/b/playlist.m3u8", "s.ts", "../../s.ts"},
      {"x/playlist.m3u8", "y/z/s.ts", "../y/z/s.ts"},
      {"./hls//playlist.m3u8", "hls/./s.ts", "s.ts"},
      /* A directory named like the playlist is still a directory of the target. */
      {"p/p.m3u8", "p/p.m3u8/s.ts", "p.m3u8/s.ts"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *got = of_hls_relative_uri(cases[i].playlist, cases[i].target);
    g_assert_cmpstr(got, ==, cases[i].want);
  }
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/output-file/hls/target-duration-long-later",
                  test_target_duration_long_segment_later);
  g_test_add_func("/output-file/hls/target-duration-minimum", test_target_duration_minimum);
  g_test_add_func("/output-file/hls/rounding", test_rounding);
  g_test_add_func("/output-file/hls/extinf-format", test_extinf_format);
  g_test_add_func("/output-file/hls/program-date-time", test_program_date_time);
  g_test_add_func("/output-file/hls/event-exact", test_event_playlist_exact);
  g_test_add_func("/output-file/hls/live-window", test_live_window);
  g_test_add_func("/output-file/hls/endlist", test_endlist);
  g_test_add_func("/output-file/hls/empty", test_empty_playlist);
  g_test_add_func("/output-file/hls/segment-names", test_segment_names);
  g_test_add_func("/output-file/hls/relative-uri", test_relative_uri);
  return g_test_run();
}
