/* The handler's uploads. See uploader.h.
 *
 * Shape: each output keeps a FIFO of items, one per report, in the order the output posted them.
 * An item that names a file to store is handed to the thread pool (at once for segments and
 * files; for a playlist, once every item before it is done). Workers store the file — primary,
 * else backup, else nowhere — and queue the item on `finished`; one idle source on the main
 * context takes finished items back, then "pumps" every output: starts what may start and hands
 * back the done items at the head of each FIFO. Manifests are items of their group, run the
 * same way. All state but `finished` and the per-output `primary_down` flag belongs to the main
 * thread; workers only read the item they were given and the uploader's immutable settings.
 */
#include "uploader.h"

#include "log.h"
#include "storage.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#define DEFAULT_WORKERS     3
#define PROGRESS_INTERVAL_S 10

typedef enum {
  ITEM_WAITING,
  ITEM_RUNNING,
  ITEM_DONE,
} ItemState;

typedef struct _Group Group;
typedef struct _UpOutput UpOutput;

typedef struct {
  char *backend; /* "s3", ..., or "local" for the backup_storage directory */
  gboolean ok;
  gint64 bytes;
  double seconds;
} Attempt;

typedef struct {
  GstStructure *target;
  char *key;
} Dest;

typedef struct {
  UpOutput *out;      /* NULL for a manifest */
  Group *group;       /* the manifest's group */
  JsonObject *report; /* handed back when done (ref); NULL for a manifest */
  gboolean final;
  gboolean barrier;   /* a playlist: starts once everything before it is done */
  gboolean playlist;  /* main playlist (not live) */
  gboolean live;      /* live playlist */
  char *event;        /* the report's event */
  char *filename;     /* relative to output_dir */
  char *local;        /* the file uploaded (the output's own, or a private copy) */
  char *snapshot;     /* the private copy, removed once done (NULL when none) */
  char *delete_path;  /* the output's own file, removed once stored (NULL = keep) */
  GPtrArray *dests;   /* Dest*: where it goes (several for a manifest) */
  gboolean all_dests; /* store to every dest (manifest) rather than the first that works */
  gint64 size;        /* bytes, for progress */
  ItemState state;
  gint64 started_us; /* monotonic, when handed to a worker */
  /* results, written by the worker before the item is queued on `finished` */
  char *location;
  gboolean stored;
  gboolean backup_used;
  char *error;
  GArray *attempts; /* Attempt */
} Item;

struct _UpOutput {
  char *id;
  char *type;
  Group *group;
  GstStructure *target; /* NULL: local only */
  char *prefix;         /* key prefix of the target ("" for none) */
  gboolean disable_manifest;
  GQueue items; /* Item*, report order */
  gboolean final_seen;
  gboolean final_done; /* its final item was done and at the head */
  gboolean gone;
  gint primary_down; /* atomic: the primary failed once; go straight to the backup */
  gboolean backup_used;
  char *first_filename;
  /* for the manifest */
  JsonArray *files;    /* {filename, location} */
  JsonArray *segments; /* {filename, location} */
  char *playlist_location;
};

typedef enum {
  MANIFEST_NONE,
  MANIFEST_RUNNING,
  MANIFEST_DONE,
} ManifestState;

struct _Group {
  char *id;           /* egress id, or the session id */
  GPtrArray *outputs; /* UpOutput* (borrowed) */
  gint64 started_ns;
  ManifestState manifest;
  char *manifest_location;
};

struct _SlUploader {
  const SlConfig *config;
  SlPluginSet *plugins;
  char *output_dir;
  char *component;
  char *session_id;
  char *room_name;
  char *publisher;
  char *ingress_name;
  SlUploaderDelivered delivered;
  SlUploaderSend send;
  gpointer user_data;

  GstStructure *backup_target; /* backup: */
  char *backup_prefix;
  char *backup_dir; /* backup_storage: (absolute) */
  guint bound;      /* items allowed in the pool at once */

  GMainContext *ctx;
  GThreadPool *pool;
  GPtrArray *outputs;   /* UpOutput*, owned */
  GPtrArray *groups;    /* Group*, owned */
  GPtrArray *manifests; /* Item* of manifests under way (owned; freed when back) */
  GHashTable *dirs;     /* directories files were removed from: tried for removal at the end */
  guint running;        /* items in the pool */
  char *snapshot_dir;   /* private copies of playlists */
  guint snapshot_seq;

  GMutex lock; /* guards `finished` and `wake` */
  GQueue finished;
  GSource *wake;

  GSource *progress;
  GSourceFunc drain_done;
  gpointer drain_data;
  gboolean draining;
};

/* ---- small helpers ------------------------------------------------------------------------ */

static gint64 now_ns(void)
{
  return g_get_real_time() * 1000;
}

static void dest_free(gpointer p)
{
  Dest *d = p;
  gst_structure_free(d->target);
  g_free(d->key);
  g_free(d);
}

static void item_free(Item *it)
{
  if (it->report)
    json_object_unref(it->report);
  g_free(it->event);
  g_free(it->filename);
  g_free(it->local);
  g_free(it->snapshot);
  g_free(it->delete_path);
  if (it->dests)
    g_ptr_array_unref(it->dests);
  g_free(it->location);
  g_free(it->error);
  if (it->attempts) {
    for (guint i = 0; i < it->attempts->len; i++)
      g_free(g_array_index(it->attempts, Attempt, i).backend);
    g_array_unref(it->attempts);
  }
  g_free(it);
}

static void output_free(gpointer p)
{
  UpOutput *o = p;
  Item *it;
  while ((it = g_queue_pop_head(&o->items)) != NULL)
    item_free(it);
  g_free(o->id);
  g_free(o->type);
  if (o->target)
    gst_structure_free(o->target);
  g_free(o->prefix);
  g_free(o->first_filename);
  json_array_unref(o->files);
  json_array_unref(o->segments);
  g_free(o->playlist_location);
  g_free(o);
}

static void group_free(gpointer p)
{
  Group *g = p;
  g_free(g->id);
  g_ptr_array_unref(g->outputs);
  g_free(g->manifest_location);
  g_free(g);
}

/* prefix + "/" + name, without doubled slashes. */
static char *join_key(const char *prefix, const char *name)
{
  while (*name == '/')
    name++;
  if (prefix == NULL || *prefix == '\0')
    return g_strdup(name);
  return g_str_has_suffix(prefix, "/") ? g_strconcat(prefix, name, NULL)
                                       : g_strconcat(prefix, "/", name, NULL);
}

static gint64 file_size(const char *path)
{
  GStatBuf st;
  return g_stat(path, &st) == 0 ? (gint64)st.st_size : 0;
}

/* Copies `src` to `dst`, creating its directory. Any thread. */
static gboolean copy_file(const char *src, const char *dst, GError **error)
{
  g_autofree char *dir = g_path_get_dirname(dst);
  g_autoptr(GFile) from = g_file_new_for_path(src);
  g_autoptr(GFile) to = g_file_new_for_path(dst);
  if (g_mkdir_with_parents(dir, 0755) != 0) {
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot create %s: %s", dir,
                g_strerror(errno));
    return FALSE;
  }
  return g_file_copy(from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error);
}

/* ---- worker side -------------------------------------------------------------------------- */

static void add_attempt(Item *it, const char *backend, gboolean ok, gint64 bytes, double seconds)
{
  Attempt a = {g_strdup(backend), ok, bytes, seconds};
  g_array_append_val(it->attempts, a);
}

static gboolean try_dest(SlUploader *up, Item *it, const GstStructure *target, const char *key,
                         const char *label, GString *errors)
{
  g_autoptr(GError) err = NULL;
  g_autofree char *location = NULL;
  gint64 t0 = g_get_monotonic_time();
  gint64 bytes = file_size(it->local);
  gboolean ok = sl_storage_upload(up->plugins, target, it->local, key, &location, &err);
  add_attempt(it, gst_structure_get_name(target), ok, ok ? bytes : 0,
              (g_get_monotonic_time() - t0) / 1e6);
  if (!ok) {
    g_autofree char *clean = sl_log_scrub(err ? err->message : "failed");
    g_string_append_printf(errors, "%s%s%s: %s", errors->len ? "; " : "", label,
                           gst_structure_get_name(target), clean);
    sl_warn(up->component, "upload of %s to %s%s failed: %s", it->filename, label,
            gst_structure_get_name(target), clean);
    return FALSE;
  }
  if (it->location == NULL)
    it->location = g_steal_pointer(&location);
  return TRUE;
}

static gboolean try_backup(SlUploader *up, Item *it, GString *errors)
{
  if (up->backup_target != NULL) {
    g_autofree char *key = join_key(up->backup_prefix, it->filename);
    if (try_dest(up, it, up->backup_target, key, "backup ", errors))
      return TRUE;
  }
  if (up->backup_dir != NULL) {
    g_autoptr(GError) err = NULL;
    g_autofree char *dst = g_build_filename(up->backup_dir, it->filename, NULL);
    gint64 t0 = g_get_monotonic_time();
    gboolean ok = copy_file(it->local, dst, &err);
    add_attempt(it, "local", ok, ok ? file_size(dst) : 0, (g_get_monotonic_time() - t0) / 1e6);
    if (ok) {
      it->location = g_steal_pointer(&dst);
      return TRUE;
    }
    g_string_append_printf(errors, "%sbackup_storage: %s", errors->len ? "; " : "", err->message);
  }
  return FALSE;
}

/* Stores one item: its destinations, else the backup, else nowhere. Worker thread. */
static void store_item(SlUploader *up, Item *it)
{
  g_autoptr(GString) errors = g_string_new(NULL);
  gboolean stored = FALSE;
  gboolean skip_primary = it->out != NULL && g_atomic_int_get(&it->out->primary_down) &&
                          (up->backup_target != NULL || up->backup_dir != NULL);

  for (guint i = 0; !skip_primary && i < it->dests->len; i++) {
    Dest *d = g_ptr_array_index(it->dests, i);
    if (try_dest(up, it, d->target, d->key, "", errors)) {
      stored = TRUE;
      if (!it->all_dests)
        break;
    }
  }
  if (skip_primary)
    g_string_append(errors, "the primary storage failed earlier");
  if (!stored && it->dests->len > 0) {
    if (it->out != NULL && !skip_primary && (up->backup_target || up->backup_dir))
      g_atomic_int_set(&it->out->primary_down, 1);
    stored = try_backup(up, it, errors);
    it->backup_used = stored;
  }
  it->stored = stored;
  if (stored) {
    if (it->delete_path != NULL && g_unlink(it->delete_path) != 0 && errno != ENOENT)
      sl_warn(up->component, "cannot remove %s after uploading it: %s", it->delete_path,
              g_strerror(errno));
  } else {
    g_autofree char *kept = g_build_filename(up->output_dir, it->filename, NULL);
    it->error = g_strdup_printf("upload failed (%s); the file stays on local disk at %s",
                                errors->str, kept);
    g_free(it->location);
    it->location = g_steal_pointer(&kept);
  }
  if (it->snapshot != NULL)
    (void)g_unlink(it->snapshot);
}

static gboolean on_wake(gpointer data);

static void worker(gpointer data, gpointer user_data)
{
  Item *it = data;
  SlUploader *up = user_data;
  store_item(up, it);
  g_mutex_lock(&up->lock);
  g_queue_push_tail(&up->finished, it);
  if (up->wake == NULL) {
    up->wake = g_idle_source_new();
    g_source_set_callback(up->wake, on_wake, up, NULL);
    g_source_attach(up->wake, up->ctx);
  }
  g_mutex_unlock(&up->lock);
}

/* ---- main thread -------------------------------------------------------------------------- */

static void wake(SlUploader *up)
{
  g_mutex_lock(&up->lock);
  if (up->wake == NULL) {
    up->wake = g_idle_source_new();
    g_source_set_callback(up->wake, on_wake, up, NULL);
    g_source_attach(up->wake, up->ctx);
  }
  g_mutex_unlock(&up->lock);
}

static gboolean progress_tick(gpointer data);
static void item_finished(SlUploader *up, Item *it);

static void start_progress(SlUploader *up)
{
  if (up->progress != NULL)
    return;
  up->progress = g_timeout_source_new_seconds(PROGRESS_INTERVAL_S);
  g_source_set_callback(up->progress, progress_tick, up, NULL);
  g_source_attach(up->progress, up->ctx);
}

static void stop_progress(SlUploader *up)
{
  if (up->progress == NULL)
    return;
  g_source_destroy(up->progress);
  g_clear_pointer(&up->progress, g_source_unref);
}

static void submit(SlUploader *up, Item *it)
{
  it->state = ITEM_RUNNING;
  it->started_us = g_get_monotonic_time();
  up->running++;
  start_progress(up);
  g_thread_pool_push(up->pool, it, NULL);
}

/* Marks an item done without uploading it: an output without storage, or a segment that found
 * the queue full. */
static void keep_local(SlUploader *up, Item *it, const char *error)
{
  if (it->filename != NULL)
    it->location = g_build_filename(up->output_dir, it->filename, NULL);
  if (error != NULL)
    it->error = g_strdup(error);
  if (it->snapshot != NULL)
    (void)g_unlink(it->snapshot);
  item_finished(up, it);
}

static void start_item(SlUploader *up, Item *it)
{
  if (it->dests == NULL || it->dests->len == 0) {
    keep_local(up, it, NULL);
    return;
  }
  if (!it->barrier && !it->final && up->running >= up->bound) {
    g_autofree char *why = g_strdup_printf(
        "upload queue full (%u files waiting); the file stays on local disk", up->running);
    sl_error(up->component, "%s: %s", it->filename, why);
    keep_local(up, it, why);
    return;
  }
  submit(up, it);
}

static void send_stats(SlUploader *up, Item *it)
{
  for (guint i = 0; up->send && i < it->attempts->len; i++) {
    Attempt *a = &g_array_index(it->attempts, Attempt, i);
    g_autoptr(JsonObject) msg = json_object_new();
    json_object_set_string_member(msg, "type", "upload");
    json_object_set_string_member(msg, "backend", a->backend);
    json_object_set_string_member(msg, "status", a->ok ? "success" : "failure");
    json_object_set_int_member(msg, "bytes", a->bytes);
    json_object_set_double_member(msg, "seconds", a->seconds);
    up->send(msg, up->user_data);
  }
}

static JsonObject *entry(const char *filename, const char *location)
{
  JsonObject *e = json_object_new();
  json_object_set_string_member(e, "filename", filename);
  json_object_set_string_member(e, "location", location ? location : "");
  return e;
}

/* The item is back from its worker (or needed none). */
static void item_finished(SlUploader *up, Item *it)
{
  UpOutput *o = it->out;
  it->state = ITEM_DONE;
  if (it->attempts != NULL)
    send_stats(up, it);
  if (it->stored && it->delete_path != NULL) {
    char *dir = g_path_get_dirname(it->delete_path);
    g_hash_table_add(up->dirs, dir);
  }
  if (it->error != NULL)
    sl_error(up->component, "%s: %s", it->filename, it->error);
  else if (it->backup_used && o != NULL && !o->backup_used)
    sl_warn(up->component,
            "%s stored on the backup storage: %s; output %s uploads there from now on",
            it->filename, it->location, o->id);
  else if (it->backup_used && o == NULL)
    sl_warn(up->component, "%s stored on the backup storage: %s", it->filename, it->location);
  else if (it->backup_used)
    sl_debug(up->component, "%s stored on the backup storage: %s", it->filename, it->location);
  else if (it->stored && (o == NULL || it->final || strcmp(it->event, "file-closed") == 0))
    sl_info(up->component, "%s uploaded to %s (%.1f s)", it->filename, it->location,
            (g_get_monotonic_time() - it->started_us) / 1e6);
  else if (it->stored)
    sl_debug(up->component, "%s uploaded to %s", it->filename, it->location);

  if (o == NULL) {
    /* a manifest */
    it->group->manifest = MANIFEST_DONE;
    it->group->manifest_location = g_strdup(it->location);
    g_ptr_array_remove(up->manifests, it);
    return;
  }
  if (it->backup_used)
    o->backup_used = TRUE;
  if (it->report != NULL && it->location != NULL) {
    json_object_set_string_member(it->report, "location", it->location);
    if (it->backup_used)
      json_object_set_boolean_member(it->report, "backup_storage_used", TRUE);
    if (it->error != NULL)
      json_object_set_string_member(it->report, "upload_error", it->error);
  }
  if (it->filename == NULL)
    return;
  if (strcmp(it->event, "file-closed") == 0)
    json_array_add_object_element(o->files, entry(it->filename, it->location));
  else if (strcmp(it->event, "segment-closed") == 0)
    json_array_add_object_element(o->segments, entry(it->filename, it->location));
  else if (it->playlist) {
    g_free(o->playlist_location);
    o->playlist_location = g_strdup(it->location);
  }
}

/* ---- manifests ---------------------------------------------------------------------------- */

/* Everything the output reported is stored (or kept). */
static gboolean output_settled(UpOutput *o)
{
  for (GList *l = o->items.head; l; l = l->next)
    if (((Item *)l->data)->state != ITEM_DONE)
      return FALSE;
  return TRUE;
}

static gboolean group_complete(Group *g)
{
  for (guint i = 0; i < g->outputs->len; i++) {
    UpOutput *o = g_ptr_array_index(g->outputs, i);
    if (!((o->final_done || o->gone) && output_settled(o)))
      return FALSE;
  }
  return TRUE;
}

static gboolean group_wants_manifest(Group *g)
{
  gboolean content = FALSE, wanted = FALSE;
  for (guint i = 0; i < g->outputs->len; i++) {
    UpOutput *o = g_ptr_array_index(g->outputs, i);
    content = content || o->first_filename != NULL;
    wanted = wanted || !o->disable_manifest || o->backup_used;
  }
  return content && wanted;
}

static JsonObject *manifest_json(SlUploader *up, Group *g)
{
  JsonObject *m = json_object_new();
  JsonArray *files = json_array_new();
  JsonArray *playlists = json_array_new();
  json_object_set_string_member(m, "egress_id", g->id);
  json_object_set_string_member(m, "room_id", "");
  json_object_set_string_member(m, "room_name", up->room_name ? up->room_name : "");
  json_object_set_string_member(m, "url", "");
  json_object_set_int_member(m, "started_at", g->started_ns);
  json_object_set_int_member(m, "ended_at", now_ns());
  json_object_set_string_member(m, "publisher_identity", up->publisher ? up->publisher : "");
  json_object_set_string_member(m, "track_id", "");
  json_object_set_string_member(m, "track_kind", "");
  json_object_set_string_member(m, "track_source", "");
  json_object_set_string_member(m, "audio_track_id", "");
  json_object_set_string_member(m, "video_track_id", "");
  for (guint i = 0; i < g->outputs->len; i++) {
    UpOutput *o = g_ptr_array_index(g->outputs, i);
    for (guint k = 0; k < json_array_get_length(o->files); k++)
      json_array_add_element(files, json_node_copy(json_array_get_element(o->files, k)));
    if (o->playlist_location != NULL || json_array_get_length(o->segments) > 0) {
      JsonObject *pl = json_object_new();
      JsonArray *segs = json_array_new();
      json_object_set_string_member(pl, "location",
                                    o->playlist_location ? o->playlist_location : "");
      for (guint k = 0; k < json_array_get_length(o->segments); k++)
        json_array_add_element(segs, json_node_copy(json_array_get_element(o->segments, k)));
      json_object_set_array_member(pl, "segments", segs);
      json_array_add_object_element(playlists, pl);
    }
  }
  json_object_set_array_member(m, "files", files);
  json_object_set_array_member(m, "playlists", playlists);
  json_object_set_array_member(m, "images", json_array_new());
  return m;
}

/* Writes the group's manifest and sends it to each output's storage. */
static void start_manifest(SlUploader *up, Group *g)
{
  g_autoptr(JsonObject) m = manifest_json(up, g);
  g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
  g_autoptr(GError) err = NULL;
  g_autofree char *text = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *name = g_strconcat(g->id, ".json", NULL);
  g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  Item *it = g_new0(Item, 1);

  for (guint i = 0; i < g->outputs->len && dir == NULL; i++) {
    UpOutput *o = g_ptr_array_index(g->outputs, i);
    if (o->first_filename != NULL)
      dir = g_path_get_dirname(o->first_filename);
  }
  it->group = g;
  it->event = g_strdup("manifest");
  it->filename = strcmp(dir, ".") == 0 ? g_strdup(name) : g_build_filename(dir, name, NULL);
  it->local = g_build_filename(up->output_dir, it->filename, NULL);
  it->delete_path = g_strdup(it->local);
  it->all_dests = TRUE;
  it->dests = g_ptr_array_new_with_free_func(dest_free);
  it->attempts = g_array_new(FALSE, TRUE, sizeof(Attempt));

  json_node_set_object(node, m);
  text = json_to_string(node, TRUE);
  if (!g_file_set_contents(it->local, text, -1, &err)) {
    sl_error(up->component, "cannot write the manifest %s: %s", it->local, err->message);
    g->manifest = MANIFEST_DONE;
    item_free(it);
    return;
  }
  it->size = strlen(text);
  for (guint i = 0; i < g->outputs->len; i++) {
    UpOutput *o = g_ptr_array_index(g->outputs, i);
    g_autofree char *odir = NULL;
    g_autofree char *rel = NULL;
    g_autofree char *id = NULL;
    g_autofree char *target_text = NULL;
    Dest *d;
    if (o->target == NULL || o->first_filename == NULL || (o->disable_manifest && !o->backup_used))
      continue;
    odir = g_path_get_dirname(o->first_filename);
    rel = strcmp(odir, ".") == 0 ? g_strdup(name) : g_build_filename(odir, name, NULL);
    d = g_new0(Dest, 1);
    d->target = gst_structure_copy(o->target);
    d->key = join_key(o->prefix, rel);
    target_text = gst_structure_to_string(d->target);
    id = g_strconcat(target_text, "\n", d->key, NULL);
    if (!g_hash_table_add(seen, g_steal_pointer(&id))) {
      dest_free(d);
      continue;
    }
    g_ptr_array_add(it->dests, d);
  }
  if (it->dests->len == 0) {
    /* nothing remote: the manifest stays next to the files */
    g->manifest = MANIFEST_DONE;
    g->manifest_location = g_strdup(it->local);
    sl_info(up->component, "manifest written: %s", it->local);
    item_free(it);
    return;
  }
  g->manifest = MANIFEST_RUNNING;
  g_ptr_array_add(up->manifests, it);
  submit(up, it);
}

static void check_groups(SlUploader *up)
{
  for (guint i = 0; i < up->groups->len; i++) {
    Group *g = g_ptr_array_index(up->groups, i);
    if (g->manifest == MANIFEST_NONE && group_complete(g)) {
      if (group_wants_manifest(g))
        start_manifest(up, g);
      else
        g->manifest = MANIFEST_DONE;
    }
  }
}

/* ---- pumping ------------------------------------------------------------------------------ */

/* Starts what may start and hands back the done items at the head. Returns TRUE when an item
 * was handed back. */
static gboolean pump(SlUploader *up, UpOutput *o)
{
  gboolean before_done = TRUE;
  gboolean handed = FALSE;
  Item *it;

  for (GList *l = o->items.head; l; l = l->next) {
    it = l->data;
    if (it->state == ITEM_WAITING && (!it->barrier || before_done))
      start_item(up, it);
    before_done = before_done && it->state == ITEM_DONE;
  }
  while ((it = g_queue_peek_head(&o->items)) != NULL && it->state == ITEM_DONE) {
    if (it->final) {
      o->final_done = TRUE;
      /* what the output reported after its final report (the live playlist's last version)
       * is stored first, so that the manifest has it */
      if (!output_settled(o))
        return handed;
      check_groups(up);
      if (o->group->manifest == MANIFEST_RUNNING)
        return handed; /* the final report waits for the manifest */
      if (o->group->manifest_location != NULL)
        json_object_set_string_member(it->report, "manifest_location", o->group->manifest_location);
    }
    g_queue_pop_head(&o->items);
    if (up->delivered != NULL && it->report != NULL)
      up->delivered(o->id, it->report, it->final, up->user_data);
    item_free(it);
    handed = TRUE;
  }
  return handed;
}

static gboolean idle(SlUploader *up)
{
  for (guint i = 0; i < up->outputs->len; i++)
    if (!g_queue_is_empty(&((UpOutput *)g_ptr_array_index(up->outputs, i))->items))
      return FALSE;
  for (guint i = 0; i < up->groups->len; i++)
    if (((Group *)g_ptr_array_index(up->groups, i))->manifest == MANIFEST_RUNNING)
      return FALSE;
  return up->running == 0;
}

static void remove_empty_dirs(SlUploader *up)
{
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init(&iter, up->dirs);
  while (g_hash_table_iter_next(&iter, &key, NULL)) {
    g_autofree char *dir = g_strdup(key);
    /* up to output_dir, never beyond, and only directories left empty */
    gsize n = strlen(up->output_dir);
    while (strncmp(dir, up->output_dir, n) == 0 && dir[n] == '/' && g_rmdir(dir) == 0) {
      char *parent = g_path_get_dirname(dir);
      g_free(dir);
      dir = parent;
    }
  }
  g_hash_table_remove_all(up->dirs);
}

static gboolean on_wake(gpointer data)
{
  SlUploader *up = data;
  GQueue done = G_QUEUE_INIT;
  Item *it;
  gboolean again = TRUE;

  g_mutex_lock(&up->lock);
  done = up->finished;
  g_queue_init(&up->finished);
  g_clear_pointer(&up->wake, g_source_unref);
  g_mutex_unlock(&up->lock);

  while ((it = g_queue_pop_head(&done)) != NULL) {
    gboolean manifest = it->out == NULL;
    up->running--;
    item_finished(up, it);
    if (manifest)
      item_free(it);
  }
  /* A report handed back may let a group's manifest start, whose end lets another report go. */
  while (again) {
    again = FALSE;
    for (guint i = 0; i < up->outputs->len; i++)
      again = pump(up, g_ptr_array_index(up->outputs, i)) || again;
    check_groups(up);
  }
  if (up->running == 0)
    stop_progress(up);
  if (up->draining && idle(up)) {
    GSourceFunc cb = up->drain_done;
    up->draining = FALSE;
    up->drain_done = NULL;
    remove_empty_dirs(up);
    if (cb != NULL)
      cb(up->drain_data);
  }
  return G_SOURCE_REMOVE;
}

static gboolean progress_tick(gpointer data)
{
  SlUploader *up = data;
  guint pending = 0;
  gint64 bytes = 0, oldest_us = G_MAXINT64;
  const char *oldest = NULL;
  g_autoptr(JsonObject) msg = json_object_new();

  for (guint i = 0; i < up->outputs->len; i++) {
    UpOutput *o = g_ptr_array_index(up->outputs, i);
    for (GList *l = o->items.head; l; l = l->next) {
      Item *it = l->data;
      if (it->state == ITEM_DONE)
        continue;
      pending++;
      bytes += it->size;
      if (it->state == ITEM_RUNNING && it->started_us < oldest_us) {
        oldest_us = it->started_us;
        oldest = it->filename;
      }
    }
  }
  pending += up->manifests->len;
  if (oldest != NULL)
    sl_info(up->component, "uploads: %u pending (%.1f MB); %s uploading for %.0f s", pending,
            bytes / 1e6, oldest, (g_get_monotonic_time() - oldest_us) / 1e6);
  else
    sl_info(up->component, "uploads: %u pending (%.1f MB)", pending, bytes / 1e6);
  json_object_set_string_member(msg, "type", "upload-progress");
  json_object_set_int_member(msg, "pending", pending);
  json_object_set_int_member(msg, "pending_bytes", bytes);
  if (up->send)
    up->send(msg, up->user_data);
  return G_SOURCE_CONTINUE;
}

/* ---- public ------------------------------------------------------------------------------- */

SlUploader *sl_uploader_new(const SlUploaderEnv *env)
{
  SlUploader *up = g_new0(SlUploader, 1);
  g_autoptr(GError) err = NULL;
  const char *backup_dir;
  gint64 minutes;

  up->config = env->config;
  up->plugins = env->plugins;
  up->output_dir = g_strdup(env->output_dir);
  up->component = g_strdup(env->component ? env->component : "uploader");
  up->session_id = g_strdup(env->session_id ? env->session_id : "session");
  up->room_name = g_strdup(env->room_name);
  up->publisher = g_strdup(env->publisher);
  up->ingress_name = g_strdup(env->ingress_name);
  up->delivered = env->delivered;
  up->send = env->send;
  up->user_data = env->user_data;
  up->ctx = g_main_context_ref_thread_default();
  g_mutex_init(&up->lock);
  g_queue_init(&up->finished);
  up->outputs = g_ptr_array_new_with_free_func(output_free);
  up->groups = g_ptr_array_new_with_free_func(group_free);
  up->manifests = g_ptr_array_new();
  up->dirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  up->pool = g_thread_pool_new(worker, up, env->workers ? (gint)env->workers : DEFAULT_WORKERS,
                               FALSE, NULL);

  /* max_upload_queue is minutes of 4 s segments, as LiveKit counts it */
  minutes = sl_config_get_int(up->config, "max_upload_queue");
  up->bound = (guint)CLAMP(minutes * 15, 8, 100000);

  up->backup_target = sl_storage_target_from_config(up->config, "backup", &err);
  if (err != NULL)
    sl_error(up->component, "backup storage: %s", err->message);
  else if (up->backup_target != NULL &&
           sl_storage_find_plugin(up->plugins, gst_structure_get_name(up->backup_target)) == NULL)
    sl_warn(up->component, "backup storage %s has no loaded plugin; uploads cannot fall back to it",
            gst_structure_get_name(up->backup_target));
  up->backup_prefix = g_strdup(sl_config_get_string(up->config, "backup.prefix"));
  backup_dir = sl_config_get_string(up->config, "backup_storage");
  if (backup_dir != NULL && *backup_dir != '\0')
    up->backup_dir = g_path_is_absolute(backup_dir)
                         ? g_strdup(backup_dir)
                         : g_canonicalize_filename(backup_dir, g_get_current_dir());
  return up;
}

void sl_uploader_free(SlUploader *up)
{
  if (up == NULL)
    return;
  /* Uploads under way end; queued ones are dropped. */
  g_thread_pool_free(up->pool, TRUE, TRUE);
  g_mutex_lock(&up->lock);
  if (up->wake != NULL) {
    g_source_destroy(up->wake);
    g_clear_pointer(&up->wake, g_source_unref);
  }
  /* output items stay in their FIFO, manifests in `manifests`: freed with those */
  g_queue_clear(&up->finished);
  g_mutex_unlock(&up->lock);
  stop_progress(up);
  for (guint i = 0; i < up->manifests->len; i++)
    item_free(g_ptr_array_index(up->manifests, i));
  g_ptr_array_unref(up->manifests);
  g_ptr_array_unref(up->outputs);
  g_ptr_array_unref(up->groups);
  g_hash_table_unref(up->dirs);
  if (up->backup_target)
    gst_structure_free(up->backup_target);
  g_free(up->backup_prefix);
  g_free(up->backup_dir);
  if (up->snapshot_dir != NULL)
    (void)g_rmdir(up->snapshot_dir);
  g_free(up->snapshot_dir);
  g_main_context_unref(up->ctx);
  g_mutex_clear(&up->lock);
  g_free(up->output_dir);
  g_free(up->component);
  g_free(up->session_id);
  g_free(up->room_name);
  g_free(up->publisher);
  g_free(up->ingress_name);
  g_free(up);
}

static UpOutput *find_output(SlUploader *up, const char *id)
{
  for (guint i = 0; id != NULL && i < up->outputs->len; i++) {
    UpOutput *o = g_ptr_array_index(up->outputs, i);
    if (strcmp(o->id, id) == 0)
      return o;
  }
  return NULL;
}

static Group *group_for(SlUploader *up, const char *output_id)
{
  const char *slash = strchr(output_id, '/');
  g_autofree char *id = slash ? g_strndup(output_id, slash - output_id) : g_strdup(up->session_id);
  Group *g;
  for (guint i = 0; i < up->groups->len; i++) {
    g = g_ptr_array_index(up->groups, i);
    if (strcmp(g->id, id) == 0)
      return g;
  }
  g = g_new0(Group, 1);
  g->id = g_steal_pointer(&id);
  g->outputs = g_ptr_array_new();
  g->started_ns = now_ns();
  g_ptr_array_add(up->groups, g);
  return g;
}

/* Takes `target` and `prefix`. */
static UpOutput *new_output(SlUploader *up, const char *output_id, const char *type,
                            GstStructure *target, char *prefix, gboolean disable_manifest)
{
  UpOutput *o = g_new0(UpOutput, 1);
  o->id = g_strdup(output_id);
  o->type = g_strdup(type);
  o->target = target;
  o->prefix = prefix ? prefix : g_strdup("");
  o->disable_manifest = disable_manifest;
  o->files = json_array_new();
  o->segments = json_array_new();
  g_queue_init(&o->items);
  o->group = group_for(up, output_id);
  g_ptr_array_add(o->group->outputs, o);
  g_ptr_array_add(up->outputs, o);
  return o;
}

/* The YAML section of the static ingress's output of `type`: "ingresses.<n>.outputs.<type>". */
static char *static_output_section(SlUploader *up, const char *type)
{
  guint n = sl_config_list_len(up->config, "ingresses");
  if (up->ingress_name == NULL)
    return NULL;
  for (guint i = 0; i < n; i++) {
    g_autofree char *p = g_strdup_printf("ingresses.%u.name", i);
    if (g_strcmp0(sl_config_get_string(up->config, p), up->ingress_name) == 0)
      return g_strdup_printf("ingresses.%u.outputs.%s", i, type);
  }
  return NULL;
}

gboolean sl_uploader_add_output(SlUploader *up, const char *output_id, const char *type,
                                JsonObject *upload, GError **error)
{
  g_autoptr(GstStructure) target = NULL;
  g_autofree char *prefix = NULL;
  JsonObject *storage = NULL;
  gboolean disable_manifest = FALSE;
  GError *local = NULL;
  UpOutput *o;

  if (find_output(up, output_id) != NULL) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "output %s is already known", output_id);
    return FALSE;
  }
  if (upload != NULL) {
    JsonNode *n = json_object_get_member(upload, "storage");
    if (n != NULL && JSON_NODE_HOLDS_OBJECT(n))
      storage = json_node_get_object(n);
    disable_manifest =
        json_object_get_boolean_member_with_default(upload, "disable_manifest", FALSE);
  }
  if (storage != NULL) {
    target = sl_storage_target_from_json(up->config, storage, &local);
  } else if (strchr(output_id, '/') == NULL) {
    /* the ingress's own outputs: their YAML section, if it is a static ingress */
    g_autofree char *section = static_output_section(up, type);
    if (section != NULL) {
      g_autofree char *dm = g_strconcat(section, ".disable_manifest", NULL);
      target = sl_storage_target_from_config(up->config, section, &local);
      disable_manifest = sl_config_get_bool(up->config, dm);
    }
  }
  if (target == NULL && local == NULL) {
    target = sl_storage_target_from_config(up->config, "storage", &local);
    if (target != NULL)
      prefix = g_strdup(sl_config_get_string(up->config, "storage.prefix"));
    else if (local == NULL)
      target = sl_storage_target_from_config(up->config, "", &local);
  }
  if (local != NULL) {
    g_propagate_prefixed_error(error, local, "storage of output %s: ", output_id);
    return FALSE;
  }
  if (target != NULL &&
      sl_storage_find_plugin(up->plugins, gst_structure_get_name(target)) == NULL) {
    g_set_error(error, SL_STORAGE_ERROR, SL_STORAGE_ERROR_NO_PLUGIN,
                "no storage plugin for %s is loaded (enable upload-%s in plugins.enable)",
                gst_structure_get_name(target), gst_structure_get_name(target));
    return FALSE;
  }
  if (target == NULL && sl_config_get_bool(up->config, "disallow_local_storage")) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                "output %s has no storage and disallow_local_storage is set", output_id);
    return FALSE;
  }

  o = new_output(up, output_id, type, g_steal_pointer(&target), g_steal_pointer(&prefix),
                 disable_manifest);
  if (o->target != NULL)
    sl_info(up->component, "%s output %s uploads to %s%s%s", type, output_id,
            gst_structure_get_name(o->target), *o->prefix ? " under " : "", o->prefix);
  return TRUE;
}

void sl_uploader_output_gone(SlUploader *up, const char *output_id)
{
  UpOutput *o = find_output(up, output_id);
  if (o == NULL || o->gone)
    return;
  o->gone = TRUE;
  wake(up);
}

/* A private copy of a playlist as it is now: the output rewrites it at every segment. */
static char *snapshot(SlUploader *up, const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autofree char *base = g_path_get_basename(path);
  gsize len;
  char *copy;
  if (up->snapshot_dir == NULL) {
    up->snapshot_dir = g_dir_make_tmp("sluice-upload-XXXXXX", error);
    if (up->snapshot_dir == NULL)
      return NULL;
  }
  if (!g_file_get_contents(path, &text, &len, error))
    return NULL;
  copy = g_strdup_printf("%s/%u-%s", up->snapshot_dir, ++up->snapshot_seq, base);
  if (!g_file_set_contents(copy, text, len, error)) {
    g_free(copy);
    return NULL;
  }
  return copy;
}

void sl_uploader_report(SlUploader *up, const char *output_id, JsonObject *report, gboolean final)
{
  UpOutput *o = find_output(up, output_id);
  const char *event = json_object_get_string_member_with_default(report, "event", "");
  const char *filename = json_object_get_string_member_with_default(report, "filename", NULL);
  Item *it;

  g_return_if_fail(output_id != NULL);
  if (o == NULL) /* undeclared: kept local */
    o = new_output(up, output_id, "", NULL, NULL, FALSE);
  it = g_new0(Item, 1);
  it->out = o;
  it->report = json_object_ref(report);
  it->final = final;
  it->event = g_strdup(event);
  it->attempts = g_array_new(FALSE, TRUE, sizeof(Attempt));
  if (final)
    o->final_seen = TRUE;
  if (filename != NULL && *filename != '\0') {
    it->filename = g_strdup(filename);
    it->local = g_build_filename(up->output_dir, filename, NULL);
    it->size = json_object_get_int_member_with_default(report, "size", 0);
    if (o->first_filename == NULL)
      o->first_filename = g_strdup(filename);
  }
  if (strcmp(event, "playlist-updated") == 0) {
    it->barrier = TRUE;
    it->live = json_object_get_boolean_member_with_default(report, "live", FALSE);
    it->playlist = !it->live;
    /* a waiting update of the same playlist is replaced by this one */
    for (GList *l = o->items.head; l; l = l->next) {
      Item *old = l->data;
      if (old->state == ITEM_WAITING && old->barrier && !old->final &&
          g_strcmp0(old->filename, it->filename) == 0) {
        g_queue_delete_link(&o->items, l);
        item_free(old);
        break;
      }
    }
  }
  if (it->filename != NULL && o->target != NULL) {
    Dest *d = g_new0(Dest, 1);
    gboolean ended = json_object_get_boolean_member_with_default(report, "ended", FALSE);
    d->target = gst_structure_copy(o->target);
    d->key = join_key(o->prefix, it->filename);
    it->dests = g_ptr_array_new_with_free_func(dest_free);
    g_ptr_array_add(it->dests, d);
    if (it->barrier) {
      g_autoptr(GError) err = NULL;
      it->snapshot = snapshot(up, it->local, &err);
      if (it->snapshot == NULL) {
        sl_warn(up->component, "cannot copy playlist %s for upload: %s", it->filename,
                err->message);
      } else {
        g_free(it->local);
        it->local = g_strdup(it->snapshot);
      }
      /* the playlist's last version: its file goes once stored */
      if (ended)
        it->delete_path = g_build_filename(up->output_dir, it->filename, NULL);
    } else {
      it->delete_path = g_strdup(it->local);
    }
  }
  g_queue_push_tail(&o->items, it);
  wake(up);
}

guint sl_uploader_pending(SlUploader *up)
{
  guint n = up->manifests->len;
  for (guint i = 0; i < up->outputs->len; i++)
    n += g_queue_get_length(&((UpOutput *)g_ptr_array_index(up->outputs, i))->items);
  return n;
}

gboolean sl_uploader_drain(SlUploader *up, GSourceFunc done, gpointer data)
{
  for (guint i = 0; i < up->outputs->len; i++) {
    UpOutput *o = g_ptr_array_index(up->outputs, i);
    if (!o->final_seen)
      o->gone = TRUE;
  }
  check_groups(up);
  if (idle(up)) {
    remove_empty_dirs(up);
    return TRUE;
  }
  up->draining = TRUE;
  up->drain_done = done;
  up->drain_data = data;
  sl_info(up->component, "waiting for %u upload%s to finish", sl_uploader_pending(up),
          sl_uploader_pending(up) == 1 ? "" : "s");
  start_progress(up);
  wake(up);
  return FALSE;
}
