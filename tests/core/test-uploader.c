/* The uploader against the test-storage plugin (tests/plugins-abi/test-storage), which copies
 * uploads into a directory and fails on demand: per-output ordering (a playlist after the
 * segments before it), reports handed back in order with their locations, the backup storage
 * and the older backup_storage directory, files kept on local disk when nothing takes them,
 * nothing deleted unless stored, and manifests. */
#include "config.h"
#include "loader.h"
#include "uploader.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  char *root;    /* temp dir */
  char *out;     /* output_dir */
  char *primary; /* the primary "server" */
  char *backup;  /* the backup "server" */
  char *bdir;    /* backup_storage directory */
  SlConfig *cfg;
  SlPluginSet *plugins;
  SlUploader *up;
  GPtrArray *delivered; /* JsonObject* copies, in order */
  GPtrArray *ids;       /* output ids, in order */
  GPtrArray *sent;      /* messages for the service */
  gboolean drained;
} Fixture;

static char *path(const char *dir, const char *name)
{
  return g_build_filename(dir, name, NULL);
}

static void write_file(const char *p, const char *text)
{
  g_autofree char *dir = g_path_get_dirname(p);
  g_autoptr(GError) err = NULL;
  g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
  g_file_set_contents(p, text, -1, &err);
  g_assert_no_error(err);
}

static JsonObject *copy(JsonObject *o)
{
  g_autoptr(JsonNode) n = json_node_new(JSON_NODE_OBJECT);
  g_autoptr(JsonNode) c = NULL;
  json_node_set_object(n, o);
  c = json_node_copy(n);
  return json_object_ref(json_node_get_object(c));
}

static void on_delivered(const char *id, JsonObject *report, gboolean final, gpointer data)
{
  Fixture *f = data;
  g_ptr_array_add(f->delivered, copy(report));
  g_ptr_array_add(f->ids, g_strdup(id));
}

static void on_send(JsonObject *msg, gpointer data)
{
  Fixture *f = data;
  g_ptr_array_add(f->sent, copy(msg));
}

static gboolean on_drained(gpointer data)
{
  ((Fixture *)data)->drained = TRUE;
  return G_SOURCE_REMOVE;
}

/* `extra` is appended to a config whose storage: and backup: are the test plugin's two
 * directories; "%s" placeholders are not used, the paths are substituted by name. */
static void setup(Fixture *f, const char *yaml)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_autofree char *text = NULL;
  const char *dirs[] = {g_getenv("SLUICE_TEST_STORAGE_PLUGIN_DIR"), NULL};
  const char *enable[] = {"test-storage", NULL};
  GString *t = g_string_new(yaml);
  SlUploaderEnv env = {0};

  memset(f, 0, sizeof *f);
  g_assert_nonnull(dirs[0]);
  f->root = g_dir_make_tmp("sluice-test-uploader-XXXXXX", &err);
  g_assert_no_error(err);
  f->out = path(f->root, "out");
  f->primary = path(f->root, "primary");
  f->backup = path(f->root, "backup");
  f->bdir = path(f->root, "backup-dir");
  g_mkdir_with_parents(f->out, 0755);
  g_mkdir_with_parents(f->primary, 0755);
  g_mkdir_with_parents(f->backup, 0755);
  g_string_replace(t, "PRIMARY", f->primary, 0);
  g_string_replace(t, "BACKUPDIR", f->bdir, 0);
  g_string_replace(t, "BACKUP", f->backup, 0);
  text = g_string_free(t, FALSE);
  f->cfg = sl_config_new_from_text(text, strlen(text), "test.yaml", &err);
  g_assert_no_error(err);
  g_assert_true(sl_config_validate(f->cfg, diags));
  f->plugins = sl_plugin_set_scan(dirs);
  g_assert_true(sl_plugin_set_load(f->plugins, enable, &err));
  g_assert_no_error(err);
  f->delivered = g_ptr_array_new_with_free_func((GDestroyNotify)json_object_unref);
  f->ids = g_ptr_array_new_with_free_func(g_free);
  f->sent = g_ptr_array_new_with_free_func((GDestroyNotify)json_object_unref);

  env.config = f->cfg;
  env.plugins = f->plugins;
  env.output_dir = f->out;
  env.component = "test";
  env.session_id = "RT_session";
  env.room_name = "room";
  env.publisher = "cam";
  env.ingress_name = "cam";
  env.delivered = on_delivered;
  env.send = on_send;
  env.user_data = f;
  f->up = sl_uploader_new(&env);
}

static void rm_rf(const char *p)
{
  g_autoptr(GFile) file = g_file_new_for_path(p);
  g_autoptr(GFileEnumerator) e =
      g_file_enumerate_children(file, G_FILE_ATTRIBUTE_STANDARD_NAME, 0, NULL, NULL);
  GFileInfo *info;
  while (e != NULL && (info = g_file_enumerator_next_file(e, NULL, NULL)) != NULL) {
    g_autofree char *child = path(p, g_file_info_get_name(info));
    rm_rf(child);
    g_object_unref(info);
  }
  g_remove(p);
}

static void teardown(Fixture *f)
{
  sl_uploader_free(f->up);
  sl_plugin_set_free(f->plugins);
  sl_config_free(f->cfg);
  g_ptr_array_unref(f->delivered);
  g_ptr_array_unref(f->ids);
  g_ptr_array_unref(f->sent);
  rm_rf(f->root);
  g_free(f->root);
  g_free(f->out);
  g_free(f->primary);
  g_free(f->backup);
  g_free(f->bdir);
}

/* Runs the main loop until `n` reports are back (at most 20 s). */
static void wait_delivered(Fixture *f, guint n)
{
  gint64 deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  while (f->delivered->len < n && g_get_monotonic_time() < deadline)
    g_main_context_iteration(NULL, TRUE);
  g_assert_cmpuint(f->delivered->len, >=, n);
}

static void drain(Fixture *f)
{
  gint64 deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  if (sl_uploader_drain(f->up, on_drained, f))
    return;
  while (!f->drained && g_get_monotonic_time() < deadline)
    g_main_context_iteration(NULL, TRUE);
  g_assert_true(f->drained);
  g_assert_cmpuint(sl_uploader_pending(f->up), ==, 0);
}

/* Writes the output's file and reports it. */
static void report(Fixture *f, const char *id, const char *event, const char *filename,
                   const char *content, gboolean final, gboolean live, gboolean ended)
{
  g_autofree char *p = path(f->out, filename);
  g_autoptr(JsonObject) msg = json_object_new();
  write_file(p, content);
  json_object_set_string_member(msg, "type", "output");
  json_object_set_string_member(msg, "output_id", id);
  json_object_set_string_member(msg, "event", event);
  json_object_set_string_member(msg, "filename", filename);
  json_object_set_int_member(msg, "size", strlen(content));
  if (live)
    json_object_set_boolean_member(msg, "live", TRUE);
  if (ended)
    json_object_set_boolean_member(msg, "ended", TRUE);
  sl_uploader_report(f->up, id, msg, final);
}

static const char *str(JsonObject *o, const char *m)
{
  return json_object_get_string_member_with_default(o, m, NULL);
}

static JsonObject *delivered(Fixture *f, guint i)
{
  return g_ptr_array_index(f->delivered, i);
}

static char *read_text(const char *p)
{
  char *text = NULL;
  g_file_get_contents(p, &text, NULL, NULL);
  return text;
}

static const char CONFIG[] = "storage:\n"
                             "  prefix: pre\n"
                             "  s3:\n"
                             "    endpoint: PRIMARY\n"
                             "    bucket: main\n"
                             "backup:\n"
                             "  prefix: bak\n"
                             "  s3:\n"
                             "    endpoint: BACKUP\n"
                             "    bucket: spare\n";

/* A recording goes to the storage under its prefix, leaves the local disk, and its manifest
 * follows it; the final report carries both locations. */
static void test_file_uploaded(void)
{
  Fixture f;
  g_autoptr(GError) err = NULL;
  g_autofree char *remote = NULL;
  g_autofree char *manifest = NULL;
  g_autofree char *local = NULL;
  g_autofree char *mtext = NULL;
  g_autofree char *want_location = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();
  JsonObject *m, *r;

  setup(&f, CONFIG);
  g_assert_true(sl_uploader_add_output(f.up, "default-0", "file", NULL, &err));
  g_assert_no_error(err);
  report(&f, "default-0", "file-closed", "cam/rec.mp4", "MP4 DATA", TRUE, FALSE, FALSE);
  g_assert_cmpuint(f.delivered->len, ==, 0); /* never from inside the call */
  wait_delivered(&f, 1);
  r = delivered(&f, 0);
  remote = g_build_filename(f.primary, "main", "pre", "cam", "rec.mp4", NULL);
  want_location = g_strconcat("file://", remote, NULL);
  g_assert_cmpstr(str(r, "location"), ==, want_location);
  g_assert_false(json_object_has_member(r, "upload_error"));
  g_assert_false(json_object_has_member(r, "backup_storage_used"));
  g_assert_true(g_file_test(remote, G_FILE_TEST_EXISTS));
  local = path(f.out, "cam/rec.mp4");
  g_assert_false(g_file_test(local, G_FILE_TEST_EXISTS)); /* stored: removed locally */

  manifest = g_build_filename(f.primary, "main", "pre", "cam", "RT_session.json", NULL);
  g_assert_nonnull(str(r, "manifest_location"));
  g_assert_true(g_str_has_suffix(str(r, "manifest_location"), "pre/cam/RT_session.json"));
  mtext = read_text(manifest);
  g_assert_nonnull(mtext);
  g_assert_true(json_parser_load_from_data(parser, mtext, -1, &err));
  m = json_node_get_object(json_parser_get_root(parser));
  g_assert_cmpstr(str(m, "egress_id"), ==, "RT_session");
  g_assert_cmpstr(str(m, "room_name"), ==, "room");
  g_assert_cmpstr(str(m, "publisher_identity"), ==, "cam");
  g_assert_cmpuint(json_array_get_length(json_object_get_array_member(m, "files")), ==, 1);
  g_assert_cmpstr(
      str(json_array_get_object_element(json_object_get_array_member(m, "files"), 0), "location"),
      ==, want_location);
  drain(&f);
  /* the emptied directory went too, the output dir stays */
  g_assert_false(g_file_test(local, G_FILE_TEST_EXISTS));
  {
    g_autofree char *camdir = path(f.out, "cam");
    g_assert_false(g_file_test(camdir, G_FILE_TEST_IS_DIR));
    g_assert_true(g_file_test(f.out, G_FILE_TEST_IS_DIR));
  }
  /* stats for the service: the file and the manifest */
  g_assert_cmpuint(f.sent->len, >=, 2);
  g_assert_cmpstr(str(g_ptr_array_index(f.sent, 0), "type"), ==, "upload");
  g_assert_cmpstr(str(g_ptr_array_index(f.sent, 0), "backend"), ==, "s3");
  g_assert_cmpstr(str(g_ptr_array_index(f.sent, 0), "status"), ==, "success");
  g_assert_cmpint(json_object_get_int_member(g_ptr_array_index(f.sent, 0), "bytes"), ==, 8);
  teardown(&f);
}

/* HLS: segments upload in parallel as they close; each playlist only after every segment
 * reported before it is stored; reports come back in order. */
static void test_hls_ordering(void)
{
  Fixture f;
  g_autoptr(GError) err = NULL;
  g_autofree char *slow = NULL;
  g_autofree char *logp = NULL;
  g_autofree char *log = NULL;
  g_auto(GStrv) lines = NULL;
  guint n_reports = 0;
  const guint segs = 6;

  setup(&f, CONFIG);
  slow = path(f.primary, "SLOW");
  write_file(slow, "120");
  g_assert_true(sl_uploader_add_output(f.up, "default-0", "segments", NULL, &err));
  for (guint i = 0; i < segs; i++) {
    g_autofree char *seg = g_strdup_printf("hls/s_%05u.ts", i);
    g_autofree char *pl = g_strdup_printf("#EXTM3U\n# %u segments\n", i + 1);
    report(&f, "default-0", "segment-closed", seg, "TS", FALSE, FALSE, FALSE);
    report(&f, "default-0", "playlist-updated", "hls/playlist.m3u8", pl, i == segs - 1, FALSE,
           i == segs - 1);
    n_reports += 2;
    /* let some uploads start between segments */
    if (i % 2 == 0)
      for (int k = 0; k < 5; k++)
        g_main_context_iteration(NULL, FALSE);
  }
  drain(&f);
  /* waiting playlist updates are replaced by newer ones: fewer come back, in order */
  g_assert_cmpuint(f.delivered->len, <=, n_reports);
  g_assert_cmpuint(f.delivered->len, >=, segs + 1);
  {
    guint seen_segments = 0;
    for (guint i = 0; i < f.delivered->len; i++) {
      JsonObject *r = delivered(&f, i);
      const char *fn = str(r, "filename");
      if (g_str_has_suffix(fn, ".ts")) {
        g_autofree char *want = g_strdup_printf("hls/s_%05u.ts", seen_segments);
        g_assert_cmpstr(fn, ==, want);
        seen_segments++;
      }
      g_assert_true(g_str_has_prefix(str(r, "location"), "file://"));
    }
    g_assert_cmpuint(seen_segments, ==, segs);
    g_assert_true(json_object_get_boolean_member_with_default(delivered(&f, f.delivered->len - 1),
                                                              "ended", FALSE));
  }
  /* the final playlist is the last thing stored for the output, with all segments in it */
  {
    g_autofree char *remote = g_build_filename(f.primary, "main/pre/hls/playlist.m3u8", NULL);
    g_autofree char *text = read_text(remote);
    g_assert_nonnull(strstr(text, "# 6 segments"));
  }
  /* the storage's log: every playlist upload starts after the segments reported before it */
  logp = path(f.primary, "main.log");
  log = read_text(logp);
  lines = g_strsplit(log, "\n", -1);
  {
    g_autoptr(GHashTable) done = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    guint playlists = 0;
    for (guint i = 0; lines[i] && *lines[i]; i++) {
      if (g_str_has_prefix(lines[i], "done "))
        g_hash_table_add(done, g_strdup(lines[i] + 5));
      if (g_str_has_prefix(lines[i], "start ") && g_str_has_suffix(lines[i], "playlist.m3u8")) {
        /* at least the segments of the first update are stored by then */
        g_assert_true(g_hash_table_contains(done, "pre/hls/s_00000.ts"));
        playlists++;
      }
    }
    g_assert_cmpuint(playlists, >=, 1);
    g_assert_cmpuint(playlists, <=, segs);
    /* the last playlist upload comes after every segment */
    for (guint i = 0; i < segs; i++) {
      g_autofree char *k = g_strdup_printf("pre/hls/s_%05u.ts", i);
      g_assert_true(g_hash_table_contains(done, k));
    }
    {
      guint last = 0;
      for (guint i = 0; lines[i] && *lines[i]; i++)
        if (g_str_has_prefix(lines[i], "start ") && g_str_has_suffix(lines[i], "playlist.m3u8"))
          last = i;
      for (guint i = last; lines[i] && *lines[i]; i++)
        g_assert_false(g_str_has_prefix(lines[i], "start pre/hls/s_"));
    }
  }
  /* stored segments and the ended playlist are gone from the local disk */
  {
    g_autofree char *seg0 = path(f.out, "hls/s_00000.ts");
    g_autofree char *pl = path(f.out, "hls/playlist.m3u8");
    g_assert_false(g_file_test(seg0, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(pl, G_FILE_TEST_EXISTS));
  }
  teardown(&f);
}

/* The primary fails: the backup takes the file and every later one of that output. */
static void test_backup(void)
{
  Fixture f;
  g_autoptr(GError) err = NULL;
  g_autofree char *down = NULL;
  g_autofree char *plog = NULL;
  g_autofree char *log = NULL;
  JsonObject *r;

  setup(&f, CONFIG);
  down = path(f.primary, "DOWN");
  write_file(down, "");
  g_assert_true(sl_uploader_add_output(f.up, "EG_x/0", "segments", NULL, &err));
  report(&f, "EG_x/0", "segment-closed", "s_00000.ts", "TS0", FALSE, FALSE, FALSE);
  wait_delivered(&f, 1);
  r = delivered(&f, 0);
  g_assert_true(json_object_get_boolean_member_with_default(r, "backup_storage_used", FALSE));
  g_assert_true(g_str_has_suffix(str(r, "location"), "spare/bak/s_00000.ts"));
  g_assert_false(json_object_has_member(r, "upload_error"));
  {
    g_autofree char *stored = g_build_filename(f.backup, "spare/bak/s_00000.ts", NULL);
    g_autofree char *local = path(f.out, "s_00000.ts");
    g_assert_true(g_file_test(stored, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(local, G_FILE_TEST_EXISTS));
  }
  /* the primary is back, but this output stays on the backup (as LiveKit does) */
  g_unlink(down);
  report(&f, "EG_x/0", "segment-closed", "s_00001.ts", "TS1", FALSE, FALSE, FALSE);
  report(&f, "EG_x/0", "playlist-updated", "p.m3u8", "#EXTM3U\n", TRUE, FALSE, TRUE);
  drain(&f);
  g_assert_cmpuint(f.delivered->len, ==, 3);
  g_assert_true(g_str_has_suffix(str(delivered(&f, 1), "location"), "spare/bak/s_00001.ts"));
  r = delivered(&f, 2);
  g_assert_true(g_str_has_suffix(str(r, "location"), "spare/bak/p.m3u8"));
  g_assert_true(json_object_get_boolean_member_with_default(r, "backup_storage_used", FALSE));
  /* the manifest goes to the output's storage; it is up again, so it is there */
  g_assert_true(g_str_has_suffix(str(r, "manifest_location"), "main/pre/EG_x.json"));
  plog = path(f.primary, "main.log");
  log = read_text(plog);
  g_assert_null(strstr(log, "s_00001.ts"));
  /* stats: one failure on the primary, successes on the backup */
  {
    guint failures = 0;
    for (guint i = 0; i < f.sent->len; i++)
      if (g_strcmp0(str(g_ptr_array_index(f.sent, i), "status"), "failure") == 0)
        failures++;
    g_assert_cmpuint(failures, ==, 1);
  }
  teardown(&f);
}

/* Both storages down: the file stays where the output wrote it, and the report says so. Then
 * the older backup_storage directory takes it. */
static void test_kept_local(void)
{
  Fixture f;
  g_autoptr(GError) err = NULL;
  g_autofree char *down1 = NULL;
  g_autofree char *down2 = NULL;
  g_autofree char *local = NULL;
  JsonObject *r;

  setup(&f, CONFIG);
  down1 = path(f.primary, "DOWN");
  down2 = path(f.backup, "DOWN");
  write_file(down1, "");
  write_file(down2, "");
  g_assert_true(sl_uploader_add_output(f.up, "EG_y/0", "file", NULL, &err));
  report(&f, "EG_y/0", "file-closed", "y.mp4", "DATA", TRUE, FALSE, FALSE);
  wait_delivered(&f, 1);
  r = delivered(&f, 0);
  local = path(f.out, "y.mp4");
  g_assert_cmpstr(str(r, "location"), ==, local);
  g_assert_true(g_file_test(local, G_FILE_TEST_EXISTS)); /* nothing deleted */
  g_assert_nonnull(str(r, "upload_error"));
  g_test_message("%s", str(r, "upload_error"));
  g_assert_nonnull(strstr(str(r, "upload_error"), "storage is down"));
  g_assert_nonnull(strstr(str(r, "upload_error"), local));
  g_assert_false(json_object_has_member(r, "backup_storage_used"));
  /* the manifest could not be stored either: it stays next to the file */
  {
    g_autofree char *m = path(f.out, "EG_y.json");
    g_assert_cmpstr(str(r, "manifest_location"), ==, m);
    g_assert_true(g_file_test(m, G_FILE_TEST_EXISTS));
  }
  drain(&f);
  teardown(&f);

  /* backup_storage: a local directory as the last resort */
  {
    g_autofree char *yaml = g_strconcat(CONFIG, "backup_storage: BACKUPDIR\n", NULL);
    g_autofree char *copy_path = NULL;
    g_autofree char *down = NULL;
    setup(&f, yaml);
    down = path(f.primary, "DOWN");
    write_file(down, "");
    g_free(down);
    down = path(f.backup, "DOWN");
    write_file(down, "");
    g_assert_true(sl_uploader_add_output(f.up, "EG_z/0", "file", NULL, &err));
    report(&f, "EG_z/0", "file-closed", "z/z.mp4", "DATA", TRUE, FALSE, FALSE);
    wait_delivered(&f, 1);
    r = delivered(&f, 0);
    copy_path = g_build_filename(f.bdir, "z", "z.mp4", NULL);
    g_assert_cmpstr(str(r, "location"), ==, copy_path);
    g_assert_true(json_object_get_boolean_member_with_default(r, "backup_storage_used", FALSE));
    g_assert_true(g_file_test(copy_path, G_FILE_TEST_EXISTS));
    drain(&f);
    teardown(&f);
  }
}

/* Without any storage the files stay in output_dir, reports pass through with the local path,
 * and the manifest is written next to them. */
static void test_no_storage(void)
{
  Fixture f;
  g_autoptr(GError) err = NULL;
  g_autofree char *local = NULL;
  g_autofree char *manifest = NULL;
  JsonObject *r;

  setup(&f, "output_dir: /nowhere\n");
  g_assert_true(sl_uploader_add_output(f.up, "default-0", "file", NULL, &err));
  report(&f, "default-0", "file-closed", "a/b.mp4", "DATA", TRUE, FALSE, FALSE);
  wait_delivered(&f, 1);
  r = delivered(&f, 0);
  local = path(f.out, "a/b.mp4");
  manifest = path(f.out, "a/RT_session.json");
  g_assert_cmpstr(str(r, "location"), ==, local);
  g_assert_false(json_object_has_member(r, "upload_error"));
  g_assert_true(g_file_test(local, G_FILE_TEST_EXISTS));
  g_assert_cmpstr(str(r, "manifest_location"), ==, manifest);
  g_assert_true(g_file_test(manifest, G_FILE_TEST_EXISTS));
  drain(&f);
  g_assert_cmpuint(f.sent->len, ==, 0);
  teardown(&f);

  /* disallow_local_storage refuses such an output */
  setup(&f, "disallow_local_storage: true\n");
  g_assert_false(sl_uploader_add_output(f.up, "default-0", "file", NULL, &err));
  g_assert_nonnull(err);
  g_test_message("%s", err->message);
  g_assert_nonnull(strstr(err->message, "disallow_local_storage"));
  teardown(&f);
}

/* An egress's own storage wins over the node's (no prefix); a static ingress's per-output YAML
 * section too; disable_manifest is honoured. */
static void test_precedence(void)
{
  Fixture f;
  g_autoptr(GError) err = NULL;
  g_autoptr(JsonParser) p = json_parser_new();
  g_autofree char *yaml = NULL;
  g_autofree char *upload_text = NULL;
  JsonObject *upload;

  setup(&f, CONFIG);
  upload_text = g_strdup_printf("{\"storage\": {\"s3\": {\"endpoint\": \"%s\", \"bucket\": "
                                "\"req\"}}, \"disable_manifest\": true}",
                                f.primary);
  g_assert_true(json_parser_load_from_data(p, upload_text, -1, &err));
  upload = json_node_get_object(json_parser_get_root(p));
  g_assert_true(sl_uploader_add_output(f.up, "EG_r/0", "file", upload, &err));
  g_assert_no_error(err);
  report(&f, "EG_r/0", "file-closed", "r.mp4", "DATA", TRUE, FALSE, FALSE);
  wait_delivered(&f, 1);
  g_assert_true(g_str_has_suffix(str(delivered(&f, 0), "location"), "primary/req/r.mp4"));
  g_assert_false(json_object_has_member(delivered(&f, 0), "manifest_location"));
  drain(&f);
  teardown(&f);

  /* an unknown backend's plugin is not loaded: refused with a clear message */
  setup(&f, CONFIG);
  {
    g_autoptr(JsonParser) p2 = json_parser_new();
    g_assert_true(json_parser_load_from_data(
        p2, "{\"storage\": {\"azure\": {\"container_name\": \"c\"}}}", -1, NULL));
    g_assert_false(sl_uploader_add_output(f.up, "EG_q/0", "file",
                                          json_node_get_object(json_parser_get_root(p2)), &err));
    g_assert_nonnull(strstr(err->message, "no storage plugin for azure"));
    g_clear_error(&err);
  }
  teardown(&f);

  yaml = g_strconcat(CONFIG,
                     "ingresses:\n"
                     "  - name: cam\n"
                     "    outputs:\n"
                     "      file:\n"
                     "        filepath: c.mp4\n"
                     "        s3:\n"
                     "          endpoint: PRIMARY\n"
                     "          bucket: static\n",
                     NULL);
  setup(&f, yaml);
  g_assert_true(sl_uploader_add_output(f.up, "default-0", "file", NULL, &err));
  g_assert_no_error(err);
  report(&f, "default-0", "file-closed", "c.mp4", "DATA", TRUE, FALSE, FALSE);
  wait_delivered(&f, 1);
  g_assert_true(g_str_has_suffix(str(delivered(&f, 0), "location"), "primary/static/c.mp4"));
  drain(&f);
  teardown(&f);
}

/* An egress with two outputs: one manifest for both, carried by the last final report; an
 * output that fails before its end is taken as gone. */
static void test_manifest_group(void)
{
  Fixture f;
  g_autoptr(GError) err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autofree char *mpath = NULL;
  g_autofree char *mtext = NULL;
  JsonObject *m;

  setup(&f, CONFIG);
  g_assert_true(sl_uploader_add_output(f.up, "EG_g/0", "file", NULL, &err));
  g_assert_true(sl_uploader_add_output(f.up, "EG_g/1", "segments", NULL, &err));
  g_assert_true(sl_uploader_add_output(f.up, "EG_h/0", "file", NULL, &err));
  report(&f, "EG_g/0", "file-closed", "g/g.mp4", "DATA", TRUE, FALSE, FALSE);
  wait_delivered(&f, 1);
  g_assert_false(json_object_has_member(delivered(&f, 0), "manifest_location"));
  report(&f, "EG_g/1", "segment-closed", "g/s0.ts", "TS", FALSE, FALSE, FALSE);
  report(&f, "EG_g/1", "playlist-updated", "g/p.m3u8", "#EXTM3U\n", TRUE, FALSE, TRUE);
  wait_delivered(&f, 3);
  g_assert_true(g_str_has_suffix(str(delivered(&f, 2), "manifest_location"), "pre/g/EG_g.json"));
  mpath = g_build_filename(f.primary, "main/pre/g/EG_g.json", NULL);
  mtext = read_text(mpath);
  g_assert_true(json_parser_load_from_data(parser, mtext, -1, &err));
  m = json_node_get_object(json_parser_get_root(parser));
  g_assert_cmpstr(str(m, "egress_id"), ==, "EG_g");
  g_assert_cmpuint(json_array_get_length(json_object_get_array_member(m, "files")), ==, 1);
  g_assert_cmpuint(json_array_get_length(json_object_get_array_member(m, "playlists")), ==, 1);
  {
    JsonObject *pl = json_array_get_object_element(json_object_get_array_member(m, "playlists"), 0);
    g_assert_true(g_str_has_suffix(str(pl, "location"), "pre/g/p.m3u8"));
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(pl, "segments")), ==, 1);
  }
  /* EG_h never finishes: at the drain it is gone; nothing reported, so no manifest */
  drain(&f);
  {
    g_autofree char *h = g_build_filename(f.primary, "main/pre/EG_h.json", NULL);
    g_assert_false(g_file_test(h, G_FILE_TEST_EXISTS));
  }
  teardown(&f);

  /* an output gone after reporting a segment: its group's manifest is written at the drain */
  setup(&f, CONFIG);
  g_assert_true(sl_uploader_add_output(f.up, "EG_k/0", "segments", NULL, &err));
  report(&f, "EG_k/0", "segment-closed", "k/s0.ts", "TS", FALSE, FALSE, FALSE);
  wait_delivered(&f, 1);
  sl_uploader_output_gone(f.up, "EG_k/0");
  drain(&f);
  {
    g_autofree char *k = g_build_filename(f.primary, "main/pre/k/EG_k.json", NULL);
    g_assert_true(g_file_test(k, G_FILE_TEST_EXISTS));
  }
  teardown(&f);
}

/* The queue is bounded: a segment that finds it full stays on local disk, with an error, and
 * the pipeline is never held up. */
static void test_queue_full(void)
{
  Fixture f;
  g_autoptr(GError) err = NULL;
  g_autofree char *yaml = g_strconcat(CONFIG, "max_upload_queue: 0\n", NULL);
  g_autofree char *slow = NULL;
  guint full = 0, stored = 0;

  setup(&f, yaml);
  slow = path(f.primary, "SLOW");
  write_file(slow, "200");
  g_assert_true(sl_uploader_add_output(f.up, "EG_q/0", "segments", NULL, &err));
  for (guint i = 0; i < 12; i++) {
    g_autofree char *seg = g_strdup_printf("q/s_%05u.ts", i);
    report(&f, "EG_q/0", "segment-closed", seg, "TS", FALSE, FALSE, FALSE);
  }
  drain(&f);
  g_assert_cmpuint(f.delivered->len, ==, 12);
  for (guint i = 0; i < f.delivered->len; i++) {
    JsonObject *r = delivered(&f, i);
    const char *e = str(r, "upload_error");
    if (e != NULL) {
      g_autofree char *local = path(f.out, str(r, "filename"));
      g_assert_nonnull(strstr(e, "upload queue full"));
      g_assert_cmpstr(str(r, "location"), ==, local);
      g_assert_true(g_file_test(local, G_FILE_TEST_EXISTS));
      full++;
    } else {
      stored++;
    }
  }
  /* max_upload_queue 0 still lets 8 through */
  g_assert_cmpuint(stored, ==, 8);
  g_assert_cmpuint(full, ==, 4);
  teardown(&f);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  gst_init(NULL, NULL);
  g_test_add_func("/uploader/file", test_file_uploaded);
  g_test_add_func("/uploader/hls-ordering", test_hls_ordering);
  g_test_add_func("/uploader/backup", test_backup);
  g_test_add_func("/uploader/kept-local", test_kept_local);
  g_test_add_func("/uploader/no-storage", test_no_storage);
  g_test_add_func("/uploader/precedence", test_precedence);
  g_test_add_func("/uploader/manifest-group", test_manifest_group);
  g_test_add_func("/uploader/queue-full", test_queue_full);
  return g_test_run();
}
