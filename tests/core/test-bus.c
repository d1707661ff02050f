/* The job bus: every semantic runs against the local backend, against a real redis-server
 * started here on a free loopback port, and against the same server reached over TLS (the bus's
 * in-process tunnel; certificates made here with the openssl CLI). Skipped, saying why, when
 * redis-server or openssl is not installed (`scripts/deps.sh --test` installs them). Several
 * workers are several buses in this process, each with its own connections. */
#define SL_BUS_INTERNAL
#include "bus.h"
#include "redis-tls.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- Running the main loop ------------------------------------------------------------------ */

typedef gboolean (*Cond)(gpointer data);

static gboolean set_flag(gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until `cond` holds or `timeout_ms` passes; returns whether it holds. */
static gboolean spin_until(Cond cond, gpointer data, guint timeout_ms)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add(timeout_ms, set_flag, &expired);
  while (!cond(data) && !expired)
    g_main_context_iteration(NULL, TRUE);
  if (!expired)
    g_source_remove(id);
  return cond(data);
}

static gboolean never(gpointer data)
{
  return FALSE;
}

static void spin_for(guint ms)
{
  spin_until(never, NULL, ms);
}

static gint64 now_ms(void)
{
  return g_get_monotonic_time() / 1000;
}

/* ---- A redis-server of our own -------------------------------------------------------------- */

typedef struct {
  GPid pid;
  int port;
  int out_fd;
  guint watch_id;
  char *dir;
  const char *const *extra; /* more arguments, NULL-terminated */
  int raw_db;
  int tls_port;         /* also listen with TLS here (`port` stays plain, for redis_raw) */
  gboolean tls_clients; /* TLS clients must show a certificate */
} RedisServer;

/* ---- Certificates --------------------------------------------------------------------------- */

/* A throwaway CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and a
 * key that belongs to neither, made once per run in a directory of the test's own. */
static char *tls_dir;

static const char tls_script[] =
    "set -e\n"
    "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1\"; }\n"
    "key ca.key; key server.key; key client.key; key other.key\n"
    "openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=sluice-test-ca\n"
    "openssl req -new -key server.key -out server.csr -subj /CN=localhost\n"
    "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext\n"
    "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
    "-extfile server.ext -out server.pem\n"
    "openssl req -new -key client.key -out client.csr -subj /CN=sluice-test-client\n"
    "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
    "-out client.pem\n";

static const char *tls_file(const char *name)
{
  static GHashTable *paths;
  char *path;
  if (paths == NULL)
    paths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  path = g_hash_table_lookup(paths, name);
  if (path == NULL) {
    path = g_build_filename(tls_dir, name, NULL);
    g_hash_table_insert(paths, g_strdup(name), path);
  }
  return path;
}

/* FALSE (and why) when openssl is not there to make them. */
static gboolean tls_certs(const char **why)
{
  const char *argv[] = {"sh", "-c", tls_script, NULL};
  g_autofree char *openssl = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GError) err = NULL;
  int status = 0;

  if (tls_dir != NULL)
    return TRUE;
  openssl = g_find_program_in_path("openssl");
  if (openssl == NULL) {
    *why = "openssl is not installed (scripts/deps.sh --test installs it)";
    return FALSE;
  }
  tls_dir = g_dir_make_tmp("sluice-bus-tls-XXXXXX", &err);
  g_assert_no_error(err);
  g_assert_true(g_spawn_sync(tls_dir, (char **)argv, NULL,
                             G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                             &out, &status, &err));
  g_assert_no_error(err);
  if (!g_spawn_check_wait_status(status, &err))
    g_error("making test certificates failed: %s\n%s", err->message, out);
  return TRUE;
}

static void tls_certs_remove(void)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;
  if (tls_dir == NULL)
    return;
  dir = g_dir_open(tls_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
    g_autofree char *path = g_build_filename(tls_dir, name, NULL);
    g_unlink(path);
  }
  g_rmdir(tls_dir);
  g_clear_pointer(&tls_dir, g_free);
}

/* The tunnels' socket directories left in the temp dir (there should be none). */
static guint tunnel_dirs(void)
{
  g_autoptr(GDir) dir = g_dir_open(g_get_tmp_dir(), 0, NULL);
  const char *name;
  guint n = 0;
  while (dir != NULL && (name = g_dir_read_name(dir)) != NULL)
    n += g_str_has_prefix(name, "sluice-redis-tls-");
  return n;
}

static int free_port(void)
{
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  g_assert_cmpint(fd, >=, 0);
  g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
  close(fd);
  return ntohs(sa.sin_port);
}

/* The server's log is read (and dropped) so it can never block on a full pipe. */
static gboolean drain_log(gint fd, GIOCondition cond, gpointer data)
{
  RedisServer *srv = data;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n > 0)
    return G_SOURCE_CONTINUE;
  srv->watch_id = 0;
  return G_SOURCE_REMOVE;
}

/* The server dies with the test, even one that aborts. */
static void die_with_parent(gpointer data)
{
  prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static void redis_start(RedisServer *srv)
{
  g_autofree char *port = g_strdup_printf("%d", srv->port);
  g_autofree char *tls_port = g_strdup_printf("%d", srv->tls_port);
  const char *base[] = {"redis-server", "--port", port,    "--bind", "127.0.0.1",  "--save", "",
                        "--appendonly", "no",     "--dir", srv->dir, "--loglevel", "notice"};
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_autoptr(GError) err = NULL;
  g_autoptr(GString) log = g_string_new(NULL);
  gint64 deadline = now_ms() + 10000;

  for (guint i = 0; i < G_N_ELEMENTS(base); i++)
    g_ptr_array_add(argv, (gpointer)base[i]);
  if (srv->tls_port != 0) {
    const char *tls[] = {"--tls-port",         tls_port,
                         "--tls-cert-file",    tls_file("server.pem"),
                         "--tls-key-file",     tls_file("server.key"),
                         "--tls-ca-cert-file", tls_file("ca.pem"),
                         "--tls-auth-clients", srv->tls_clients ? "yes" : "no"};
    for (guint i = 0; i < G_N_ELEMENTS(tls); i++)
      g_ptr_array_add(argv, (gpointer)tls[i]);
  }
  for (const char *const *e = srv->extra; e != NULL && *e != NULL; e++)
    g_ptr_array_add(argv, (gpointer)*e);
  g_ptr_array_add(argv, NULL);
  g_assert_true(g_spawn_async_with_pipes(
      NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
      die_with_parent, NULL, &srv->pid, NULL, &srv->out_fd, NULL, &err));
  g_assert_no_error(err);
  /* Ready when it says so; reading its log is how we know without polling the port. */
  while (strstr(log->str, "Ready to accept connections") == NULL) {
    struct pollfd pfd = {.fd = srv->out_fd, .events = POLLIN};
    char buf[1024];
    ssize_t n;
    int left = (int)(deadline - now_ms());
    if (left <= 0 || poll(&pfd, 1, left) <= 0)
      g_error("redis-server did not start on port %d: %s", srv->port, log->str);
    n = read(srv->out_fd, buf, sizeof buf);
    if (n <= 0)
      g_error("redis-server exited: %s", log->str);
    g_string_append_len(log, buf, n);
  }
  g_unix_set_fd_nonblocking(srv->out_fd, TRUE, NULL);
  srv->watch_id = g_unix_fd_add(srv->out_fd, G_IO_IN | G_IO_HUP, drain_log, srv);
}

static void redis_kill(RedisServer *srv)
{
  if (srv->pid == 0)
    return;
  kill(srv->pid, SIGKILL);
  waitpid(srv->pid, NULL, 0);
  g_spawn_close_pid(srv->pid);
  srv->pid = 0;
  g_clear_handle_id(&srv->watch_id, g_source_remove);
  close(srv->out_fd);
  srv->out_fd = -1;
}

/* A blocking client for looking at the server from outside the bus (as the default user, in db
 * 0 unless `srv->raw_db` says otherwise). */
static redisReply *redis_raw(RedisServer *srv, const char *format, ...)
{
  redisContext *c = redisConnect("127.0.0.1", srv->port);
  redisReply *reply;
  va_list ap;
  g_assert_nonnull(c);
  g_assert_cmpint(c->err, ==, 0);
  if (srv->raw_db != 0)
    freeReplyObject(redisCommand(c, "SELECT %d", srv->raw_db));
  va_start(ap, format);
  reply = redisvCommand(c, format, ap);
  va_end(ap);
  redisFree(c);
  g_assert_nonnull(reply);
  return reply;
}

/* ---- Fixture: one backend, several buses ---------------------------------------------------- */

typedef struct _Worker Worker;

typedef enum {
  BACKEND_LOCAL,
  BACKEND_REDIS,
  BACKEND_REDIS_TLS,
} Backend;

typedef struct {
  gboolean redis;
  gboolean tls; /* redis, reached over TLS */
  gboolean skipped;
  const char *skip_why;
  RedisServer srv;
  GPtrArray *buses;   /* SlBus*, live */
  GPtrArray *workers; /* Worker* */
  guint ttl_ms;
  SlRedisConfig config; /* for new Redis buses; the address is filled in */
} Fx;

static const char *backend_name(const Fx *fx)
{
  return fx->tls ? "redis over TLS" : fx->redis ? "redis" : "local";
}

static void fx_setup(Fx *fx, gconstpointer data)
{
  g_autofree char *server = NULL;

  fx->redis = GPOINTER_TO_INT(data) != BACKEND_LOCAL;
  fx->tls = GPOINTER_TO_INT(data) == BACKEND_REDIS_TLS;
  fx->buses = g_ptr_array_new();
  fx->workers = g_ptr_array_new();
  fx->ttl_ms = 5000;
  fx->srv.out_fd = -1;
  if (!fx->redis)
    return;
  server = g_find_program_in_path("redis-server");
  if (server == NULL) {
    fx->skipped = TRUE;
    fx->skip_why = "redis-server is not installed (scripts/deps.sh --test installs it)";
    return;
  }
  if (fx->tls && !tls_certs(&fx->skip_why)) {
    fx->skipped = TRUE;
    return;
  }
  fx->srv.dir = g_dir_make_tmp("sluice-bus-XXXXXX", NULL);
  fx->srv.port = free_port();
  if (fx->tls) {
    do
      fx->srv.tls_port = free_port();
    while (fx->srv.tls_port == fx->srv.port);
    fx->config.tls.enabled = TRUE;
    fx->config.tls.ca_cert_file = tls_file("ca.pem");
  }
  redis_start(&fx->srv);
}

static void worker_free(Worker *w);

static void fx_teardown(Fx *fx, gconstpointer data)
{
  for (guint i = 0; i < fx->buses->len; i++)
    sl_bus_free(fx->buses->pdata[i]);
  g_ptr_array_unref(fx->buses);
  for (guint i = 0; i < fx->workers->len; i++)
    worker_free(fx->workers->pdata[i]);
  g_ptr_array_unref(fx->workers);
  if (fx->redis && !fx->skipped) {
    redis_kill(&fx->srv);
    rmdir(fx->srv.dir);
  }
  g_free(fx->srv.dir);
  /* Anything a backend left on the main loop would run (and be caught by ASan) here. */
  spin_for(20);
  /* A tunnel removes its socket and directory once hiredis is on it, or when it is closed. */
  if (fx->tls)
    g_assert_cmpuint(tunnel_dirs(), ==, 0);
}

#define SKIP_IF_NO_REDIS(fx)                                                                       \
  do {                                                                                             \
    if ((fx)->skipped) {                                                                           \
      g_test_skip((fx)->skip_why);                                                                 \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

static SlBus *fx_new_bus(Fx *fx, const char *worker_id)
{
  SlBus *b;
  if (fx->redis) {
    g_autofree char *addr =
        g_strdup_printf("127.0.0.1:%d", fx->tls ? fx->srv.tls_port : fx->srv.port);
    SlRedisConfig cfg = fx->config;
    g_autoptr(GError) err = NULL;
    cfg.address = addr;
    b = sl_bus_new_redis(&cfg, worker_id, &err);
    g_assert_no_error(err);
  } else if (fx->buses->len > 0) {
    b = sl_bus_new_local_peer(fx->buses->pdata[0], worker_id);
  } else {
    b = sl_bus_new_local(worker_id);
  }
  g_assert_nonnull(b);
  sl_bus_set_heartbeat_ttl(b, fx->ttl_ms);
  g_ptr_array_add(fx->buses, b);
  return b;
}

/* A worker process dies: nothing is unregistered. */
static void fx_crash(Fx *fx, SlBus *b)
{
  g_assert_true(g_ptr_array_remove(fx->buses, b));
  sl_bus_free(b);
}

/* ---- Calling the bus and waiting for the answer -------------------------------------------- */

typedef struct {
  gboolean done;
  gboolean calling; /* set while the call that started the op runs: answers must come later */
  GError *error;
  char *value;
  char *value2;
  GPtrArray *items; /* SlBusItem copies */
  gint64 at;
} Result;

static void result_clear(Result *r)
{
  g_clear_error(&r->error);
  g_clear_pointer(&r->value, g_free);
  g_clear_pointer(&r->value2, g_free);
  g_clear_pointer(&r->items, g_ptr_array_unref);
  memset(r, 0, sizeof *r);
}

static void result_mark(Result *r, const GError *error)
{
  g_assert_false(r->calling);
  g_assert_false(r->done);
  r->done = TRUE;
  r->at = now_ms();
  r->error = error ? g_error_copy(error) : NULL;
}

static void on_done(SlBus *bus, const GError *error, gpointer data)
{
  result_mark(data, error);
}

static void on_value(SlBus *bus, const char *json, const GError *error, gpointer data)
{
  Result *r = data;
  result_mark(r, error);
  g_assert_true((json == NULL) == (error != NULL));
  r->value = g_strdup(json);
}

static void on_list(SlBus *bus, GPtrArray *items, const GError *error, gpointer data)
{
  Result *r = data;
  result_mark(r, error);
  if (items == NULL)
    return;
  r->items = g_ptr_array_new_with_free_func(sl_bus_item_free);
  for (guint i = 0; i < items->len; i++) {
    SlBusItem *it = items->pdata[i];
    g_ptr_array_add(r->items, sl_bus_item_new(it->id, it->json));
  }
}

static void on_owner(SlBus *bus, const char *worker, const char *session, const GError *error,
                     gpointer data)
{
  Result *r = data;
  result_mark(r, error);
  r->value = g_strdup(worker);
  r->value2 = g_strdup(session);
}

static gboolean result_done(gpointer data)
{
  return ((Result *)data)->done;
}

static void result_wait(Result *r)
{
  g_assert_true(spin_until(result_done, r, 15000));
}

#define CALL(r, expr)                                                                              \
  do {                                                                                             \
    result_clear(r);                                                                               \
    (r)->calling = TRUE;                                                                           \
    expr;                                                                                          \
    (r)->calling = FALSE;                                                                          \
    result_wait(r);                                                                                \
  } while (0)

static void put_ok(SlBus *b, SlBusKind kind, const char *id, const char *room, const char *skey,
                   gboolean active, const char *json)
{
  Result r = {0};
  SlBusRecord rec = {.id = id, .json = json, .room = room, .stream_key = skey, .active = active};
  CALL(&r, sl_bus_put(b, kind, &rec, on_done, &r));
  g_assert_no_error(r.error);
  result_clear(&r);
}

/* The ids of a list answer, comma-separated. */
static char *ids_of(Result *r)
{
  GString *s = g_string_new(NULL);
  g_assert_no_error(r->error);
  for (guint i = 0; i < r->items->len; i++)
    g_string_append_printf(s, "%s%s", i ? "," : "", ((SlBusItem *)r->items->pdata[i])->id);
  return g_string_free(s, FALSE);
}

static char *list_ids(SlBus *b, SlBusKind kind, const char *room, gboolean active_only)
{
  Result r = {0};
  char *ids;
  CALL(&r, sl_bus_list(b, kind, room, active_only, on_list, &r));
  ids = ids_of(&r);
  result_clear(&r);
  return ids;
}

static void sync_bus(SlBus *b)
{
  Result r = {0};
  CALL(&r, sl_bus_list_workers(b, on_list, &r));
  g_assert_no_error(r.error);
  result_clear(&r);
}

/* ---- Workers: handlers that record what the bus asked ------------------------------------- */

struct _Worker {
  Fx *fx;
  SlBus *bus;
  char *id;
  gboolean accept;
  gboolean hold_jobs;
  gboolean hold_controls;
  int offers, bids, lost, jobs, controls, dead_calls, resyncs;
  int reserved; /* cost units reserved by bids and not yet released */
  GHashTable *job_ids;
  GPtrArray *held;
  char *dead_worker;
  GPtrArray *dead_claims; /* "kind:id:session" */
  gint64 dead_at;
};

static char *job_id_of(const char *job)
{
  g_autofree char *id = NULL;
  g_autofree char *target = NULL;
  g_assert_true(sl_bus_job_parse(job, &id, &target, NULL));
  return g_steal_pointer(&id);
}

static gboolean w_offer(SlBus *bus, const char *job, gpointer data)
{
  Worker *w = data;
  w->offers++;
  if (!w->accept)
    return FALSE;
  w->bids++;
  w->reserved++;
  return TRUE;
}

static void w_offer_lost(SlBus *bus, const char *job, gpointer data)
{
  Worker *w = data;
  w->lost++;
  w->reserved--;
}

static void w_job(SlBus *bus, const char *job, SlBusResponder *resp, gpointer data)
{
  Worker *w = data;
  g_autofree char *reply = g_strdup_printf("{\"worker\":\"%s\",\"job\":%s}", w->id, job);
  w->jobs++;
  g_hash_table_add(w->job_ids, job_id_of(job));
  if (w->hold_jobs) {
    g_ptr_array_add(w->held, resp);
    return;
  }
  w->reserved--; /* the job ran; a real worker keeps the cost until the job ends */
  sl_bus_respond(resp, reply, NULL);
}

static void w_control(SlBus *bus, const char *message, SlBusResponder *resp, gpointer data)
{
  Worker *w = data;
  g_autofree char *reply = g_strdup_printf("{\"worker\":\"%s\",\"got\":%s}", w->id, message);
  w->controls++;
  if (w->hold_controls) {
    g_ptr_array_add(w->held, resp);
    return;
  }
  sl_bus_respond(resp, reply, NULL);
}

static gint str_ptr_cmp(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void w_dead(SlBus *bus, const char *worker_id, GPtrArray *claims, gpointer data)
{
  Worker *w = data;
  w->dead_calls++;
  w->dead_at = now_ms();
  g_free(w->dead_worker);
  w->dead_worker = g_strdup(worker_id);
  g_ptr_array_set_size(w->dead_claims, 0);
  for (guint i = 0; i < claims->len; i++) {
    SlBusClaim *c = claims->pdata[i];
    g_ptr_array_add(w->dead_claims,
                    g_strdup_printf("%s:%s:%s", sl_bus_kind_name(c->kind), c->id, c->session_id));
  }
  g_ptr_array_sort(w->dead_claims, str_ptr_cmp);
}

static void w_resync(SlBus *bus, gpointer data)
{
  ((Worker *)data)->resyncs++;
}

static const SlBusHandlers worker_handlers = {
    .on_offer = w_offer,
    .on_offer_lost = w_offer_lost,
    .on_job = w_job,
    .on_control = w_control,
    .on_worker_dead = w_dead,
    .on_resync = w_resync,
};

static Worker *worker_new(Fx *fx, const char *id, gboolean accept)
{
  Worker *w = g_new0(Worker, 1);
  Result r = {0};
  g_autofree char *info = g_strdup_printf("{\"id\":\"%s\",\"capacity\":4}", id);

  w->fx = fx;
  w->id = g_strdup(id);
  w->accept = accept;
  w->job_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  w->held = g_ptr_array_new();
  w->dead_claims = g_ptr_array_new_with_free_func(g_free);
  w->bus = fx_new_bus(fx, id);
  sl_bus_set_handlers(w->bus, &worker_handlers, w);
  CALL(&r, sl_bus_register(w->bus, info, on_done, &r));
  g_assert_no_error(r.error);
  result_clear(&r);
  g_ptr_array_add(fx->workers, w);
  return w;
}

static void worker_free(Worker *w)
{
  /* Answers held past the end of a test: the bus may be gone, which respond must tolerate. */
  for (guint i = 0; i < w->held->len; i++)
    sl_bus_respond(w->held->pdata[i], "null", NULL);
  g_ptr_array_unref(w->held);
  g_hash_table_unref(w->job_ids);
  g_ptr_array_unref(w->dead_claims);
  g_free(w->dead_worker);
  g_free(w->id);
  g_free(w);
}

/* ---- Pure helpers --------------------------------------------------------------------------- */

static void test_names(void)
{
  g_autofree char *p0 = sl_bus_key_prefix(NULL);
  g_autofree char *p1 = sl_bus_key_prefix("eu");
  g_autofree char *k = sl_bus_key(p1, "job", "J1", "owner", NULL);
  g_autofree char *ch = sl_bus_event_channel(p0, "ingress/IN_1");
  g_autofree char *w1 = sl_bus_expired_key_worker(p0, "sluice:hb:node-1");
  g_autofree char *w2 = sl_bus_expired_key_worker(p0, "sluice:reap:node-2");
  g_autofree char *glob = sl_bus_glob_escape("a*b?c[d]\\");

  g_assert_cmpstr(p0, ==, "sluice:");
  g_assert_cmpstr(p1, ==, "sluice:eu:");
  g_assert_cmpstr(k, ==, "sluice:eu:job:J1:owner");
  g_assert_cmpstr(ch, ==, "sluice:ev:ingress/IN_1");
  g_assert_cmpstr(sl_bus_event_topic(p0, ch), ==, "ingress/IN_1");
  g_assert_null(sl_bus_event_topic(p1, ch));
  g_assert_null(sl_bus_event_topic(p0, "sluice:offers"));
  g_assert_cmpstr(w1, ==, "node-1");
  g_assert_cmpstr(w2, ==, "node-2");
  g_assert_null(sl_bus_expired_key_worker(p0, "sluice:hb:"));
  g_assert_null(sl_bus_expired_key_worker(p0, "sluice:job:J:owner"));
  g_assert_null(sl_bus_expired_key_worker(p0, "livekit:hb:x"));
  g_assert_null(sl_bus_expired_key_worker(p1, "sluice:hb:node-1"));
  g_assert_cmpstr(glob, ==, "a\\*b\\?c\\[d\\]\\\\");
  g_assert_true(sl_bus_topic_matches("ingress/*", "ingress/IN_1"));
  g_assert_true(sl_bus_topic_matches("*", "worker/w"));
  g_assert_true(sl_bus_topic_matches("egress/E", "egress/E"));
  g_assert_false(sl_bus_topic_matches("egress/E", "egress/E2"));
  g_assert_false(sl_bus_topic_matches("ingress/*", "egress/E"));
}

static void test_keyspace_flags(void)
{
  const struct {
    const char *current, *want;
  } cases[] = {
      {"", "Ex"},    {NULL, "Ex"},   {"Ex", NULL}, {"xE", NULL},  {"KEA", NULL},
      {"AK", "AKE"}, {"Kg", "KgEx"}, {"E", "Ex"},  {"Kx", "KxE"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *got = sl_bus_keyspace_flags_merge(cases[i].current);
    g_assert_cmpstr(got, ==, cases[i].want);
  }
}

static void test_address(void)
{
  const struct {
    const char *in, *host;
    int port;
  } good[] = {{"127.0.0.1:6380", "127.0.0.1", 6380},
              {"redis.internal", "redis.internal", 6379},
              {"[::1]:7000", "::1", 7000},
              {"[::1]", "::1", 6379}};
  const char *bad[] = {"", ":6379", "host:0", "host:70000", "host:x", "::1:6379", "[::1", "[]:1"};

  for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
    g_autofree char *host = NULL;
    int port = 0;
    g_autoptr(GError) err = NULL;
    g_assert_true(sl_bus_parse_address(good[i].in, &host, &port, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(host, ==, good[i].host);
    g_assert_cmpint(port, ==, good[i].port);
  }
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autofree char *host = NULL;
    int port = 0;
    g_autoptr(GError) err = NULL;
    g_assert_false(sl_bus_parse_address(bad[i], &host, &port, &err));
    g_assert_error(err, SL_BUS_ERROR, SL_BUS_ERROR_INVALID);
  }
}

static void test_frames(void)
{
  SlBusFrame in = {.type = "offer",
                   .req = "r-1",
                   .from = "w\"1",
                   .id = "J1",
                   .body = "{\"id\":\"J1\",\"cost\":2.5}",
                   .ttl = 60000};
  SlBusFrame err_in = {.type = "result", .req = "r-2", .from = "w2", .code = 3, .msg = "late"};
  SlBusFrame out;
  g_autofree char *text = sl_bus_frame_encode(&in);
  g_autofree char *err_text = sl_bus_frame_encode(&err_in);
  g_autoptr(GError) err = NULL;
  const char *junk[] = {"", "not json", "[]", "{\"t\":\"offer\"}", "{\"t\":1,\"req\":\"r\"}"};

  g_assert_true(sl_bus_frame_decode(text, &out, &err));
  g_assert_no_error(err);
  g_assert_cmpstr(out.type, ==, "offer");
  g_assert_cmpstr(out.req, ==, "r-1");
  g_assert_cmpstr(out.from, ==, "w\"1");
  g_assert_cmpstr(out.id, ==, "J1");
  g_assert_cmpstr(out.body, ==, in.body);
  g_assert_cmpint(out.ttl, ==, 60000);
  g_assert_cmpint(out.code, ==, 0);
  g_assert_null(out.msg);
  sl_bus_frame_clear(&out);

  g_assert_true(sl_bus_frame_decode(err_text, &out, NULL));
  g_assert_cmpint(out.code, ==, 3);
  g_assert_cmpstr(out.msg, ==, "late");
  g_assert_null(out.body);
  sl_bus_frame_clear(&out);

  for (guint i = 0; i < G_N_ELEMENTS(junk); i++) {
    g_autoptr(GError) e = NULL;
    g_assert_false(sl_bus_frame_decode(junk[i], &out, &e));
    g_assert_error(e, SL_BUS_ERROR, SL_BUS_ERROR_INVALID);
  }
}

static void test_job_parse(void)
{
  const struct {
    const char *job, *id, *target;
  } good[] = {{"{\"id\":\"J\",\"type\":\"egress\",\"cost\":1,\"target_worker\":null}", "J", NULL},
              {"{\"id\":\"J\",\"target_worker\":\"w2\"}", "J", "w2"},
              {"{\"id\":\"J\",\"target_worker\":\"\"}", "J", NULL}};
  const char *bad[] = {
      "", "[]", "{}", "{\"id\":7}", "{\"id\":\"\"}", "{\"id\":\"J\",\"target_worker\":3}"};

  for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
    g_autofree char *id = NULL;
    g_autofree char *target = NULL;
    g_assert_true(sl_bus_job_parse(good[i].job, &id, &target, NULL));
    g_assert_cmpstr(id, ==, good[i].id);
    g_assert_cmpstr(target, ==, good[i].target);
  }
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autofree char *id = NULL;
    g_autofree char *target = NULL;
    g_autoptr(GError) err = NULL;
    g_assert_false(sl_bus_job_parse(bad[i], &id, &target, &err));
    g_assert_error(err, SL_BUS_ERROR, SL_BUS_ERROR_INVALID);
  }
}

static void test_redis_config_refused(void)
{
  SlRedisConfig bad = {.address = "127.0.0.1:http"};
  g_autoptr(GError) err = NULL;

  g_assert_null(sl_bus_new_redis(&bad, "w", &err));
  g_assert_error(err, SL_BUS_ERROR, SL_BUS_ERROR_INVALID);
}

/* TLS files are read when the bus is made: what cannot be used is refused there, with an error
 * that names the key (sl_redis_tls_error_key) and the file. */
static void test_redis_tls_files(void)
{
  const char *why = NULL;
  SlBus *b;

  if (!tls_certs(&why)) {
    g_test_skip(why);
    return;
  }

  const struct {
    const char *ca, *cert, *key;
    SlRedisTlsError code;
    const char *key_name, *says;
  } bad[] = {
      {"/nonexistent/ca.pem", NULL, NULL, SL_REDIS_TLS_ERROR_CA_CERT_FILE, "ca_cert_file",
       "/nonexistent/ca.pem"},
      {tls_file("client.key"), NULL, NULL, SL_REDIS_TLS_ERROR_CA_CERT_FILE, "ca_cert_file",
       "holds no PEM certificate"},
      {NULL, tls_file("client.pem"), NULL, SL_REDIS_TLS_ERROR_CLIENT_CERT_FILE, "client_cert_file",
       "client_key_file is not set"},
      {NULL, NULL, tls_file("client.key"), SL_REDIS_TLS_ERROR_CLIENT_KEY_FILE, "client_key_file",
       "client_cert_file is not set"},
      {NULL, tls_file("server.csr"), tls_file("client.key"), SL_REDIS_TLS_ERROR_CLIENT_CERT_FILE,
       "client_cert_file", "server.csr"},
      {NULL, tls_file("client.pem"), "/nonexistent/client.key", SL_REDIS_TLS_ERROR_CLIENT_KEY_FILE,
       "client_key_file", "/nonexistent/client.key"},
      {NULL, tls_file("client.pem"), tls_file("other.key"), SL_REDIS_TLS_ERROR_CLIENT_KEY_FILE,
       "client_key_file", "does not belong to the certificate"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    SlRedisConfig cfg = {
        .address = "127.0.0.1:9",
        .tls = {.enabled = TRUE,
                .ca_cert_file = bad[i].ca,
                .client_cert_file = bad[i].cert,
                .client_key_file = bad[i].key},
    };
    g_autoptr(GError) err = NULL;
    g_assert_null(sl_bus_new_redis(&cfg, "w", &err));
    g_assert_error(err, SL_REDIS_TLS_ERROR, (gint)bad[i].code);
    g_assert_cmpstr(sl_redis_tls_error_key(err), ==, bad[i].key_name);
    g_test_message("%s: %s", bad[i].key_name, err->message);
    g_assert_nonnull(strstr(err->message, bad[i].says));
    /* As LiveKit: without tls.enabled the section is not read at all. */
    cfg.tls.enabled = FALSE;
    b = sl_bus_new_redis(&cfg, "w", &err);
    g_assert_nonnull(b);
    sl_bus_free(b);
  }
  /* Good files (and use_tls alone) make a bus that starts connecting; freed at once, its tunnels
   * are closed and leave nothing behind. */
  {
    SlRedisConfig cfg = {.address = "127.0.0.1:9",
                         .tls = {.enabled = TRUE,
                                 .ca_cert_file = tls_file("ca.pem"),
                                 .client_cert_file = tls_file("client.pem"),
                                 .client_key_file = tls_file("client.key")}};
    SlRedisConfig plain = {.address = "127.0.0.1:9", .use_tls = TRUE};
    g_autoptr(GError) err = NULL;
    b = sl_bus_new_redis(&cfg, "w", &err);
    g_assert_no_error(err);
    sl_bus_free(b);
    b = sl_bus_new_redis(&plain, "w", &err);
    g_assert_no_error(err);
    sl_bus_free(b);
    spin_for(100);
    g_assert_cmpuint(tunnel_dirs(), ==, 0);
  }
}

/* ---- Store ---------------------------------------------------------------------------------- */

static void test_store_ingress(Fx *fx, gconstpointer data)
{
  SlBus *a;
  Result r = {0};
  SlBusRecord taken = {.id = "I3", .json = "{}", .stream_key = "k1"};
  SlBusRecord empty = {.id = "", .json = "{}"};
  g_autofree char *l1 = NULL, *l2 = NULL, *l3 = NULL, *l4 = NULL, *l5 = NULL;

  SKIP_IF_NO_REDIS(fx);
  a = fx_new_bus(fx, "wA");
  put_ok(a, SL_BUS_INGRESS, "I1", "r1", "k1", FALSE, "{\"ingress_id\":\"I1\",\"v\":1}");
  put_ok(a, SL_BUS_INGRESS, "I2", "r1", "k2", FALSE, "{\"ingress_id\":\"I2\"}");

  /* The stream key is unique: the second ingress is refused, named, and nothing is written. */
  CALL(&r, sl_bus_put(a, SL_BUS_INGRESS, &taken, on_done, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_ALREADY_EXISTS);
  g_assert_nonnull(strstr(r.error->message, "I1"));
  g_assert_null(strstr(r.error->message, "k1")); /* a stream key is a secret */
  CALL(&r, sl_bus_get(a, SL_BUS_INGRESS, "I3", on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND);

  CALL(&r, sl_bus_get(a, SL_BUS_INGRESS, "I1", on_value, &r));
  g_assert_no_error(r.error);
  g_assert_cmpstr(r.value, ==, "{\"ingress_id\":\"I1\",\"v\":1}");
  CALL(&r, sl_bus_get_by_stream_key(a, "k2", on_value, &r));
  g_assert_cmpstr(r.value, ==, "{\"ingress_id\":\"I2\"}");
  CALL(&r, sl_bus_get_by_stream_key(a, "nope", on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND);
  l1 = list_ids(a, SL_BUS_INGRESS, "r1", FALSE);
  g_assert_cmpstr(l1, ==, "I1,I2");

  /* A new stream key and room move the indexes; the old key is free again. */
  put_ok(a, SL_BUS_INGRESS, "I1", "r2", "k9", FALSE, "{\"ingress_id\":\"I1\",\"v\":2}");
  CALL(&r, sl_bus_get_by_stream_key(a, "k1", on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND);
  CALL(&r, sl_bus_get_by_stream_key(a, "k9", on_value, &r));
  g_assert_cmpstr(r.value, ==, "{\"ingress_id\":\"I1\",\"v\":2}");
  l2 = list_ids(a, SL_BUS_INGRESS, "r1", FALSE);
  g_assert_cmpstr(l2, ==, "I2");
  l3 = list_ids(a, SL_BUS_INGRESS, "r2", FALSE);
  g_assert_cmpstr(l3, ==, "I1");
  put_ok(a, SL_BUS_INGRESS, "I3", NULL, "k1", FALSE, "{}");

  CALL(&r, sl_bus_delete(a, SL_BUS_INGRESS, "I2", on_done, &r));
  g_assert_no_error(r.error);
  CALL(&r, sl_bus_delete(a, SL_BUS_INGRESS, "I2", on_done, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND);
  CALL(&r, sl_bus_get_by_stream_key(a, "k2", on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND);
  l4 = list_ids(a, SL_BUS_INGRESS, "r1", FALSE);
  g_assert_cmpstr(l4, ==, "");
  l5 = list_ids(a, SL_BUS_INGRESS, NULL, FALSE);
  g_assert_cmpstr(l5, ==, "I1,I3");

  CALL(&r, sl_bus_put(a, SL_BUS_INGRESS, &empty, on_done, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID);
  result_clear(&r);
}

static void test_store_egress(Fx *fx, gconstpointer data)
{
  SlBus *a, *b;
  Result r = {0};
  g_autofree char *l1 = NULL, *l2 = NULL, *l3 = NULL, *l4 = NULL, *l5 = NULL, *l6 = NULL;

  SKIP_IF_NO_REDIS(fx);
  a = fx_new_bus(fx, "wA");
  b = fx_new_bus(fx, "wB");
  put_ok(a, SL_BUS_EGRESS, "E1", "r1", NULL, TRUE, "{\"egress_id\":\"E1\"}");
  put_ok(a, SL_BUS_EGRESS, "E2", "r1", NULL, FALSE, "{\"egress_id\":\"E2\"}");
  put_ok(b, SL_BUS_EGRESS, "E3", "r2", NULL, TRUE, "{\"egress_id\":\"E3\"}");

  /* Both buses see one store. */
  l1 = list_ids(b, SL_BUS_EGRESS, NULL, FALSE);
  g_assert_cmpstr(l1, ==, "E1,E2,E3");
  l2 = list_ids(b, SL_BUS_EGRESS, NULL, TRUE);
  g_assert_cmpstr(l2, ==, "E1,E3");
  l3 = list_ids(a, SL_BUS_EGRESS, "r1", TRUE);
  g_assert_cmpstr(l3, ==, "E1");
  l4 = list_ids(a, SL_BUS_EGRESS, "r1", FALSE);
  g_assert_cmpstr(l4, ==, "E1,E2");

  put_ok(a, SL_BUS_EGRESS, "E1", "r1", NULL, FALSE, "{\"egress_id\":\"E1\",\"status\":4}");
  l5 = list_ids(a, SL_BUS_EGRESS, NULL, TRUE);
  g_assert_cmpstr(l5, ==, "E3");
  CALL(&r, sl_bus_get(b, SL_BUS_EGRESS, "E1", on_value, &r));
  g_assert_cmpstr(r.value, ==, "{\"egress_id\":\"E1\",\"status\":4}");
  /* Ingress and egress ids live apart. */
  CALL(&r, sl_bus_get(b, SL_BUS_INGRESS, "E1", on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND);
  CALL(&r, sl_bus_delete(b, SL_BUS_EGRESS, "E3", on_done, &r));
  g_assert_no_error(r.error);
  l6 = list_ids(a, SL_BUS_EGRESS, NULL, TRUE);
  g_assert_cmpstr(l6, ==, "");
  result_clear(&r);
}

/* ---- Events --------------------------------------------------------------------------------- */

typedef struct {
  GPtrArray *seen; /* "topic json" */
} Events;

static void on_event(SlBus *bus, const char *topic, const char *json, gpointer data)
{
  Events *ev = data;
  g_ptr_array_add(ev->seen, g_strdup_printf("%s %s", topic, json));
}

static gboolean has_n_events(gpointer data)
{
  Events *ev = ((gpointer *)data)[0];
  return ev->seen->len >= GPOINTER_TO_UINT(((gpointer *)data)[1]);
}

static void wait_events(Events *ev, guint n)
{
  gpointer args[] = {ev, GUINT_TO_POINTER(n)};
  g_assert_true(spin_until(has_n_events, args, 5000));
}

static gboolean is_publishing(const char *topic, const char *json, gpointer data)
{
  return strstr(json, "PUBLISHING") != NULL;
}

static void test_events(Fx *fx, gconstpointer data)
{
  SlBus *a, *b;
  Events on_a = {g_ptr_array_new_with_free_func(g_free)};
  Events on_b = {g_ptr_array_new_with_free_func(g_free)};
  Events marker = {g_ptr_array_new_with_free_func(g_free)};
  Result r = {0};
  guint sub_a, sub_b;
  gint64 t0;

  SKIP_IF_NO_REDIS(fx);
  a = fx_new_bus(fx, "wA");
  b = fx_new_bus(fx, "wB");
  sync_bus(a);
  sync_bus(b);
  sub_a = sl_bus_subscribe(a, "ingress/*", on_event, &on_a, NULL);
  sub_b = sl_bus_subscribe(b, "custom/topic", on_event, &on_b, NULL);
  g_assert_cmpuint(sub_a, >, 0);

  /* A caller waits for a state another bus writes; the wait is armed before the writes. */
  result_clear(&r);
  r.calling = TRUE;
  sl_bus_wait_for(b, "ingress/I1", is_publishing, 5000, on_value, &r);
  r.calling = FALSE;
  put_ok(a, SL_BUS_INGRESS, "I1", "r", NULL, FALSE, "{\"state\":\"ENDPOINT_BUFFERING\"}");
  put_ok(a, SL_BUS_INGRESS, "I1", "r", NULL, FALSE, "{\"state\":\"ENDPOINT_PUBLISHING\"}");
  result_wait(&r);
  g_assert_no_error(r.error);
  g_assert_cmpstr(r.value, ==, "{\"state\":\"ENDPOINT_PUBLISHING\"}");

  CALL(&r, sl_bus_delete(a, SL_BUS_INGRESS, "I1", on_done, &r));
  wait_events(&on_a, 3);
  g_assert_cmpuint(on_a.seen->len, ==, 3);
  g_assert_cmpstr(on_a.seen->pdata[0], ==, "ingress/I1 {\"state\":\"ENDPOINT_BUFFERING\"}");
  g_assert_cmpstr(on_a.seen->pdata[1], ==, "ingress/I1 {\"state\":\"ENDPOINT_PUBLISHING\"}");
  g_assert_cmpstr(on_a.seen->pdata[2], ==, "ingress/I1 null");

  /* A caller's own topic, from one bus to another. */
  CALL(&r, sl_bus_publish(a, "custom/topic", "{\"n\":1}", on_done, &r));
  g_assert_no_error(r.error);
  wait_events(&on_b, 1);
  g_assert_cmpstr(on_b.seen->pdata[0], ==, "custom/topic {\"n\":1}");

  /* Unsubscribed: nothing more arrives (the marker, published after, shows b has caught up). */
  sl_bus_unsubscribe(b, sub_b);
  sub_b = sl_bus_subscribe(b, "marker", on_event, &marker, NULL);
  CALL(&r, sl_bus_publish(a, "custom/topic", "{\"n\":2}", on_done, &r));
  CALL(&r, sl_bus_publish(a, "marker", "{}", on_done, &r));
  wait_events(&marker, 1);
  g_assert_cmpuint(on_b.seen->len, ==, 1);
  sl_bus_unsubscribe(b, sub_b);

  /* A wait that nothing satisfies times out. */
  t0 = now_ms();
  CALL(&r, sl_bus_wait_for(a, "nothing/here", NULL, 200, on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_DEADLINE_EXCEEDED);
  g_assert_cmpint(r.at - t0, >=, 190);
  g_assert_cmpint(r.at - t0, <, 2000);

  sl_bus_unsubscribe(a, sub_a);
  result_clear(&r);
  g_ptr_array_unref(on_a.seen);
  g_ptr_array_unref(on_b.seen);
  g_ptr_array_unref(marker.seen);
}

/* ---- Ownership ------------------------------------------------------------------------------ */

static void test_claims(Fx *fx, gconstpointer data)
{
  SlBus *a, *b;
  Result r = {0};

  SKIP_IF_NO_REDIS(fx);
  a = fx_new_bus(fx, "wA");
  b = fx_new_bus(fx, "wB");

  CALL(&r, sl_bus_claim(a, SL_BUS_INGRESS, "I1", "S1", on_done, &r));
  g_assert_no_error(r.error);
  CALL(&r, sl_bus_claim(b, SL_BUS_INGRESS, "I1", "S9", on_done, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_ALREADY_EXISTS);
  g_assert_nonnull(strstr(r.error->message, "wA"));
  CALL(&r, sl_bus_owner(b, SL_BUS_INGRESS, "I1", on_owner, &r));
  g_assert_no_error(r.error);
  g_assert_cmpstr(r.value, ==, "wA");
  g_assert_cmpstr(r.value2, ==, "S1");

  /* Claiming again what one holds moves it to a new session. */
  CALL(&r, sl_bus_claim(a, SL_BUS_INGRESS, "I1", "S2", on_done, &r));
  g_assert_no_error(r.error);
  CALL(&r, sl_bus_owner(a, SL_BUS_INGRESS, "I1", on_owner, &r));
  g_assert_cmpstr(r.value2, ==, "S2");

  /* Only the owner releases. */
  CALL(&r, sl_bus_release(b, SL_BUS_INGRESS, "I1", on_done, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND);
  g_assert_nonnull(strstr(r.error->message, "wA"));
  CALL(&r, sl_bus_release(a, SL_BUS_INGRESS, "I1", on_done, &r));
  g_assert_no_error(r.error);
  CALL(&r, sl_bus_owner(a, SL_BUS_INGRESS, "I1", on_owner, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND);
  CALL(&r, sl_bus_release(a, SL_BUS_INGRESS, "I1", on_done, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND);
  CALL(&r, sl_bus_claim(b, SL_BUS_INGRESS, "I1", "S3", on_done, &r));
  g_assert_no_error(r.error);

  /* Ingress and egress claims are apart. */
  CALL(&r, sl_bus_claim(a, SL_BUS_EGRESS, "I1", "S4", on_done, &r));
  g_assert_no_error(r.error);
  result_clear(&r);
}

/* ---- Workers -------------------------------------------------------------------------------- */

static void test_workers(Fx *fx, gconstpointer data)
{
  Worker *a, *b;
  Result r = {0};
  SlBus *c;
  g_autofree char *ids = NULL;

  SKIP_IF_NO_REDIS(fx);
  a = worker_new(fx, "wA", TRUE);
  b = worker_new(fx, "wB", TRUE);
  c = fx_new_bus(fx, "api"); /* a bus that is not a worker */

  CALL(&r, sl_bus_list_workers(c, on_list, &r));
  ids = ids_of(&r);
  g_assert_cmpstr(ids, ==, "wA,wB");
  g_assert_cmpstr(((SlBusItem *)r.items->pdata[0])->json, ==, "{\"id\":\"wA\",\"capacity\":4}");

  /* Registering again replaces the info. */
  CALL(&r, sl_bus_register(a->bus, "{\"capacity\":1}", on_done, &r));
  g_assert_no_error(r.error);
  CALL(&r, sl_bus_list_workers(c, on_list, &r));
  g_assert_cmpstr(((SlBusItem *)r.items->pdata[0])->json, ==, "{\"capacity\":1}");

  CALL(&r, sl_bus_claim(b->bus, SL_BUS_INGRESS, "I1", "S", on_done, &r));
  CALL(&r, sl_bus_unregister(b->bus, on_done, &r));
  g_assert_no_error(r.error);
  g_free(ids);
  CALL(&r, sl_bus_list_workers(c, on_list, &r));
  ids = ids_of(&r);
  g_assert_cmpstr(ids, ==, "wA");
  /* A clean exit leaves no claims behind. */
  CALL(&r, sl_bus_owner(c, SL_BUS_INGRESS, "I1", on_owner, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND);
  result_clear(&r);
}

/* ---- Dispatch ------------------------------------------------------------------------------- */

typedef struct {
  int pending;
  GPtrArray *replies; /* JSON, or "error: <message>" */
} Batch;

static void on_batch(SlBus *bus, const char *json, const GError *error, gpointer data)
{
  Batch *b = data;
  b->pending--;
  g_ptr_array_add(b->replies,
                  error ? g_strdup_printf("error: %s", error->message) : g_strdup(json));
}

static gboolean batch_done(gpointer data)
{
  return ((Batch *)data)->pending == 0;
}

static gboolean all_settled(gpointer data)
{
  Worker **w = data;
  return w[0]->bids == w[0]->jobs + w[0]->lost && w[1]->bids == w[1]->jobs + w[1]->lost;
}

static void test_dispatch_one_winner(Fx *fx, gconstpointer data)
{
  Worker *w[2];
  SlBus *api;
  Batch batch = {0, g_ptr_array_new_with_free_func(g_free)};
  const int n = 40;
  GHashTableIter it;
  gpointer key;

  SKIP_IF_NO_REDIS(fx);
  w[0] = worker_new(fx, "wA", TRUE);
  w[1] = worker_new(fx, "wB", TRUE);
  api = fx_new_bus(fx, "api");
  sync_bus(api);

  /* Every job goes out at once; both workers bid on every one. */
  for (int i = 0; i < n; i++) {
    g_autofree char *job = g_strdup_printf(
        "{\"id\":\"J%d\",\"type\":\"egress\",\"cost\":1,\"target_worker\":null}", i);
    batch.pending++;
    sl_bus_dispatch(api, job, 5000, on_batch, &batch);
  }
  g_assert_true(spin_until(batch_done, &batch, 15000));
  g_assert_true(spin_until(all_settled, w, 5000));

  for (guint i = 0; i < batch.replies->len; i++)
    g_assert_null(strstr(batch.replies->pdata[i], "error"));
  /* Exactly one runner per job: every job ran once, no job ran on both. */
  g_assert_cmpint(w[0]->jobs + w[1]->jobs, ==, n);
  g_assert_cmpint(g_hash_table_size(w[0]->job_ids) + g_hash_table_size(w[1]->job_ids), ==, n);
  g_hash_table_iter_init(&it, w[0]->job_ids);
  while (g_hash_table_iter_next(&it, &key, NULL))
    g_assert_false(g_hash_table_contains(w[1]->job_ids, key));
  /* Both bid on everything; the loser of each was told and released its reservation. */
  g_assert_cmpint(w[0]->bids, ==, n);
  g_assert_cmpint(w[1]->bids, ==, n);
  g_assert_cmpint(w[0]->lost + w[1]->lost, ==, n);
  g_assert_cmpint(w[0]->reserved, ==, 0);
  g_assert_cmpint(w[1]->reserved, ==, 0);
  g_test_message("%s: %d jobs: %d on wA, %d on wB", backend_name(fx), n, w[0]->jobs, w[1]->jobs);
  g_ptr_array_unref(batch.replies);
}

static void test_dispatch_capacity(Fx *fx, gconstpointer data)
{
  Worker *full, *room;
  SlBus *api;
  Result r = {0};
  gint64 t0;

  SKIP_IF_NO_REDIS(fx);
  full = worker_new(fx, "wFull", FALSE);
  room = worker_new(fx, "wRoom", TRUE);
  api = fx_new_bus(fx, "api");
  sync_bus(api);

  for (int i = 0; i < 10; i++) {
    g_autofree char *job = g_strdup_printf("{\"id\":\"C%d\",\"cost\":2}", i);
    CALL(&r, sl_bus_dispatch(api, job, 5000, on_value, &r));
    g_assert_no_error(r.error);
    g_assert_nonnull(strstr(r.value, "\"worker\":\"wRoom\""));
  }
  /* The worker without room was asked and never got a job. */
  g_assert_cmpint(full->offers, ==, 10);
  g_assert_cmpint(full->bids, ==, 0);
  g_assert_cmpint(full->jobs, ==, 0);
  g_assert_cmpint(room->jobs, ==, 10);

  /* Nobody has room: the answer comes as soon as everyone said no, not at the timeout. */
  room->accept = FALSE;
  t0 = now_ms();
  CALL(&r, sl_bus_dispatch(api, "{\"id\":\"C-none\",\"cost\":2}", 5000, on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE);
  g_assert_nonnull(strstr(r.error->message, "no worker can take it"));
  g_assert_cmpint(r.at - t0, <, 2500);
  g_test_message("%s: all declined, answered in %" G_GINT64_FORMAT " ms", backend_name(fx),
                 r.at - t0);

  CALL(&r, sl_bus_dispatch(api, "{\"cost\":2}", 5000, on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_INVALID);
  result_clear(&r);
}

static void test_dispatch_targeted(Fx *fx, gconstpointer data)
{
  Worker *a, *b;
  SlBus *api;
  Result r = {0};

  SKIP_IF_NO_REDIS(fx);
  a = worker_new(fx, "wA", TRUE);
  b = worker_new(fx, "wB", TRUE);
  api = fx_new_bus(fx, "api");
  sync_bus(api);

  for (int i = 0; i < 5; i++) {
    g_autofree char *job = g_strdup_printf("{\"id\":\"T%d\",\"target_worker\":\"wB\"}", i);
    CALL(&r, sl_bus_dispatch(api, job, 5000, on_value, &r));
    g_assert_no_error(r.error);
    g_assert_nonnull(strstr(r.value, "\"worker\":\"wB\""));
  }
  g_assert_cmpint(a->offers, ==, 0);
  g_assert_cmpint(b->jobs, ==, 5);

  CALL(&r,
       sl_bus_dispatch(api, "{\"id\":\"T-x\",\"target_worker\":\"nobody\"}", 5000, on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE);
  g_assert_nonnull(strstr(r.error->message, "nobody"));

  b->accept = FALSE;
  CALL(&r,
       sl_bus_dispatch(api, "{\"id\":\"T-full\",\"target_worker\":\"wB\"}", 5000, on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE);
  g_assert_nonnull(strstr(r.error->message, "wB"));
  result_clear(&r);
}

static void test_dispatch_timeout(Fx *fx, gconstpointer data)
{
  Worker *slow;
  SlBus *api;
  Result r = {0};
  gint64 t0;

  SKIP_IF_NO_REDIS(fx);
  slow = worker_new(fx, "wSlow", TRUE);
  slow->hold_jobs = TRUE;
  api = fx_new_bus(fx, "api");
  sync_bus(api);

  t0 = now_ms();
  CALL(&r, sl_bus_dispatch(api, "{\"id\":\"slow-1\"}", 300, on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_DEADLINE_EXCEEDED);
  g_assert_nonnull(strstr(r.error->message, "wSlow"));
  g_assert_cmpint(r.at - t0, >=, 290);
  g_assert_cmpuint(slow->held->len, ==, 1);

  /* The late answer goes nowhere, harmlessly. */
  sl_bus_respond(slow->held->pdata[0], "{\"late\":true}", NULL);
  g_ptr_array_set_size(slow->held, 0);
  spin_for(100);

  /* A retried id cannot start a second runner. */
  slow->hold_jobs = FALSE;
  CALL(&r, sl_bus_dispatch(api, "{\"id\":\"slow-1\"}", 300, on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_DEADLINE_EXCEEDED);
  g_assert_cmpint(slow->jobs, ==, 1);
  result_clear(&r);
}

/* ---- Control -------------------------------------------------------------------------------- */

static void test_control(Fx *fx, gconstpointer data)
{
  Worker *a;
  SlBus *api;
  Result r = {0};

  SKIP_IF_NO_REDIS(fx);
  a = worker_new(fx, "wA", TRUE);
  worker_new(fx, "wB", TRUE);
  api = fx_new_bus(fx, "api");
  sync_bus(api);

  CALL(&r, sl_bus_claim(a->bus, SL_BUS_INGRESS, "I1", "S1", on_done, &r));
  g_assert_no_error(r.error);
  CALL(&r,
       sl_bus_control_owner(api, SL_BUS_INGRESS, "I1", "{\"op\":\"stop\"}", 2000, on_value, &r));
  g_assert_no_error(r.error);
  g_assert_cmpstr(r.value, ==, "{\"worker\":\"wA\",\"got\":{\"op\":\"stop\"}}");
  g_assert_cmpint(a->controls, ==, 1);

  CALL(&r, sl_bus_control_owner(api, SL_BUS_INGRESS, "I-none", "{}", 2000, on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND);
  CALL(&r, sl_bus_control(api, "nobody", "{}", 2000, on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE);
  /* A bus without a control handler says so. */
  CALL(&r, sl_bus_control(a->bus, "api", "{}", 2000, on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE);
  g_assert_nonnull(strstr(r.error->message, "no control"));

  a->hold_controls = TRUE;
  CALL(&r, sl_bus_control(api, "wA", "{\"op\":\"update\"}", 250, on_value, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_DEADLINE_EXCEEDED);
  g_assert_nonnull(strstr(r.error->message, "wA"));
  result_clear(&r);
}

/* ---- Failure: dead workers ------------------------------------------------------------------ */

static gboolean someone_reaped(gpointer data)
{
  Worker **w = data;
  return w[0]->dead_calls + w[1]->dead_calls > 0;
}

static void test_worker_dead(Fx *fx, gconstpointer data)
{
  Worker *doomed, *w[2];
  Result r = {0};
  gint64 t0;
  Worker *reaper;
  g_autofree char *ids = NULL;

  SKIP_IF_NO_REDIS(fx);
  fx->ttl_ms = 1000;
  doomed = worker_new(fx, "wDoomed", TRUE);
  w[0] = worker_new(fx, "wB", TRUE);
  w[1] = worker_new(fx, "wC", TRUE);
  CALL(&r, sl_bus_claim(doomed->bus, SL_BUS_INGRESS, "I1", "S-in", on_done, &r));
  CALL(&r, sl_bus_claim(doomed->bus, SL_BUS_EGRESS, "E1", "S-eg", on_done, &r));
  g_assert_no_error(r.error);
  /* Heartbeats keep it alive past its TTL. */
  spin_for(1500);
  g_assert_cmpint(w[0]->dead_calls + w[1]->dead_calls, ==, 0);

  t0 = now_ms();
  fx_crash(fx, doomed->bus);
  g_assert_true(spin_until(someone_reaped, w, 3000));
  reaper = w[0]->dead_calls ? w[0] : w[1];
  g_test_message("%s: dead worker reaped %" G_GINT64_FORMAT " ms after it died (TTL 1 s)",
                 backend_name(fx), reaper->dead_at - t0);
  g_assert_cmpint(reaper->dead_at - t0, <, 3000);
  g_assert_cmpstr(reaper->dead_worker, ==, "wDoomed");
  g_assert_cmpuint(reaper->dead_claims->len, ==, 2);
  g_assert_cmpstr(reaper->dead_claims->pdata[0], ==, "egress:E1:S-eg");
  g_assert_cmpstr(reaper->dead_claims->pdata[1], ==, "ingress:I1:S-in");

  /* Once, across the survivors, even well after. */
  spin_for(1500);
  g_assert_cmpint(w[0]->dead_calls + w[1]->dead_calls, ==, 1);
  /* Its claims and its registration are gone: the ingress can go live elsewhere. */
  CALL(&r, sl_bus_owner(w[0]->bus, SL_BUS_INGRESS, "I1", on_owner, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND);
  CALL(&r, sl_bus_claim(w[1]->bus, SL_BUS_INGRESS, "I1", "S-new", on_done, &r));
  g_assert_no_error(r.error);
  CALL(&r, sl_bus_list_workers(w[0]->bus, on_list, &r));
  ids = ids_of(&r);
  g_assert_cmpstr(ids, ==, "wB,wC");
  result_clear(&r);
}

static gboolean reaped(gpointer data)
{
  return ((Worker *)data)->dead_calls > 0;
}

/* A worker that died while no survivor was listening is reaped by the next one to come: at once
 * when it meets a claim of the dead worker, else by the look it takes a while after connecting. */
static void test_late_survivor(Fx *fx, gconstpointer data)
{
  Worker *doomed, *late, *later;
  Result r = {0};
  gint64 t0;

  SKIP_IF_NO_REDIS(fx);
  fx->ttl_ms = 1000;
  fx_new_bus(fx, "api"); /* not a worker: it hears the expiry and never reaps */
  doomed = worker_new(fx, "wDoomed", TRUE);
  CALL(&r, sl_bus_claim(doomed->bus, SL_BUS_INGRESS, "I1", "S", on_done, &r));
  fx_crash(fx, doomed->bus);
  spin_for(1500); /* expired, and nobody to notice */

  late = worker_new(fx, "wLate", TRUE);
  t0 = now_ms();
  CALL(&r, sl_bus_claim(late->bus, SL_BUS_INGRESS, "I1", "S2", on_done, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_ALREADY_EXISTS);
  g_assert_true(spin_until(reaped, late, 3000));
  g_assert_cmpint(now_ms() - t0, <, 1000); /* before its own look at the registry */
  g_assert_cmpstr(late->dead_worker, ==, "wDoomed");
  g_assert_cmpuint(late->dead_claims->len, ==, 1);
  CALL(&r, sl_bus_claim(late->bus, SL_BUS_INGRESS, "I1", "S2", on_done, &r));
  g_assert_no_error(r.error);

  /* Now one with no claims to meet: the look after connecting finds it. */
  fx_crash(fx, late->bus);
  spin_for(1500);
  later = worker_new(fx, "wLater", TRUE);
  g_assert_true(spin_until(reaped, later, 4000));
  g_assert_cmpstr(later->dead_worker, ==, "wLate");
  g_assert_cmpuint(later->dead_claims->len, ==, 1);
  /* Asked on the reaper's own connection, so after its clean-up. */
  CALL(&r, sl_bus_owner(later->bus, SL_BUS_INGRESS, "I1", on_owner, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND);
  result_clear(&r);
}

/* ---- Lifetime: answers never come from inside the call, and never after free ------------- */

static void must_not_run_done(SlBus *bus, const GError *error, gpointer data)
{
  g_assert_not_reached();
}

static void must_not_run_value(SlBus *bus, const char *json, const GError *error, gpointer data)
{
  g_assert_not_reached();
}

static void must_not_run_list(SlBus *bus, GPtrArray *items, const GError *error, gpointer data)
{
  g_assert_not_reached();
}

static void free_in_callback(SlBus *bus, const GError *error, gpointer data)
{
  Fx *fx = data;
  g_assert_true(g_ptr_array_remove(fx->buses, bus));
  sl_bus_free(bus);
}

static void free_in_event(SlBus *bus, const char *topic, const char *json, gpointer data)
{
  Fx *fx = data;
  if (g_ptr_array_remove(fx->buses, bus))
    sl_bus_free(bus);
}

static gboolean bus_gone(gpointer data)
{
  gpointer *args = data;
  return !g_ptr_array_find(((Fx *)args[0])->buses, args[1], NULL);
}

static void test_free(Fx *fx, gconstpointer data)
{
  SlBus *a, *b, *c;
  SlBusRecord rec = {.id = "I1", .json = "{}"};
  gpointer args[2];

  SKIP_IF_NO_REDIS(fx);
  a = fx_new_bus(fx, "wA");
  b = fx_new_bus(fx, "wB");
  sync_bus(a);
  sync_bus(b);

  /* Freed with operations in flight: none of them calls back. */
  sl_bus_get(a, SL_BUS_INGRESS, "I1", must_not_run_value, NULL);
  sl_bus_list(a, SL_BUS_EGRESS, NULL, FALSE, must_not_run_list, NULL);
  sl_bus_put(a, SL_BUS_INGRESS, &rec, must_not_run_done, NULL);
  sl_bus_dispatch(a, "{\"id\":\"J\"}", 1000, must_not_run_value, NULL);
  sl_bus_wait_for(a, "x", NULL, 100, must_not_run_value, NULL);
  fx_crash(fx, a);
  spin_for(300);

  /* A bus freed from inside its own callbacks. */
  sl_bus_publish(b, "t", "{}", free_in_callback, fx);
  args[0] = fx;
  args[1] = b;
  g_assert_true(spin_until(bus_gone, args, 5000));

  c = fx_new_bus(fx, "wC");
  sync_bus(c);
  sl_bus_subscribe(c, "t", free_in_event, fx, NULL);
  sl_bus_subscribe(c, "t", free_in_event, fx, NULL);
  sl_bus_publish(c, "t", "{}", NULL, NULL);
  args[1] = c;
  g_assert_true(spin_until(bus_gone, args, 5000));
  spin_for(100);
}

/* ---- Redis only: outages -------------------------------------------------------------------- */

static gboolean disconnected(gpointer data)
{
  return !sl_bus_is_connected(data);
}

static gboolean connected(gpointer data)
{
  return sl_bus_is_connected(data);
}

static gboolean has_job(gpointer data)
{
  return ((Worker *)data)->jobs > 0;
}

static gboolean both_resynced(gpointer data)
{
  Worker **w = data;
  return w[0]->resyncs > 0 && w[1]->resyncs > 0;
}

static void test_redis_restart(Fx *fx, gconstpointer data)
{
  Worker *w[2];
  SlBus *api;
  Result r = {0};
  Result inflight = {0};
  gint64 t0;
  g_autofree char *ids = NULL;

  SKIP_IF_NO_REDIS(fx);
  w[0] = worker_new(fx, "wA", TRUE);
  w[1] = worker_new(fx, "wB", FALSE);
  api = fx_new_bus(fx, "api");
  sync_bus(api);
  CALL(&r, sl_bus_claim(w[0]->bus, SL_BUS_INGRESS, "I1", "S1", on_done, &r));
  CALL(&r, sl_bus_claim(w[1]->bus, SL_BUS_EGRESS, "E1", "S2", on_done, &r));
  g_assert_no_error(r.error);

  /* A job in flight when the server dies fails at once instead of at its timeout. */
  w[0]->hold_jobs = TRUE;
  sl_bus_dispatch(api, "{\"id\":\"before\"}", 10000, on_value, &inflight);
  g_assert_true(spin_until(has_job, w[0], 5000));
  t0 = now_ms();
  redis_kill(&fx->srv);
  g_assert_true(spin_until(disconnected, api, 2000));
  result_wait(&inflight);
  g_assert_error(inflight.error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE);
  g_test_message("in-flight dispatch failed %" G_GINT64_FORMAT " ms after the kill",
                 inflight.at - t0);
  g_assert_cmpint(inflight.at - t0, <, 2000);

  /* While the server is down: fail fast, nothing queues. */
  for (int i = 0; i < 3; i++) {
    gint64 s = now_ms();
    CALL(&r, sl_bus_owner(api, SL_BUS_INGRESS, "I1", on_owner, &r));
    g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE);
    g_assert_cmpint(r.at - s, <, 100);
    CALL(&r, sl_bus_dispatch(api, "{\"id\":\"during\"}", 5000, on_value, &r));
    g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE);
    g_assert_cmpint(r.at - s, <, 200);
    spin_for(200);
  }

  /* The same port again, empty (no persistence): the buses come back and put back what they
   * hold. */
  t0 = now_ms();
  redis_start(&fx->srv);
  g_assert_true(spin_until(both_resynced, w, 10000));
  g_test_message("both workers resynced %" G_GINT64_FORMAT " ms after the server restarted",
                 now_ms() - t0);
  /* The third bus keeps its own backoff schedule: it may come back a moment after the others. */
  g_assert_true(spin_until(connected, api, 10000));
  CALL(&r, sl_bus_owner(api, SL_BUS_INGRESS, "I1", on_owner, &r));
  g_assert_no_error(r.error);
  g_assert_cmpstr(r.value, ==, "wA");
  g_assert_cmpstr(r.value2, ==, "S1");
  CALL(&r, sl_bus_owner(api, SL_BUS_EGRESS, "E1", on_owner, &r));
  g_assert_cmpstr(r.value, ==, "wB");
  CALL(&r, sl_bus_list_workers(api, on_list, &r));
  ids = ids_of(&r);
  g_assert_cmpstr(ids, ==, "wA,wB");

  w[0]->hold_jobs = FALSE;
  CALL(&r, sl_bus_dispatch(api, "{\"id\":\"after\"}", 5000, on_value, &r));
  g_assert_no_error(r.error);
  g_assert_nonnull(strstr(r.value, "\"worker\":\"wA\""));
  result_clear(&r);
  result_clear(&inflight);
}

/* A server that stops answering without closing anything (SIGSTOP stands in for a partition
 * that sends no reset): the bus notices by the silence, fails what waits, and comes back. */
static void test_redis_stalled(Fx *fx, gconstpointer data)
{
  Worker *w;
  SlBus *api;
  Result r = {0};
  gint64 t0;

  SKIP_IF_NO_REDIS(fx);
  w = worker_new(fx, "wA", TRUE);
  api = fx_new_bus(fx, "api");
  sync_bus(api);
  kill(fx->srv.pid, SIGSTOP);
  t0 = now_ms();
  CALL(&r, sl_bus_owner(api, SL_BUS_INGRESS, "I1", on_owner, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE);
  g_test_message("stalled server: the waiting operation failed after %" G_GINT64_FORMAT " ms",
                 r.at - t0);
  g_assert_cmpint(r.at - t0, >=, 2500);
  g_assert_cmpint(r.at - t0, <, 6000);
  g_assert_false(sl_bus_is_connected(api));

  kill(fx->srv.pid, SIGCONT);
  t0 = now_ms();
  g_assert_true(spin_until(connected, api, 10000));
  g_test_message("stalled server: reconnected %" G_GINT64_FORMAT " ms after it resumed",
                 now_ms() - t0);
  CALL(&r, sl_bus_dispatch(api, "{\"id\":\"after-stall\"}", 5000, on_value, &r));
  g_assert_no_error(r.error);
  g_assert_cmpint(w->jobs, ==, 1);
  result_clear(&r);
}

static void test_redis_unreachable(Fx *fx, gconstpointer data)
{
  g_autofree char *addr = g_strdup_printf("127.0.0.1:%d", free_port());
  SlRedisConfig cfg = fx->config;
  g_autoptr(GError) err = NULL;
  Result r = {0};
  SlBus *b;
  gint64 t0;

  cfg.address = addr;
  SKIP_IF_NO_REDIS(fx);
  b = sl_bus_new_redis(&cfg, "wX", &err);
  g_assert_no_error(err);
  g_ptr_array_add(fx->buses, b);
  /* Issued before the first connection is made: waits for it, then fails with it. */
  CALL(&r, sl_bus_owner(b, SL_BUS_INGRESS, "I1", on_owner, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE);
  t0 = now_ms();
  CALL(&r, sl_bus_owner(b, SL_BUS_INGRESS, "I1", on_owner, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE);
  g_assert_cmpint(r.at - t0, <, 100);
  g_assert_nonnull(strstr(r.error->message, addr));
  result_clear(&r);
}

static void test_redis_server_side(Fx *fx, gconstpointer data)
{
  Worker *w;
  redisReply *reply;
  SlBus *api;
  Result r = {0};

  SKIP_IF_NO_REDIS(fx);
  fx->ttl_ms = 1000;
  w = worker_new(fx, "wA", TRUE);
  api = fx_new_bus(fx, "api");
  sync_bus(api);

  /* The bus asked for expired-key events. */
  reply = redis_raw(&fx->srv, "CONFIG GET notify-keyspace-events");
  g_assert_cmpint(reply->type, ==, REDIS_REPLY_ARRAY);
  g_assert_nonnull(strchr(reply->element[1]->str, 'E'));
  g_assert_nonnull(strchr(reply->element[1]->str, 'x'));
  freeReplyObject(reply);

  /* The keys are where the header says and expire. */
  reply = redis_raw(&fx->srv, "PTTL sluice:hb:wA");
  g_assert_cmpint(reply->integer, >, 0);
  g_assert_cmpint(reply->integer, <=, 1000);
  freeReplyObject(reply);

  /* A lapsed lease (the key vanished without an expiry event): the worker registers again and
   * says so. */
  reply = redis_raw(&fx->srv, "DEL sluice:hb:wA");
  freeReplyObject(reply);
  CALL(&r, sl_bus_claim(w->bus, SL_BUS_INGRESS, "I1", "S", on_done, &r));
  g_assert_true(spin_until(both_resynced, (Worker *[]){w, w}, 3000));
  reply = redis_raw(&fx->srv, "EXISTS sluice:hb:wA");
  g_assert_cmpint(reply->integer, ==, 1);
  freeReplyObject(reply);
  reply = redis_raw(&fx->srv, "HGET sluice:owner:ingress:I1 worker");
  g_assert_cmpstr(reply->str, ==, "wA");
  freeReplyObject(reply);
  result_clear(&r);
}

static void test_redis_auth_db(Fx *fx, gconstpointer data)
{
  static const char *const acl[] = {"--user", "alice", "on", ">s3cret", "~*", "&*", "+@all", NULL};
  Worker *doomed, *w[2];
  Result r = {0};
  redisReply *reply;
  SlBus *intruder;
  gint64 t0;

  SKIP_IF_NO_REDIS(fx);
  redis_kill(&fx->srv);
  fx->srv.extra = acl;
  redis_start(&fx->srv);
  fx->srv.raw_db = 2;
  fx->ttl_ms = 1000;
  fx->config.username = "alice";
  fx->config.password = "s3cret";
  fx->config.db = 2;
  fx->config.cluster_id = "eu";

  doomed = worker_new(fx, "wD", TRUE);
  w[0] = worker_new(fx, "wB", TRUE);
  w[1] = worker_new(fx, "wC", TRUE);
  CALL(&r, sl_bus_claim(doomed->bus, SL_BUS_INGRESS, "I1", "S", on_done, &r));
  g_assert_no_error(r.error);
  reply = redis_raw(&fx->srv, "HGET sluice:eu:owner:ingress:I1 worker");
  g_assert_cmpstr(reply->str, ==, "wD");
  freeReplyObject(reply);

  /* Expired-key events of db 2 reach the survivors. */
  t0 = now_ms();
  fx_crash(fx, doomed->bus);
  g_assert_true(spin_until(someone_reaped, w, 3000));
  g_test_message("db 2, ACL user: reaped %" G_GINT64_FORMAT " ms after death", now_ms() - t0);

  fx->config.password = "wrong";
  intruder = fx_new_bus(fx, "wX");
  CALL(&r, sl_bus_owner(intruder, SL_BUS_INGRESS, "I1", on_owner, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE);
  g_assert_nonnull(strstr(r.error->message, "WRONGPASS"));
  g_assert_null(strstr(r.error->message, "wrong"));
  result_clear(&r);
}

static void test_redis_clusters(Fx *fx, gconstpointer data)
{
  Worker *eu, *us;
  SlBus *api_us;
  Result r = {0};
  g_autofree char *ids = NULL;

  SKIP_IF_NO_REDIS(fx);
  fx->config.cluster_id = "eu";
  eu = worker_new(fx, "w1", TRUE);
  fx->config.cluster_id = "us";
  us = worker_new(fx, "w2", TRUE);
  api_us = fx_new_bus(fx, "api");
  sync_bus(api_us);

  /* Two clusters on one Redis see neither each other's workers nor their jobs. */
  CALL(&r, sl_bus_list_workers(api_us, on_list, &r));
  ids = ids_of(&r);
  g_assert_cmpstr(ids, ==, "w2");
  for (int i = 0; i < 5; i++) {
    g_autofree char *job = g_strdup_printf("{\"id\":\"X%d\"}", i);
    CALL(&r, sl_bus_dispatch(api_us, job, 2000, on_value, &r));
    g_assert_no_error(r.error);
  }
  g_assert_cmpint(us->jobs, ==, 5);
  g_assert_cmpint(eu->offers, ==, 0);
  result_clear(&r);
}

/* ---- TLS only ------------------------------------------------------------------------------- */

/* The server's certificate is checked as LiveKit checks it: against ca_cert_file (else the system
 * roots) and the name (server_name, else the address's host); `insecure` skips both. A failure is
 * a connection failure with the reason in the error (and the log), retried with backoff. */
static void test_tls_trust(Fx *fx, gconstpointer data)
{
  static const struct {
    gboolean use_tls, enabled, insecure;
    const char *ca, *server_name;
    const char *fails; /* NULL: connects */
  } cases[] = {
      {FALSE, TRUE, FALSE, NULL, NULL, "certificate for 127.0.0.1 is not trusted (system roots)"},
      {TRUE, FALSE, FALSE, NULL, NULL, "certificate for 127.0.0.1 is not trusted (system roots)"},
      {TRUE, FALSE, FALSE, "ca.pem", NULL, "not trusted (system roots)"}, /* tls not enabled */
      {FALSE, TRUE, TRUE, NULL, NULL, NULL},
      {FALSE, TRUE, FALSE, "ca.pem", "redis.example",
       "certificate for redis.example was issued for another name"},
      {FALSE, TRUE, FALSE, "ca.pem", "localhost", NULL},
      {TRUE, TRUE, FALSE, "ca.pem", NULL, NULL}, /* tls.enabled wins over use_tls */
  };
  Result r = {0};

  SKIP_IF_NO_REDIS(fx);
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    SlBus *b;
    g_autofree char *id = g_strdup_printf("w%u", i);
    fx->config.use_tls = cases[i].use_tls;
    fx->config.tls.enabled = cases[i].enabled;
    fx->config.tls.insecure = cases[i].insecure;
    fx->config.tls.ca_cert_file = cases[i].ca ? tls_file(cases[i].ca) : NULL;
    fx->config.tls.server_name = cases[i].server_name;
    b = fx_new_bus(fx, id);
    CALL(&r, sl_bus_owner(b, SL_BUS_INGRESS, "I1", on_owner, &r));
    if (cases[i].fails == NULL) {
      g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND); /* an answer from Redis */
      g_assert_true(sl_bus_is_connected(b));
    } else {
      g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE);
      g_test_message("case %u: %s", i, r.error->message);
      g_assert_nonnull(strstr(r.error->message, cases[i].fails));
      g_assert_false(sl_bus_is_connected(b));
    }
    g_assert_cmpuint(tunnel_dirs(), ==, 0);
    result_clear(&r);
  }
}

/* A server that wants client certificates: without one the connection fails saying so; with
 * one the bus works. */
static void test_tls_client_cert(Fx *fx, gconstpointer data)
{
  Worker *w;
  SlBus *lacking, *api;
  Result r = {0};

  SKIP_IF_NO_REDIS(fx);
  redis_kill(&fx->srv);
  fx->srv.tls_clients = TRUE;
  redis_start(&fx->srv);

  lacking = fx_new_bus(fx, "wX");
  CALL(&r, sl_bus_owner(lacking, SL_BUS_INGRESS, "I1", on_owner, &r));
  g_assert_error(r.error, SL_BUS_ERROR, SL_BUS_ERROR_UNAVAILABLE);
  g_test_message("no client certificate: %s", r.error->message);
  g_assert_nonnull(strstr(r.error->message, "client certificate"));

  fx->config.tls.client_cert_file = tls_file("client.pem");
  fx->config.tls.client_key_file = tls_file("client.key");
  w = worker_new(fx, "wA", TRUE);
  api = fx_new_bus(fx, "api");
  sync_bus(api);
  CALL(&r, sl_bus_dispatch(api, "{\"id\":\"J1\"}", 5000, on_value, &r));
  g_assert_no_error(r.error);
  g_assert_cmpint(w->jobs, ==, 1);
  g_assert_false(sl_bus_is_connected(lacking));
  result_clear(&r);
}

/* ---- Registration --------------------------------------------------------------------------- */

typedef void (*FxTest)(Fx *fx, gconstpointer data);

static void add(const char *name, FxTest fn, gboolean local, gboolean redis)
{
  if (local) {
    g_autofree char *path = g_strdup_printf("/bus/local/%s", name);
    g_test_add(path, Fx, GINT_TO_POINTER(FALSE), fx_setup, fn, fx_teardown);
  }
  if (redis) {
    g_autofree char *path = g_strdup_printf("/bus/redis/%s", name);
    g_autofree char *tls_path = g_strdup_printf("/bus/redis-tls/%s", name);
    g_test_add(path, Fx, GINT_TO_POINTER(BACKEND_REDIS), fx_setup, fn, fx_teardown);
    g_test_add(tls_path, Fx, GINT_TO_POINTER(BACKEND_REDIS_TLS), fx_setup, fn, fx_teardown);
  }
}

static void add_tls(const char *name, FxTest fn)
{
  g_autofree char *path = g_strdup_printf("/bus/redis-tls/%s", name);
  g_test_add(path, Fx, GINT_TO_POINTER(BACKEND_REDIS_TLS), fx_setup, fn, fx_teardown);
}

int main(int argc, char **argv)
{
  char tmp[] = "/tmp/sluice-test-bus-XXXXXX";
  int rc;

  /* A temp dir of our own, so that counting the tunnels' socket directories counts ours only. */
  g_assert_nonnull(g_mkdtemp(tmp));
  g_setenv("TMPDIR", tmp, TRUE);
  g_test_init(&argc, &argv, NULL);
  /* A killed redis-server must not take the test with it through SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);

  g_test_add_func("/bus/names", test_names);
  g_test_add_func("/bus/keyspace-flags", test_keyspace_flags);
  g_test_add_func("/bus/address", test_address);
  g_test_add_func("/bus/frames", test_frames);
  g_test_add_func("/bus/job-parse", test_job_parse);
  g_test_add_func("/bus/redis-config-refused", test_redis_config_refused);
  g_test_add_func("/bus/redis-tls-files", test_redis_tls_files);

  add("store-ingress", test_store_ingress, TRUE, TRUE);
  add("store-egress", test_store_egress, TRUE, TRUE);
  add("events", test_events, TRUE, TRUE);
  add("claims", test_claims, TRUE, TRUE);
  add("workers", test_workers, TRUE, TRUE);
  add("dispatch-one-winner", test_dispatch_one_winner, TRUE, TRUE);
  add("dispatch-capacity", test_dispatch_capacity, TRUE, TRUE);
  add("dispatch-targeted", test_dispatch_targeted, TRUE, TRUE);
  add("dispatch-timeout", test_dispatch_timeout, TRUE, TRUE);
  add("control", test_control, TRUE, TRUE);
  add("worker-dead", test_worker_dead, TRUE, TRUE);
  add("late-survivor", test_late_survivor, TRUE, TRUE);
  add("free", test_free, TRUE, TRUE);
  add("restart", test_redis_restart, FALSE, TRUE);
  add("stalled", test_redis_stalled, FALSE, TRUE);
  add("unreachable", test_redis_unreachable, FALSE, TRUE);
  add("server-side", test_redis_server_side, FALSE, TRUE);
  add("auth-db", test_redis_auth_db, FALSE, TRUE);
  add("clusters", test_redis_clusters, FALSE, TRUE);
  add_tls("trust", test_tls_trust);
  add_tls("client-cert", test_tls_client_cert);
  rc = g_test_run();
  tls_certs_remove();
  g_rmdir(tmp);
  return rc;
}
